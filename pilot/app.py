"""``create_app()``: wires settings, lifespan resources, error mapping and every domain's routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from pilot import __version__
from pilot.core.errors import PilotError
from pilot.dependencies import RuntimeDep, provide_db_session, provide_runtime, provide_workspace
from pilot.runtime import Runtime
from pilot.settings import Settings, get_settings

log = logging.getLogger("pilot")


def pilot_error_handler(_: Request, exc: PilotError) -> Response:
    """The one place a domain error becomes an HTTP response."""
    if exc.status_code >= 500:
        log.exception("internal error: %s", exc.detail, exc_info=exc)
    return Response(content=exc.to_dict(), status_code=exc.status_code, media_type=MediaType.JSON)


def request_validation_handler(request: Request, exc: ValidationException) -> Response:
    """Litestar's own 400s for bad bodies/parameters, in the same shape, with a detail that names
    the field (Litestar's default detail is only "Validation failed for <method> <path>")."""
    problems: list[dict] = []
    parts: list[str] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        key, message, source = item.get("key"), str(item.get("message", "")), item.get("source")
        if source == "body" and key == "data":  # the body as a whole
            if message == "'data'":  # Litestar's message when there is no body at all
                item = {**item, "message": "request body is required (a JSON object)"}
                parts.append(item["message"])
            else:
                parts.append(f"request body: {message}")
        else:
            where = {"body": "body field", "query": "query parameter", "path": "path parameter"}.get(source or "", "field")
            parts.append(f"{where} '{key}': {message}" if key else message)
        problems.append(item)
    body: dict = {"status_code": 400, "detail": "; ".join(parts) or exc.detail}
    if problems:
        body["extra"] = problems
    return Response(content=body, status_code=400, media_type=MediaType.JSON)


def client_error_handler(_: Request, exc: ClientException) -> Response:
    """Litestar's other 4xx (malformed JSON, 404 route, 405, 413) in the same shape; a body that
    is not JSON says so instead of msgspec's bare "Input data was truncated"."""
    detail = exc.detail
    if isinstance(exc.__cause__, SerializationException) and not detail.startswith("JSON is malformed"):
        detail = f"JSON is malformed: {detail}"
    body: dict = {"status_code": exc.status_code, "detail": detail}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(content=body, status_code=exc.status_code, media_type=MediaType.JSON, headers=exc.headers)


def internal_error_handler(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return Response(
        content={"status_code": 500, "detail": "internal server error"}, status_code=500, media_type=MediaType.JSON
    )


@get("/health", tags=["ops"], sync_to_thread=False)
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@get("/ready", tags=["ops"])
async def ready(runtime: RuntimeDep) -> Response:
    """Readiness: the database (and Redis, when configured) answer."""
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(sa.text("SELECT 1")), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.redis is not None:
        try:
            await asyncio.wait_for(runtime.redis.ping(), timeout=3)
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


def _route_handlers() -> list:
    """Every domain's controllers. Imported here so each domain stays independent of the app."""
    handlers: list = [health, ready]
    # Domain routers register below (keep one line per domain).
    from pilot.knowledge.controllers import KnowledgeController

    handlers.append(KnowledgeController)
    from pilot.tools.controllers import list_tools

    handlers.append(list_tools)
    from pilot.workflows.controllers import WorkflowController

    handlers.append(WorkflowController)
    from pilot.templates.controllers import TemplateController

    handlers.append(TemplateController)
    from pilot.engine.controllers import ExecuteController, ExecutionController

    handlers.extend([ExecuteController, ExecutionController])
    from pilot.generation.controllers import GenerateController, RecommendController

    handlers.extend([GenerateController, RecommendController])
    from pilot.chat.controllers import ChatController

    handlers.append(ChatController)
    return handlers


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Litestar:
    """Build the Litestar app. Pass ``settings`` (tests) or let it read the environment once."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        rt = runtime or Runtime.build(settings)
        app.state.runtime = rt
        from pilot.startup import start_runtime, stop_runtime

        await start_runtime(rt)
        try:
            yield
        finally:
            await stop_runtime(rt)

    return Litestar(
        route_handlers=_route_handlers(),
        lifespan=[lifespan],
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "db": Provide(provide_db_session),
            "workspace": Provide(provide_workspace),
        },
        exception_handlers={
            PilotError: pilot_error_handler,
            ValidationException: request_validation_handler,
            ClientException: client_error_handler,
            500: internal_error_handler,
        },
        cors_config=CORSConfig(allow_origins=settings.app.cors_origins) if settings.app.cors_origins else None,
        openapi_config=OpenAPIConfig(
            title="πlot API",
            version=__version__,
            path="/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="API key")}
            ),
            security=[{"bearer": []}],
        ),
        request_max_body_size=settings.app.max_body_bytes,
        debug=settings.app.debug,
    )
