"""Inbound hooks: ``POST`` (or ``GET``) ``/hooks/{hook_id}`` starts a run of a published workflow
(webhook, form, or chat trigger: ``{"message": …}`` in, the run's outputs as the reply);
``GET /hooks/{hook_id}/form`` describes a form trigger's form as JSON Schema.

No API key: the 192-bit ``hook_id`` names the trigger and, for signed webhooks, the caller proves
it holds the trigger's secret with ``X-Pilot-Signature: sha256=<hex HMAC-SHA256 of the raw body>``
(of the raw query string for ``GET``) — 401 when it is absent or wrong. Each hook has its own
body cap (413) and rate limit (429 with ``Retry-After``; per process). The payload is validated
against the input node's fields (422 naming the field). ``async`` answers 202 with the execution
id and stream URL; ``sync`` waits for the run's outputs up to ``sync_timeout_s`` (200), then
answers 202 like ``async``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from pilot.auth.roles import PUBLIC
from pilot.core.errors import (
    AuthenticationError, BadRequestError, NotFoundError, PayloadTooLargeError, TooManyRequestsError, UnprocessableError,
)
from pilot.core.ids import utcnow
from pilot.db.models import ExecutionRow, TriggerFireRow, TriggerRow, WorkflowVersionRow
from pilot.dependencies import RuntimeDep
from pilot.engine.nodes.input import fields_json_schema, input_fields
from pilot.events.schemas import TERMINAL_RUN_STATUSES
from pilot.settings import AppSettings
from pilot.triggers.schemas import HookAccepted
from pilot.triggers.service import signing_secret
from pilot.workflows.model import graph_from_builtins

SIGNATURE_HEADER = "x-pilot-signature"


class _Buckets:
    """Token buckets per hook (in this process): ``rate`` per minute, bursts up to ``rate``."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate_per_minute: int) -> float | None:
        """None when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        tokens, at = self._state.get(key, (float(rate_per_minute), now))
        tokens = min(float(rate_per_minute), tokens + (now - at) * rate_per_minute / 60.0)
        if tokens < 1.0:
            self._state[key] = (tokens, now)
            return (1.0 - tokens) * 60.0 / rate_per_minute
        self._state[key] = (tokens - 1.0, now)
        return None


_buckets = _Buckets()


async def _trigger(runtime: Any, hook_id: str) -> TriggerRow:
    async with runtime.sessions() as session:
        row = await session.scalar(sa.select(TriggerRow).where(TriggerRow.hook_id == hook_id, TriggerRow.active.is_(True)))
    if row is None or row.kind not in ("webhook", "form", "chat"):
        raise NotFoundError("no active hook with this id")
    return row


def _verify(row: TriggerRow, app: AppSettings, signed: bytes, header: str | None) -> None:
    if row.kind != "webhook" or row.config.get("signature") == "none":
        return
    if not header:
        raise AuthenticationError(f"missing {SIGNATURE_HEADER} header (sha256=<hex HMAC-SHA256 of the body>)")
    secret = signing_secret(row, app) or ""
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.strip()):
        raise AuthenticationError(f"{SIGNATURE_HEADER} does not match the body")


def _payload(request: Request, body: bytes) -> dict[str, Any]:
    if request.method == "GET":
        return dict(parse_qsl(request.url.query or "", keep_blank_values=True))
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadRequestError(f"body: not valid JSON ({exc})", extra={"field": "body"}) from exc
    if not isinstance(data, dict):
        raise BadRequestError("body: the payload must be a JSON object of input fields", extra={"field": "body"})
    return data


async def _wait(runtime: Any, execution_id: str, timeout_s: float) -> ExecutionRow | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with runtime.sessions() as session:
            row = await session.get(ExecutionRow, execution_id)
        if row is not None and row.status in TERMINAL_RUN_STATUSES:
            return row
        await asyncio.sleep(0.05)
    return None


async def _accept(request: Request, hook_id: str, runtime: Any) -> Response:
    row = await _trigger(runtime, hook_id)
    config = row.config
    accepted_method = config.get("method", "POST") if row.kind == "webhook" else "POST"  # forms are POSTed
    if request.method != accepted_method:
        raise NotFoundError(f"this hook accepts {accepted_method} requests")
    cap = int(config.get("max_body_bytes", 262_144))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise PayloadTooLargeError(f"body: larger than this hook's limit of {cap} bytes")
    body = await request.body()
    if len(body) > cap:
        raise PayloadTooLargeError(f"body: larger than this hook's limit of {cap} bytes")
    _verify(row, runtime.settings.app, (request.url.query or "").encode() if request.method == "GET" else body, request.headers.get(SIGNATURE_HEADER))
    wait = _buckets.take(hook_id, int(config.get("rate_per_minute", 60)))
    if wait is not None:
        raise TooManyRequestsError(f"this hook allows {config.get('rate_per_minute', 60)} requests per minute", retry_after=wait)
    input_data = _payload(request, body)
    if row.kind == "chat":  # each chat message is the run's input; the reply is the run's outputs
        message = input_data.get("message")
        if not isinstance(message, str) or not message.strip():
            raise UnprocessableError("message: a chat trigger needs a non-empty string 'message'", extra={"field": "message"})
    async with runtime.sessions() as session:
        fire = TriggerFireRow(trigger_id=row.id, scheduled_for=None, fired_at=utcnow())
        session.add(fire)
        await session.flush()
        response = await runtime.runs.start(session, row.workspace_id, row.workflow_id, input_data,
                                            trigger=row.kind, version=row.workflow_version)
        await session.execute(sa.update(TriggerFireRow).where(TriggerFireRow.id == fire.id)
                              .values(execution_id=response.execution_id))
        await session.commit()
    accepted = HookAccepted(execution_id=response.execution_id, status=response.status, stream_url=response.stream_url)
    if config.get("response_mode") == "sync" or row.kind == "chat":
        done = await _wait(runtime, response.execution_id, float(config.get("sync_timeout_s", 60.0 if row.kind == "chat" else 30.0)))
        if done is not None:
            return Response(HookAccepted(execution_id=done.id, status=done.status, stream_url=response.stream_url,
                                         outputs=done.outputs, error=done.error), status_code=200)
    return Response(accepted, status_code=202)


def form_schema(row: TriggerRow, graph: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of a form trigger's form, from the input node's fields."""
    schema = fields_json_schema(input_fields(graph_from_builtins(graph).nodes), titled=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": row.config.get("title") or "Form",
        **schema,
        "required": schema.get("required", []),
        "submit": {"method": "POST", "path": f"/hooks/{row.hook_id}",
                   "content_types": ["application/json", "application/x-www-form-urlencoded"]},
    }


class HookController(Controller):
    path = "/hooks"
    tags = ("triggers",)
    security = []  # public: the hook id (and, for webhooks, the signature) authenticates the caller
    opt = PUBLIC  # for the app's role guard (pilot.auth.roles)

    @post("/{hook_id:str}", status_code=202)
    async def post_hook(self, request: Request, hook_id: FromPath[str], runtime: RuntimeDep) -> Response:
        """Start a run of the published workflow behind this hook (see module docstring)."""
        return await _accept(request, hook_id, runtime)

    @get("/{hook_id:str}", status_code=202)
    async def get_hook(self, request: Request, hook_id: FromPath[str], runtime: RuntimeDep) -> Response:
        """Webhooks declared with ``method: GET``: the query string is the payload."""
        return await _accept(request, hook_id, runtime)

    @get("/{hook_id:str}/form")
    async def get_form(self, hook_id: FromPath[str], runtime: RuntimeDep) -> dict[str, Any]:
        """The form of a form trigger as JSON Schema, with where to submit it."""
        row = await _trigger(runtime, hook_id)
        if row.kind != "form":
            raise NotFoundError("this hook has no form")
        async with runtime.sessions() as session:
            graph = await session.scalar(sa.select(WorkflowVersionRow.graph).where(
                WorkflowVersionRow.workflow_id == row.workflow_id, WorkflowVersionRow.version == row.workflow_version))
        return form_schema(row, graph or {})
