"""``GET /metrics`` (Prometheus text format) and ``GET /ping``.

``/metrics`` is open unless ``PILOT_METRICS_TOKEN`` is set; then it answers 401 without
``Authorization: Bearer <token>``. It holds no tenant data (no workspace labels).
"""

from __future__ import annotations

import hmac
import logging

from litestar import Request, Response, get

from pilot.auth.guard import bearer_credentials
from pilot.auth.roles import PUBLIC
from pilot.core.errors import AuthenticationError
from pilot.dependencies import RuntimeDep
from pilot.observability import metrics

log = logging.getLogger("pilot.metrics")


@get("/ping", tags=["ops"], sync_to_thread=False, opt=PUBLIC)
def ping() -> dict[str, bool]:
    """The cheapest liveness probe: no database, no authentication."""
    return {"ok": True}


@get("/metrics", tags=["ops"], include_in_schema=False, opt=PUBLIC)  # its own token; Prometheus text, not JSON: documented in the README
async def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """This process's metrics in the Prometheus text format (see :mod:`pilot.observability.metrics`)."""
    expected = runtime.settings.app.metrics_token
    if expected:
        given = bearer_credentials(request) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise AuthenticationError("metrics: send 'Authorization: Bearer <PILOT_METRICS_TOKEN>'")
    try:
        await metrics.refresh_from_database(runtime)
    except Exception as exc:  # noqa: BLE001 - the process's own metrics are still worth serving
        log.warning("metrics: could not read run counts from the database: %s", type(exc).__name__)
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type, status_code=200)
