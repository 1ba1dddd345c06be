"""Structured logs (structlog): one set-up, called once per process (:func:`configure_logging`).

Two sources, one format and one output (standard error, written synchronously, a line per record):

- structlog loggers (:func:`get_logger`: the request log) render straight to the output — no
  ``logging.LogRecord`` on that path, which keeps a request's log line at a few microseconds;
- every standard-library record (πlot's ``logging.getLogger(...)`` calls, uvicorn, arq, httpx)
  goes through the root handler, whose formatter runs the same processors.

Each line is one JSON object (``PILOT_LOG_FORMAT=json``) or a readable console line (``console``;
``auto``: console on a terminal, JSON otherwise) with ``timestamp`` (UTC, ISO 8601), ``level``,
``logger``, ``event`` (the message) and, where they apply:

- ``request_id`` and ``workspace_id`` of the HTTP request being served (bound by the request
  middleware and the workspace dependency: :func:`begin_request`, :func:`bind_request`);
- ``execution_id`` of the run (bound where a run is launched: :func:`log_context`) and
  ``node_id`` of the node whose task is logging (the engine names node tasks ``node:<id>``).

Secrets: each event dict passes through :func:`pilot.core.redaction.redact_value` (the one choke
point) right before it is rendered; standard-library records are also redacted when created.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TextIO

import msgspec
import structlog

from pilot.core.redaction import RedactingFilter, install_log_redaction, redact_value

_request: ContextVar[dict[str, Any] | None] = ContextVar("pilot_log_request", default=None)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
           "critical": logging.CRITICAL}
_encode = msgspec.json.Encoder(enc_hook=repr)
_META = ("_record", "_from_structlog")


# ------------------------------------------------------------------ context


def begin_request(request_id: str) -> Token:
    """Start a request's log context (the middleware; end it with :func:`end_request`). The
    fields live in one dict shared by every copy of the context, so a field bound later — in a
    dependency Litestar resolves in a task group — still shows in the request's other records."""
    return _request.set({"request_id": request_id})


def end_request(token: Token) -> None:
    _request.reset(token)


def bind_request(**fields: Any) -> None:
    """Add fields (``workspace_id``) to the current request's log context (no-op outside one)."""
    current = _request.get()
    if current is not None:
        current.update(fields)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind fields (``execution_id``) for the code in the block and the tasks it creates."""
    tokens = structlog.contextvars.bind_contextvars(**fields)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def _add_context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    current = _request.get()
    if current:
        for key, value in current.items():
            event.setdefault(key, value)
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        task = None
    if task is not None:
        name = task.get_name()
        if name.startswith("node:"):
            event.setdefault("node_id", name[5:])
    return event


# ------------------------------------------------------------------ processors


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event's fields through the redaction choke point (structlog's ``_record`` and
    ``_from_structlog`` bookkeeping are set aside: they are not log content)."""
    meta = {key: event.pop(key) for key in _META if key in event}
    cleaned = redact_value(event)  # the same dict when there was nothing to redact
    cleaned.update(meta)
    return cleaned


def _exception_text(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """A standard-library record whose traceback redaction replaced (``exc_text`` set, ``exc_info``
    cleared: see :func:`pilot.core.redaction.redact_record`) keeps that redacted traceback."""
    record = event.get("_record")
    if record is not None and "exc_info" not in event and record.exc_text:
        event["exception"] = record.exc_text
    return event


class _State:
    """What :func:`configure_logging` may change after loggers were cached: the processors read it."""

    min_level = logging.INFO
    render: Any = None
    stream: TextIO | None = None  # None: whatever sys.stderr is at the time (test runners swap it)


def _json(event: dict[str, Any], **_: Any) -> str:
    return _encode.encode(event).decode()


def _renderer(fmt: str) -> Any:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return structlog.processors.JSONRenderer(serializer=_json)


_state = _State()
_state.render = _renderer("json")  # until configure_logging says otherwise


def _level_filter(_: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    if _LEVELS.get(method, logging.INFO) < _state.min_level:
        raise structlog.DropEvent
    return event


def _render(logger: Any, method: str, event: dict[str, Any]) -> str:
    return _state.render(logger, method, event)


class _Output:
    """A file-like object for both sources: the configured stream, else the current sys.stderr."""

    def write(self, text: str) -> int:
        return (_state.stream or sys.stderr).write(text)

    def flush(self) -> None:
        (_state.stream or sys.stderr).flush()


class _Handler(logging.StreamHandler):
    """The root handler. Its formatter redacts every field it writes (:func:`_redact`), so it needs
    no :class:`RedactingFilter` (the marker below keeps ``install_log_redaction`` from adding one)."""


class _AlreadyRedacted(RedactingFilter):
    def filter(self, record: logging.LogRecord) -> bool:
        return True


_OUTPUT = _Output()
_SHARED = (
    structlog.contextvars.merge_contextvars,
    _add_context,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)
_handler = _Handler(_OUTPUT)
_handler.addFilter(_AlreadyRedacted())
_handler.setFormatter(structlog.stdlib.ProcessorFormatter(
    foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, _exception_text,
                       structlog.processors.format_exc_info, _redact],
    processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _render],
))
structlog.configure(
    processors=[_level_filter, *_SHARED, structlog.processors.StackInfoRenderer(),
                structlog.processors.format_exc_info, _redact, _render],
    wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),  # _level_filter decides
    logger_factory=structlog.WriteLoggerFactory(file=_OUTPUT),
    cache_logger_on_first_use=True,
)


def configure_logging(settings: Any, *, level: str | None = None, stream: TextIO | None = None) -> None:
    """Set up logging for this process from ``settings`` (``PILOT_LOG_FORMAT``, ``PILOT_LOG_LEVEL``;
    ``level`` overrides the latter, ``stream`` replaces standard error). Idempotent: a second call
    changes format, level and output of every logger, cached ones included."""
    _state.render = _renderer(settings.app.log_format)
    _state.stream = stream
    _state.min_level = _LEVELS.get((level or settings.app.log_level or "info").strip().lower(), logging.INFO)
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    root.setLevel(_state.min_level)
    install_log_redaction()


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's loggers without handlers of their own: their records reach the root handler."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    return {"version": 1, "disable_existing_loggers": False,
            "loggers": {name: {"handlers": [], "level": level.upper(), "propagate": True} for name in names}}


def get_logger(name: str) -> Any:
    """A structlog logger (key-value events) named ``name``, rendered like every other record."""
    return structlog.get_logger().bind(logger=name)  # the processors are configured at import, above
