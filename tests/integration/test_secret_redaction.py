"""Issue 10 / defect 7: provider error text that echoes the API key never leaks.

A real OpenAI-protocol server (tests/support/fake_openai.py, over a socket) answers every chat
completion with 401 or 500 and an error message that echoes the ``Authorization`` bearer key, as
some proxies do. An llm node run through the API, and the generate endpoint's LLM planner, must
not show the key anywhere: SSE events, the execution response, the database (every table) or the
log records of the run; the failure itself stays visible (``[REDACTED]`` where the key was)."""

from __future__ import annotations

import json
import logging
import secrets

import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pilot.app import create_app
from pilot.db.engine import create_engine
from pilot.db.models import Base
from tests.conftest import build_settings, new_workspace_key
from tests.support.fake_openai import FakeOpenAI, RecordedRequest
from tests.support.runs import RunClient, edge, node
from tests.support.servers import serve_in_thread


class KeyEchoingOpenAI(FakeOpenAI):
    """The fake OpenAI server, except that every chat completion fails with ``status`` and an
    OpenAI-style error whose message quotes the bearer key it received."""

    status = 401

    async def _chat(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        self.requests.append(RecordedRequest(request.url.path, None, dict(request.headers), 0.0))
        key = auth.removeprefix("Bearer ")
        message = f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com."
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": None,
                                       "code": "invalid_api_key" if self.status == 401 else "server_error"}},
                            status_code=self.status)


@pytest.fixture(scope="module")
def echoing_llm():
    fake = KeyEchoingOpenAI()
    with fake.serve():
        yield fake


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


async def stored_text(db_settings) -> str:
    """Every row of every table, as text."""
    engine = create_engine(db_settings)
    try:
        chunks = []
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(sa.select(table))).all()
                chunks.extend(repr(tuple(r)) for r in rows)
        return "\n".join(chunks)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("status", [401, 500])
async def test_an_echoed_api_key_reaches_no_event_response_row_or_log(echoing_llm, db_url, tmp_path, caplog, status):
    key = "sk-proj-" + secrets.token_urlsafe(36)
    echoing_llm.status = status
    echoing_llm.requests.clear()
    settings = build_settings(tmp_path / ".pilot", db_url, OPENAI_API_KEY=key, OPENAI_BASE_URL=echoing_llm.base_url,
                              PILOT_LLM_TIMEOUT_S="5", PILOT_LLM_MAX_RETRIES="1", PILOT_LLM_REASK_RETRIES="0")
    app = create_app(settings)
    with serve_in_thread(app) as url:
        # Litestar configured logging while starting (its own root handler): capture from here on.
        root = logging.getLogger()
        if caplog.handler not in root.handlers:
            root.addHandler(caplog.handler)
        caplog.set_level(logging.DEBUG)
        rc = RunClient(url, await new_workspace_key(app))
        try:
            nodes = [
                node("start", "input", fields=[{"name": "who", "type": "string"}]),
                node("ask", "llm", model="gpt-4o-mini", prompt="Say hi to {{ inputs.who }}",
                     retry={"max_attempts": 2, "initial_delay_s": 0.01, "jitter": 0}),
                node("out", "output", outputs={"text": "{{ nodes.ask.output }}"}),
            ]
            execution_id, events = await rc.run(nodes, [edge("start", "ask"), edge("ask", "out")], {"who": "Ada"})
            replayed = await rc.events(execution_id)  # after the run: read back from the database
            detail = await rc.execution(execution_id)
            listing = (await rc.http.get("/api/executions")).text
            generated = await rc.http.post("/api/workflows/generate",
                                           json={"prompt": "every morning summarise Hacker News and post it to Slack"})
        finally:
            await rc.aclose()

    # The provider did see the key, and the run failed because of it.
    assert echoing_llm.requests and all(r.headers["authorization"] == f"Bearer {key}" for r in echoing_llm.requests)
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "failed"
    failed = next(d for _, e, d in events if e == "node.failed")
    assert f"LLM server answered {status}: Incorrect API key provided: [REDACTED]" in failed["error"]
    if status == 500:  # retryable: the retry event carries the error too
        assert any(e == "node.retry" and "[REDACTED]" in d["error"] for _, e, d in events)

    # 1. SSE events (live) and the stored stream (replayed from the database).
    assert replayed == events and key not in json.dumps(events)
    # 2. The execution response and the listing.
    assert key not in json.dumps(detail) and key not in listing
    ask = next(r for r in detail["node_results"] if r["node_id"] == "ask")
    assert "[REDACTED]" in detail["error"] and "[REDACTED]" in ask["error"]
    # 3. The generate endpoint: the LLM planner failed, its fallback_reason says why without the key.
    assert generated.status_code == 201, generated.text
    blueprint = generated.json()["blueprint"]
    assert blueprint["source"] == "offline" and str(status) in blueprint["fallback_reason"]
    assert key not in generated.text
    # 4. Every stored row (executions, node_results, stream_events, workflows, ...).
    stored = await stored_text(settings.db)
    assert execution_id in stored and key not in stored
    # 5. Every log record of the run and the generation, formatted as a handler writes it.
    assert any("Incorrect API key provided: [REDACTED]" in r.getMessage() for r in caplog.records)
    assert key not in caplog.text
    for record in caplog.records:
        assert key not in record.getMessage() and key not in (record.exc_text or "")
    # Not merely cut short somewhere: no 12-character piece of the key survives either.
    for fragment in (key[:12], key[-12:]):
        assert fragment not in json.dumps(events) + json.dumps(detail) + generated.text + stored + caplog.text
