"""Credentials in runs over a real socket (SQLite and PostgreSQL): ``{{ credentials.<name> }}``
renders the decrypted value into a node, the value never reaches the events (live or replayed),
the execution response, any stored row or the logs (``[REDACTED]`` where it was), a rotated value
is used by the next run without editing the workflow, and an unknown name fails the node naming
it. The run-start loader registers values for redaction in a process that never saw them."""

from __future__ import annotations

import json
import logging
import secrets
import uuid

import pytest
import sqlalchemy as sa

from pilot.core.redaction import REDACTED, redact
from pilot.credentials.crypto import cipher_for
from pilot.credentials.store import credentials_for_run
from pilot.db.engine import create_engine
from pilot.db.models import Base, CredentialRow, WorkspaceRow
from tests.support.runs import RunClient, edge, node

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def stored_text(settings) -> str:
    """Every row of every table, as text."""
    engine = create_engine(settings.db)
    try:
        chunks = []
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                chunks.extend(repr(tuple(r)) for r in (await conn.execute(sa.select(table))).all())
        return "\n".join(chunks)
    finally:
        await engine.dispose()


@pytest.fixture
def logs(caplog):
    """Every log record of the test (the live server logs through the root logger)."""
    root = logging.getLogger()
    added = caplog.handler not in root.handlers
    if added:
        root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    yield caplog
    if added:
        root.removeHandler(caplog.handler)


async def _credential(rc: RunClient, name: str, value: str, type: str = "secret") -> dict:
    r = await rc.http.post("/api/credentials", json={"name": name, "type": type, "value": value})
    assert r.status_code == 201, r.text
    return r.json()


GREETING_NODES = [
    node("start", "input", fields=[]),
    node("ask", "llm", model="offline", prompt="Say {{ credentials.greeting }}"),
    node("each", "loop", items="[1, 2]", body={
        "nodes": [node("size", "output", outputs={"n": "{{ credentials.greeting | length }}"})], "edges": [],
    }),
    node("out", "output", outputs={
        "text": "{{ nodes.ask.output }}", "length": "{{ credentials.greeting | length }}",
        "in_loop": "{{ nodes.each.output }}",
    }),
]
GREETING_EDGES = [edge("start", "ask"), edge("ask", "each"), edge("each", "out")]


async def test_a_credential_renders_into_the_node_and_is_redacted_everywhere(rc: RunClient, settings, logs) -> None:
    value = "grt-" + secrets.token_urlsafe(24)
    await _credential(rc, "greeting", value)
    execution_id, events = await rc.run(GREETING_NODES, GREETING_EDGES)

    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-1]
    outputs = events[-1][2]["outputs"]
    # The value reached the prompt (the offline model quotes it back: redacted on the way out) …
    assert f"Say {REDACTED}" in outputs["text"]
    assert outputs["length"] == len(value) and outputs["in_loop"] == [{"n": len(value)}] * 2
    assert any(e == "node.delta" and REDACTED in d["text"] for _, e, d in events)

    # … and nowhere else: live events, the stored stream, the execution, the listing, the rows, the logs.
    replayed = await rc.events(execution_id)
    detail = await rc.execution(execution_id)
    listing = (await rc.http.get("/api/executions")).text
    credentials = (await rc.http.get("/api/credentials")).text
    assert replayed == events
    assert REDACTED in json.dumps(detail)
    for where, text in (("events", json.dumps(events)), ("execution", json.dumps(detail)), ("listing", listing),
                        ("credentials", credentials), ("rows", await stored_text(settings))):
        assert value not in text, (where, text[max(0, text.find(value) - 300):text.find(value) + 100])
    assert value[:12] not in json.dumps(events)  # not even a fragment (the offline model's key terms)
    assert logs.records and not [r for r in logs.records if value in r.getMessage() or value in str(r.args)]


async def test_a_rotated_value_is_used_by_the_next_run_without_editing_the_workflow(rc: RunClient) -> None:
    first, second = "v1-" + secrets.token_urlsafe(12), "version2-" + secrets.token_urlsafe(30)
    credential = await _credential(rc, "greeting", first)
    workflow_id = await rc.workflow(GREETING_NODES, GREETING_EDGES)
    before = (await rc.http.get(f"/api/workflows/{workflow_id}")).json()

    run1 = await rc.events(await rc.start(workflow_id))
    assert run1[-1][2]["status"] == "succeeded" and run1[-1][2]["outputs"]["length"] == len(first)

    r = await rc.http.put(f"/api/credentials/{credential['id']}", json={"value": second})
    assert r.status_code == 200 and second not in r.text
    run2 = await rc.events(await rc.start(workflow_id))
    assert run2[-1][2]["status"] == "succeeded" and run2[-1][2]["outputs"]["length"] == len(second)
    assert second not in json.dumps(run2) and first not in json.dumps(run2)
    assert (await rc.http.get(f"/api/workflows/{workflow_id}")).json() == before  # the workflow was not touched

    # Deleted: the next run fails at the node that refers to it, naming it.
    assert (await rc.http.delete(f"/api/credentials/{credential['id']}")).status_code == 204
    run3 = await rc.events(await rc.start(workflow_id))
    assert run3[-1][2]["status"] == "failed"
    failed = next(d for _, e, d in run3 if e == "node.failed")
    assert failed["node_id"] == "ask" and "unknown credential 'greeting'" in failed["error"]


async def test_an_unknown_credential_fails_the_node_naming_it(rc: RunClient) -> None:
    await _credential(rc, "greeting", "hello-" + secrets.token_urlsafe(12))
    ask = node("ask", "llm", model="offline", prompt="Say {{ credentials.greting }}",
               retry={"max_attempts": 3, "initial_delay_s": 0.01})
    execution_id, events = await rc.run([ask], [])
    assert events[-1][2]["status"] == "failed"
    failed = next(d for _, e, d in events if e == "node.failed")
    assert failed["node_id"] == "ask" and failed["error"].startswith("prompt: ")
    assert "unknown credential 'greting'" in failed["error"]
    # Not retried: a template cannot fix itself.
    assert [d["attempt"] for _, e, d in events if e == "node.started" and d["node_id"] == "ask"] == [1]
    assert not [e for _, e, _ in events if e == "node.retry"]
    assert "greting" in (await rc.execution(execution_id))["error"]

    # An api node's header, rendered before any request is made.
    call = node("call", "api", method="POST", url="https://example.invalid/{{ credentials.greeting }}",
                headers={"Authorization": "Bearer {{ credentials.api_token }}"})
    _, events = await rc.run([call], [])
    failed = next(d for _, e, d in events if e == "node.failed")
    assert failed["error"].startswith("headers.Authorization: ") and "unknown credential 'api_token'" in failed["error"]


async def test_another_workspaces_credentials_are_not_in_scope(rc: RunClient, live_server) -> None:
    other = RunClient(live_server.url, await live_server.new_key())
    try:
        await _credential(other, "greeting", "theirs-" + secrets.token_urlsafe(12))
    finally:
        await other.aclose()
    _, events = await rc.run([node("ask", "llm", model="offline", prompt="Say {{ credentials.greeting }}")], [])
    assert events[-1][2]["status"] == "failed"
    assert "unknown credential 'greeting'" in next(d for _, e, d in events if e == "node.failed")["error"]


async def test_the_run_loader_decrypts_the_workspace_and_registers_each_value(client, settings) -> None:
    """What a background worker does: it never saw the API create the value, yet redacts it."""
    sessions = client.app.state.runtime.sessions
    value, foreign = "never-seen-" + secrets.token_urlsafe(16), "foreign-" + secrets.token_urlsafe(16)
    assert redact(value) == value  # not registered yet
    cipher = cipher_for(settings.app)
    async with sessions() as session:
        mine, theirs = WorkspaceRow(name=f"ws-{uuid.uuid4().hex[:8]}"), WorkspaceRow(name=f"ws-{uuid.uuid4().hex[:8]}")
        session.add_all([mine, theirs])
        await session.flush()
        a, b, c = (f"cred_{uuid.uuid4().hex}" for _ in range(3))
        rows = [(a, mine.id, "token", value), (b, theirs.id, "token", foreign)]
        session.add_all(
            CredentialRow(id=cid, workspace_id=ws, name=name, type="secret", ciphertext=cipher.encrypt(ws, cid, v))
            for cid, ws, name, v in rows
        )
        # A ciphertext copied from another row does not decrypt here: that name fails, the others work.
        session.add(CredentialRow(id=c, workspace_id=mine.id, name="copied", type="secret",
                                  ciphertext=cipher.encrypt(theirs.id, b, foreign)))
        await session.commit()

    skipped = await credentials_for_run(sessions, settings, mine.id, {"nodes": [{"config": {"prompt": "hi"}}]})
    assert len(skipped) == 0 and redact(value) == value  # the graph never mentions credentials: no query
    scope = await credentials_for_run(sessions, settings, mine.id, {"prompt": "{{ credentials.token }}"})
    assert scope["token"] == value and list(scope) == ["token"]
    assert redact(f"x {value} y") == f"x {REDACTED} y"
    with pytest.raises(Exception, match="'copied' cannot be used: its stored value belongs to another credential"):
        scope["copied"]
