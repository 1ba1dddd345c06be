"""``create_app()``: wires settings, lifespan resources, error mapping and every domain's routes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from pilot import __version__
from pilot.core.errors import BadRequestError, PilotError, UnprocessableError
from pilot.core.redaction import install_redaction, redact_value
from pilot.auth.guard import authorize
from pilot.auth.roles import PUBLIC
from pilot.dependencies import RuntimeDep, provide_db_session, provide_principal, provide_runtime, provide_workspace
from pilot.observability.logs import configure_logging
from pilot.observability.middleware import REQUEST_ID_HEADER, ObservabilityMiddleware
from pilot.observability.sentry import configure_sentry
from pilot.observability.tracing import aflush_tracing, configure_tracing
from pilot.runtime import Runtime
from pilot.settings import Settings, get_settings

log = logging.getLogger("pilot")


def pilot_error_handler(_: Request, exc: PilotError) -> Response:
    """The one place a domain error becomes an HTTP response."""
    if exc.status_code >= 500:
        log.exception("internal error: %s", exc.detail, exc_info=exc)
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if getattr(exc, "retry_after", None) else None
    if exc.status_code == 401:  # RFC 6750: say which scheme the credentials take
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="pilot"'}
    return Response(content=redact_value(exc.to_dict()), status_code=exc.status_code, media_type=MediaType.JSON, headers=headers)


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


# ------------------------------------------------------------------ hostile input
# Checked before any handler (and before Litestar parses the body) so that input the database or
# the parser cannot take is a 4xx naming the field, never a 500, on SQLite and PostgreSQL alike.

INT_PARAM_MAX = 2**31 - 1  # integer path/query parameters end up compared with INTEGER columns
INT_PARAM_MIN = -(2**31)
MAX_JSON_DEPTH = 64  # nesting of a JSON body (real graphs and inputs stay far below)
_NUL_MESSAGE = "must not contain NUL (\\u0000) characters"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_json_decoder = msgspec.json.Decoder()
# A JSON string (escapes included, unterminated at the end of the input) or a structural character.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{},:]', re.DOTALL)


def _problem(source: str, key: str, message: str) -> dict[str, str]:
    return {"key": key, "message": message, "source": source}


def _where(source: str, key: str) -> str:
    if source == "body":
        return f"body field '{key}'" if key else "request body"
    return f"{'header' if source == 'header' else source + ' parameter'} '{key}'"


def _path_text(parts: list[str | int], max_parts: int = 8) -> str:
    text = ""
    for i, part in enumerate(parts):
        if i == max_parts:
            return text + "…"
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _json_path_in_raw(raw: bytes, *, offset: int | None = None, depth: int | None = None) -> str:
    """The path (``nodes[0].config``) of the value at byte ``offset`` of ``raw``, or of the first
    container nested deeper than ``depth`` — for bodies the JSON decoder could not read at all."""
    frames: list[list[Any]] = []  # [is_object, key or index, expecting a key]
    for match in _JSON_TOKEN.finditer(raw):
        if offset is not None and match.end() > offset:
            break
        char = raw[match.start():match.start() + 1]
        if char == b'"':
            if frames and frames[-1][0] and frames[-1][2]:
                try:
                    frames[-1][1] = msgspec.json.decode(match.group(), type=str)
                except (msgspec.DecodeError, UnicodeDecodeError):
                    frames[-1][1] = match.group()[1:-1].decode("utf-8", "replace")
        elif char in b"[{":
            is_object = char == b"{"
            frames.append([is_object, None if is_object else 0, is_object])
            if depth is not None and len(frames) > depth:
                break
        elif char in b"]}":
            if frames:
                frames.pop()
        elif char == b":":
            if frames:
                frames[-1][2] = False
        elif char == b"," and frames:
            frame = frames[-1]
            if frame[0]:
                frame[1], frame[2] = None, True
            else:
                frame[1] += 1
    return _path_text([f[1] for f in frames if f[1] is not None])


def _json_value_problem(data: Any) -> tuple[str, str] | None:
    """(path, message) of the first NUL in a string or key, or of nesting deeper than allowed."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return _path_text(list(path), max_parts=32), _NUL_MESSAGE
        elif isinstance(value, (dict, list)):
            if len(path) >= MAX_JSON_DEPTH:
                return _path_text(list(path)), f"JSON is nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(value, dict):
                for key in value:
                    if "\x00" in key:
                        return _path_text([*path, key.replace("\x00", "\\u0000")], max_parts=32), f"keys {_NUL_MESSAGE}"
                items = list(value.items())
            else:
                items = list(enumerate(value))
            stack.extend((item, (*path, key)) for key, item in reversed(items))
    return None


def _check_json_body(raw: bytes) -> None:
    """Reject what msgspec cannot decode safely (invalid UTF-8, runaway nesting) and what the
    database cannot store (NUL); other malformed JSON is left to Litestar's usual 400."""
    try:
        data = _json_decoder.decode(raw)
    except UnicodeDecodeError:
        try:
            raw.decode("utf-8")
            bad = 0
        except UnicodeDecodeError as exc:
            bad = exc.start
        key = _json_path_in_raw(raw, offset=bad)
        message = f"invalid UTF-8 (byte {bad} of the body)"
        raise BadRequestError(f"{_where('body', key)}: {message}", extra=[_problem("body", key or "data", message)]) from None
    except RecursionError:
        key = _json_path_in_raw(raw, depth=MAX_JSON_DEPTH)
        message = f"JSON is nested deeper than {MAX_JSON_DEPTH} levels"
        raise BadRequestError(f"{_where('body', key)}: {message}", extra=[_problem("body", key or "data", message)]) from None
    except msgspec.DecodeError:
        return
    if b"\\u0000" not in raw and raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # fast path: no NUL escape, and too few containers to nest too deep
    found = _json_value_problem(data)
    if found:
        key, message = found
        error = UnprocessableError if message.endswith(_NUL_MESSAGE) else BadRequestError
        raise error(f"{_where('body', key)}: {message}", extra=[_problem("body", key or "data", message)])


def _param_is(field: Any, kind: type) -> bool:
    """Whether a handler parameter is declared as ``kind`` (or ``kind | None``)."""
    if field is None:
        return False
    candidates = [t for t in field.inner_types if not t.is_subclass_of(type(None))] if field.is_optional else [field]
    return any(t.is_subclass_of(kind) and not t.is_subclass_of(bool) for t in candidates)


def _check_datetime(source: str, name: str, value: Any) -> None:
    """A zoned datetime must still exist once converted to UTC (``0001-01-01T00:00:00+01:00``
    does not, and the services compare in UTC)."""
    try:
        when = msgspec.convert(value, datetime, strict=False)
    except msgspec.ValidationError:
        return  # not a datetime: Litestar's own validation names it
    if when.tzinfo is not None:
        try:
            when.astimezone(UTC)
        except OverflowError:
            message = "datetime is out of range once converted to UTC"
            raise BadRequestError(f"{_where(source, name)}: {message}", extra=[_problem(source, name, message)]) from None


def _check_parameter(source: str, name: str, value: Any, field: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise UnprocessableError(
            f"{_where(source, name)}: {_NUL_MESSAGE}", extra=[_problem(source, name, _NUL_MESSAGE)]
        )
    if isinstance(value, str) and _param_is(field, datetime):
        _check_datetime(source, name, value)
    if not _param_is(field, int):
        return
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        return  # not a number: Litestar's own validation names it
    if not INT_PARAM_MIN <= number <= INT_PARAM_MAX:
        declared = getattr(field.kwarg_definition, "le" if number > 0 else "ge", None)
        if number > 0:
            bound = f"<= {INT_PARAM_MAX if declared is None else min(declared, INT_PARAM_MAX)}"
        else:
            bound = f">= {INT_PARAM_MIN if declared is None else max(declared, INT_PARAM_MIN)}"
        message = f"Expected `int` {bound}"
        raise BadRequestError(f"{_where(source, name)}: {message}", extra=[_problem(source, name, message)])


def _check_last_event_id(source: str, name: str, value: str | None) -> None:
    """SSE resume points are stored sequence numbers (INTEGER): a number beyond them is a 400
    before the stream starts (it used to abort the stream mid-response). Non-numbers keep
    meaning "from the start"."""
    if not value:
        return
    try:
        number = int(value.strip())
    except ValueError:
        return
    if number > INT_PARAM_MAX:
        message = f"event id must be at most {INT_PARAM_MAX}"
        raise BadRequestError(f"{_where(source, name)}: {message}", extra=[_problem(source, name, message)])


async def guard_request(request: Request) -> None:
    """``before_request`` of every route: parameters and JSON bodies that must not reach a handler."""
    fields = request.route_handler.parsed_fn_signature.parameters
    for name, value in request.path_params.items():
        _check_parameter("path", name, value, fields.get(name))
    for name, value in request.query_params.multi_items():
        _check_parameter("query", name, value, fields.get(name))
    _check_last_event_id("header", "Last-Event-ID", request.headers.get("last-event-id"))
    _check_last_event_id("query", "last_event_id", request.query_params.get("last_event_id"))
    if request.method in _BODY_METHODS and "data" in fields:
        raw = await request.body()
        if raw:
            _check_json_body(raw)


@get("/health", tags=["ops"], sync_to_thread=False, opt=PUBLIC)
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@get("/ready", tags=["ops"], opt=PUBLIC)
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
    from pilot.tools.controllers import ToolController

    handlers.append(ToolController)
    from pilot.agents.controllers import AgentController

    handlers.append(AgentController)
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
    from pilot.credentials.controllers import CredentialController

    handlers.append(CredentialController)
    from pilot.triggers.hooks import HookController

    handlers.append(HookController)
    from pilot.readiness.controllers import ReadinessController

    handlers.append(ReadinessController)
    from pilot.mcp.controllers import McpServerController
    from pilot.mcp.server import mcp_endpoint

    handlers.extend([McpServerController, mcp_endpoint])
    from pilot.tables.controllers import TableController

    handlers.append(TableController)
    from pilot.interop.controllers import InteropController

    handlers.append(InteropController)
    from pilot.panel.controllers import panel_router

    handlers.append(panel_router())
    from pilot.usage.controllers import UsageController

    handlers.append(UsageController)
    from pilot.analytics.controllers import AnalyticsController

    handlers.append(AnalyticsController)
    from pilot.auth.controllers import AuthController, OrgController, WorkspaceController

    handlers.extend([AuthController, WorkspaceController, OrgController])
    from pilot.observability.controllers import ping, prometheus_metrics

    handlers.extend([ping, prometheus_metrics])
    return handlers


def _cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for a frontend on another origin (``PILOT_CORS_ORIGINS``). Preflights may ask for any
    header (``Authorization``, ``Last-Event-ID``); ``X-Message-Id`` (a chat reply's id, needed to
    resume its stream) and ``X-Request-ID`` (what the server's logs of the request carry) are
    exposed to the page's script."""
    if not settings.app.cors_origins:
        return None
    return CORSConfig(allow_origins=settings.app.cors_origins, expose_headers=["X-Message-Id", REQUEST_ID_HEADER])


def _mcp_lifespan(settings: Settings):
    """The MCP server's session manager (``/mcp``) runs for the app's lifetime, from its first request."""
    from pilot.mcp.server import mcp_lifespan

    return mcp_lifespan(settings.app.max_body_bytes)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Litestar:
    """Build the Litestar app. Pass ``settings`` (tests) or let it read the environment once."""
    settings = settings or get_settings()
    install_redaction(settings)  # configured secrets never reach responses, events, rows or logs
    configure_logging(settings)  # structured logs with request/workspace/execution/node ids
    configure_tracing(settings)  # OpenTelemetry spans, only with an OTLP endpoint (not even imported otherwise)
    configure_sentry(settings)  # error reports, only with PILOT_SENTRY_DSN

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        rt = runtime or Runtime.build(settings)
        app.state.runtime = rt
        from pilot.startup import start_runtime, stop_runtime, warm_up

        await start_runtime(rt)
        rt.spawn(warm_up(rt), name="warm-up")  # what only some requests need, once the server answers
        try:
            yield
        finally:
            await stop_runtime(rt)
            await aflush_tracing()  # the last spans (nothing while tracing is off)

    return Litestar(
        route_handlers=_route_handlers(),
        lifespan=[lifespan, _mcp_lifespan(settings)],
        before_request=guard_request,
        guards=[authorize],  # every route: authentication and the role it needs (pilot.auth.guard)
        middleware=[ObservabilityMiddleware],  # request id, request metrics, access log
        logging_config=None,  # logging is pilot.observability.logs's (one root handler)
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "db": Provide(provide_db_session),
            "workspace": Provide(provide_workspace, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers={
            PilotError: pilot_error_handler,
            ValidationException: request_validation_handler,
            ClientException: client_error_handler,
            500: internal_error_handler,
        },
        cors_config=_cors_config(settings),
        openapi_config=OpenAPIConfig(
            title="πlot API",
            version=__version__,
            # the API's description is public (and not itself part of the description)
            openapi_router=Router(path="/schema", route_handlers=[], opt=PUBLIC, include_in_schema=False),
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="API key (pk_…) or access token from POST /api/auth/login")}
            ),
            security=[{"bearer": []}],
        ),
        request_max_body_size=settings.app.max_body_bytes,
        debug=settings.app.debug,
    )
