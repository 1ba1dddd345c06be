"""Observability: structured logs (:mod:`pilot.observability.logs`), Prometheus metrics
(:mod:`pilot.observability.metrics`, :mod:`pilot.observability.bus`), the request middleware
that ties them to each request (:mod:`pilot.observability.middleware`), ``GET /metrics`` and
``GET /ping`` (:mod:`pilot.observability.controllers`), and — only when configured — OpenTelemetry
traces (:mod:`pilot.observability.tracing`, :mod:`pilot.observability.run_spans`) and Sentry error
reports (:mod:`pilot.observability.sentry`)."""
