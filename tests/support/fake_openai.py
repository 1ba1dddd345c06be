"""A real OpenAI-compatible HTTP server for tests (Starlette app, served by uvicorn on 127.0.0.1).

It speaks ``POST /v1/chat/completions`` (JSON and ``stream: true`` SSE, tool calls, JSON mode,
``stream_options.include_usage``) and ``GET /v1/models``, so the real openai SDK and instructor
run against it over a socket. Behaviour is scripted per model from the test process (``tool_calls``
answers one turn with several calls, as an agent's model does for parallel tool calls)::

    fake.script(fail(429, retry_after=1), reply("hello"), model="gpt-4o-mini")
    fake.script(json({"intent": "summarization"}))          # "*" = any model

Each request pops the next action of its model's queue (then the ``"*"`` queue); with nothing
scripted the server answers deterministically: an echo of the last user message, or — when the
request carries ``tools`` / a ``response_format`` schema — arguments built by ``fake.responder``
(a callback ``(RecordedRequest) -> dict | str | None``) or, failing that, an example instance of
the requested JSON schema. Models in ``fake.missing_models`` answer 404 ``model_not_found``.
Every request is recorded in ``fake.requests``. Other processes drive the same server through
``POST /_control/script``, ``POST /_control/reset``, ``POST /_control/missing`` and
``GET /_control/requests``.
"""

from __future__ import annotations

import asyncio
import itertools
import json as _json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pilot.llm.prices import count_message_tokens, count_tokens
from pilot.llm.schema_fill import example_from_schema
from tests.support.servers import serve_in_thread

ANY_MODEL = "*"
DEFAULT_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "backup-model"]


# --------------------------------------------------------------------------- actions
@dataclass(frozen=True)
class Action:
    """One scripted behaviour; build them with the helper functions below."""

    kind: str
    text: str | None = None
    name: str | None = None
    arguments: str | None = None
    obj: Any = None
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, {}, 0.0) or k == "kind"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Action:
        return cls(**data)


def reply(text: str, *, stall_after: int | None = None, stall_s: float = 30.0) -> Action:
    """Answer with assistant text (streamed word by word when the request streams).

    ``stall_after=n``: when streaming, go silent for ``stall_s`` after ``n`` deltas (a stream
    that hangs mid-way, to exercise read timeouts after partial output).
    """
    return Action("reply", text=text, seconds=stall_s if stall_after is not None else 0.0,
                  name=None if stall_after is None else str(stall_after))


def tool_call(name: str | None, arguments_json: str | dict[str, Any]) -> Action:
    """Answer with one tool call (``name=None``: the tool the request asked for)."""
    args = arguments_json if isinstance(arguments_json, str) else _json.dumps(arguments_json, ensure_ascii=False)
    return Action("tool_call", name=name, arguments=args)


def tool_calls(*calls: tuple[str, str | dict[str, Any]], text: str | None = None) -> Action:
    """Answer with several tool calls in one turn (the model's parallel calls), optionally with
    some assistant ``text`` before them: ``tool_calls(("search", {"q": "x"}), ("rate", {}))``."""
    encoded = [{"name": name, "arguments": args if isinstance(args, str) else _json.dumps(args, ensure_ascii=False)}
               for name, args in calls]
    return Action("tool_calls", obj=encoded, text=text)


def json(obj: Any) -> Action:
    """Answer with ``obj`` as JSON: as tool-call arguments if the request offers tools, else as content."""
    return Action("json", obj=obj)


def fail(status: int, body: Any = None, headers: dict[str, str] | None = None, *,
         retry_after: float | None = None) -> Action:
    """Answer with an HTTP error (OpenAI error body unless ``body`` is given)."""
    hdrs = dict(headers or {})
    if retry_after is not None:
        hdrs["retry-after"] = f"{retry_after:g}"
    return Action("fail", status=status, body=body, headers=hdrs)


def hang(seconds: float) -> Action:
    """Say nothing for ``seconds`` (so the client times out), then answer by default."""
    return Action("hang", seconds=seconds)


def malformed(where: str = "auto") -> Action:
    """A broken response: invalid JSON body, or (when streaming) a broken SSE chunk."""
    return Action("malformed", text=where)


def latency(ms: float) -> Action:
    """Delay the *next* action of the same queue by ``ms`` milliseconds."""
    return Action("latency", seconds=ms / 1000.0)


# --------------------------------------------------------------------------- recording
@dataclass
class RecordedRequest:
    """What the server received (for assertions)."""

    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    received_at: float

    @property
    def model(self) -> str | None:
        return (self.body or {}).get("model")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])

    @property
    def stream(self) -> bool:
        return bool((self.body or {}).get("stream"))

    @property
    def last_user(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text(message.get("content"))
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "body": self.body, "received_at": self.received_at}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


# --------------------------------------------------------------------------- server
class FakeOpenAI:
    """The scriptable server state plus its ASGI app. Thread-safe: uvicorn runs in another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Action]] = {}
        self._ids = itertools.count(1)
        self._generation = 0
        self.requests: list[RecordedRequest] = []
        self.responder: Callable[[RecordedRequest], Any] | None = None
        self.missing_models: set[str] = set()
        self.base_url = ""
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/_control/script", self._control_script, methods=["POST"]),
            Route("/_control/reset", self._control_reset, methods=["POST"]),
            Route("/_control/missing", self._control_missing, methods=["POST"]),
            Route("/_control/requests", self._control_requests, methods=["GET"]),
        ])

    # ---- scripting API (test process)
    def script(self, *actions: Action, model: str = ANY_MODEL) -> FakeOpenAI:
        """Append actions to ``model``'s queue (``"*"``: any model without its own queue entry)."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(actions)
        return self

    def reset(self) -> None:
        """Forget scripts, recorded requests, responder and missing models; end pending hangs."""
        with self._lock:
            self._queues.clear()
            self.requests.clear()
            self.responder = None
            self.missing_models = set()
            self._generation += 1

    def pending(self, model: str = ANY_MODEL) -> int:
        """How many scripted actions are still queued for ``model``."""
        with self._lock:
            return len(self._queues.get(model, ()))

    def chat_requests(self, model: str | None = None) -> list[RecordedRequest]:
        """Recorded chat-completion requests (optionally only those for ``model``)."""
        with self._lock:
            found = [r for r in self.requests if r.path.endswith("/chat/completions")]
        return [r for r in found if model is None or r.model == model]

    @contextmanager
    def serve(self) -> Iterator[FakeOpenAI]:
        """Run on a real loopback socket; sets ``base_url`` (ends with ``/v1``)."""
        with serve_in_thread(self.app) as url:
            self.base_url = f"{url}/v1"
            try:
                yield self
            finally:
                self.reset()  # ends pending hangs so uvicorn shuts down promptly

    # ---- internals
    def _next_action(self, model: str | None) -> tuple[Action | None, float]:
        delay = 0.0
        with self._lock:
            while True:
                queue = self._queues.get(model or "")
                if not queue:
                    queue = self._queues.get(ANY_MODEL)
                if not queue:
                    return None, delay
                action = queue.popleft()
                if action.kind != "latency":
                    return action, delay
                delay += action.seconds

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, but stop early when the test resets; returns False if interrupted."""
        generation = self._generation
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._generation != generation:
                return False
            await asyncio.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
        return True

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = _json.loads(raw)
        except ValueError:
            body = None
        recorded = RecordedRequest(request.url.path, body, dict(request.headers), time.monotonic())
        with self._lock:
            self.requests.append(recorded)
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return _error(400, "invalid_request_error", "body must be JSON with 'model' and 'messages'")
        model = body["model"]
        action, delay = self._next_action(model)
        if delay:
            await self._sleep(delay)
        if action is None and model in self.missing_models:
            return _error(404, "invalid_request_error", f"The model `{model}` does not exist",
                          code="model_not_found")
        if action is not None and action.kind == "fail":
            if action.body is not None:
                return JSONResponse(action.body, status_code=action.status, headers=action.headers)
            return _error(action.status, _error_type(action.status), f"scripted failure {action.status}",
                          headers=action.headers)
        if action is not None and action.kind == "hang":
            if not await self._sleep(action.seconds):
                return Response(status_code=499)
            action = None
        if action is not None and action.kind == "malformed":
            return self._malformed(recorded, action)
        content, calls = self._answer(recorded, action)
        if recorded.stream:
            stall = (int(action.name), action.seconds) if action and action.kind == "reply" and action.name else None
            return self._stream(recorded, content, calls, stall)
        return JSONResponse(self._completion(recorded, content, calls))

    def _answer(self, req: RecordedRequest, action: Action | None) -> tuple[str | None, list[dict[str, str]]]:
        """(content, tool calls) for a scripted action or the default behaviour."""
        body = req.body or {}
        tools = body.get("tools") or []
        wanted = _wanted_tool(body)
        if action is not None and action.kind == "reply":
            return action.text or "", []
        if action is not None and action.kind == "tool_call":
            return None, [{"name": action.name or wanted or "tool", "arguments": action.arguments or "{}"}]
        if action is not None and action.kind == "tool_calls":
            return action.text, [dict(call) for call in action.obj]
        if action is not None and action.kind == "json":
            encoded = _json.dumps(action.obj, ensure_ascii=False)
            if tools:
                return None, [{"name": wanted or "tool", "arguments": encoded}]
            return encoded, []
        # default behaviour
        produced = self.responder(req) if self.responder else None
        if tools:
            schema = _tool_schema(tools, wanted)
            args = produced if produced is not None else example_from_schema(schema, seed=req.last_user)
            encoded = args if isinstance(args, str) else _json.dumps(args, ensure_ascii=False)
            return None, [{"name": wanted or "tool", "arguments": encoded}]
        fmt = body.get("response_format") or {}
        if fmt.get("type") in ("json_schema", "json_object"):
            if produced is None:
                schema = (fmt.get("json_schema") or {}).get("schema") or _schema_in_messages(req.messages)
                produced = example_from_schema(schema, seed=req.last_user) if schema else {"echo": req.last_user}
            return produced if isinstance(produced, str) else _json.dumps(produced, ensure_ascii=False), []
        if isinstance(produced, str):
            return produced, []
        return f"Echo: {req.last_user}", []

    def _usage(self, req: RecordedRequest, content: str | None, calls: list[dict[str, str]]) -> dict[str, int]:
        prompt = count_message_tokens(req.messages)
        completion = count_tokens(content or "") + sum(count_tokens(c["arguments"]) + 3 for c in calls)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, req: RecordedRequest, content: str | None, calls: list[dict[str, str]]) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": call} for i, call in enumerate(calls)
            ]
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": self._usage(req, content, calls),
        }

    def _stream(self, req: RecordedRequest, content: str | None, calls: list[dict[str, str]],
                stall: tuple[int, float] | None = None) -> Response:
        include_usage = bool(((req.body or {}).get("stream_options") or {}).get("include_usage"))
        chunk_id = f"chatcmpl-{next(self._ids)}"
        created = int(time.time())

        def chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> str:
            data: dict[str, Any] = {
                "id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": req.model,
                "system_fingerprint": "fp_fake",
                "choices": [] if delta is None else
                [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                data["usage"] = usage
            return f"data: {_json.dumps(data, ensure_ascii=False)}\n\n"

        async def events():
            yield chunk({"role": "assistant", "content": "", "refusal": None})
            for index, piece in enumerate(_pieces(content or "")):
                if stall and index == stall[0] and not await self._sleep(stall[1]):
                    return
                yield chunk({"content": piece})
                await asyncio.sleep(0)
            for index, call in enumerate(calls):
                yield chunk({"tool_calls": [{"index": index, "id": f"call_{index}", "type": "function",
                                             "function": {"name": call["name"], "arguments": ""}}]})
                for piece in _pieces(call["arguments"], size=16):
                    yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            yield chunk({}, "tool_calls" if calls else "stop")
            if include_usage:
                yield chunk(None, usage=self._usage(req, content, calls))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def _malformed(self, req: RecordedRequest, action: Action) -> Response:
        if req.stream and action.text != "body":
            async def broken():
                good = {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "created": 0,
                        "model": req.model, "choices": [{"index": 0, "delta": {"content": "partial"},
                                                         "finish_reason": None}]}
                yield f"data: {_json.dumps(good)}\n\n"
                yield 'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n'
            return StreamingResponse(broken(), media_type="text/event-stream")
        return Response('{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{',
                        media_type="application/json")

    async def _models(self, request: Request) -> Response:
        with self._lock:
            names = sorted((set(DEFAULT_MODELS) | {m for m in self._queues if m != ANY_MODEL}) - self.missing_models)
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names]})

    # ---- control endpoints (other processes)
    async def _control_script(self, request: Request) -> Response:
        data = await request.json()
        actions = [Action.from_dict(a) for a in data.get("actions", [])]
        self.script(*actions, model=data.get("model", ANY_MODEL))
        return JSONResponse({"queued": len(actions)})

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _control_missing(self, request: Request) -> Response:
        data = await request.json()
        with self._lock:
            self.missing_models = set(data.get("models", []))
        return JSONResponse({"missing": sorted(self.missing_models)})

    async def _control_requests(self, request: Request) -> Response:
        with self._lock:
            items = [r.to_dict() for r in self.requests]
        return JSONResponse({"requests": items})


# --------------------------------------------------------------------------- helpers
def _error(status: int, kind: str, message: str, *, code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}},
                        status_code=status, headers=headers)


def _error_type(status: int) -> str:
    if status == 429:
        return "rate_limit_exceeded"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def _wanted_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    tools = body.get("tools") or []
    return ((tools[0] or {}).get("function") or {}).get("name") if tools else None


def _tool_schema(tools: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    for tool in tools:
        function = tool.get("function") or {}
        if name is None or function.get("name") == name:
            return function.get("parameters") or {"type": "object", "properties": {}}
    return {"type": "object", "properties": {}}


def _schema_in_messages(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """instructor's JSON mode puts the schema in the system prompt; find the first JSON object there."""
    for message in messages:
        text = _text(message.get("content"))
        start = text.find("{")
        while start != -1:
            try:
                found, _ = _json.JSONDecoder().raw_decode(text[start:])
            except ValueError:
                start = text.find("{", start + 1)
                continue
            if isinstance(found, dict) and ("properties" in found or "type" in found):
                return found
            start = text.find("{", start + 1)
    return None


_PIECE = re.compile(r"\S+\s*|\s+")


def _pieces(text: str, size: int = 0) -> list[str]:
    """Split text into stream deltas: words (with trailing space), or fixed-size slices."""
    if not text:
        return []
    if size:
        return [text[i:i + size] for i in range(0, len(text), size)]
    return _PIECE.findall(text)


if __name__ == "__main__":  # run standalone: python -m tests.support.fake_openai [port]
    import sys

    import uvicorn

    uvicorn.run(FakeOpenAI().app, host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8999)
