"""Observability: structured logs (:mod:`pilot.observability.logs`), Prometheus metrics
(:mod:`pilot.observability.metrics`, :mod:`pilot.observability.bus`), the request middleware
that ties them to each request (:mod:`pilot.observability.middleware`) and ``GET /metrics`` and
``GET /ping`` (:mod:`pilot.observability.controllers`)."""
