"""Triggers over real sockets: webhooks (signature, payload validation, async and sync modes,
body cap, rate limit), forms, trigger history, and schedules that fire exactly once per tick
across two real API processes sharing PostgreSQL (per-second cron via PILOT_SCHEDULE_SECONDS)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from collections.abc import Iterator

import httpx
import pytest

from pilot.db.migrate import upgrade
from tests.support.db import create_database, drop_database
from tests.support.runs import RunClient, edge
from tests.support.background import spawn_api, start_worker, stop, wait_api

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]


def _graph(trigger: dict, fields: list[dict] | None = None, outputs: dict | None = None) -> tuple[list, list]:
    fields = fields if fields is not None else [{"name": "name", "type": "string", "required": True}]
    nodes = [
        {"id": "start", "type": "input", "config": {"fields": fields, "trigger": trigger}},
        {"id": "end", "type": "output", "config": {"outputs": outputs or {"greeting": "Hello {{ inputs.name }}"}}},
    ]
    return nodes, [edge("start", "end")]


async def _published(rc: RunClient, trigger: dict, **kw) -> tuple[str, dict]:
    nodes, edges = _graph(trigger, **kw)
    workflow_id = await rc.workflow(nodes, edges)
    published = await rc.http.post(f"/api/workflows/{workflow_id}/publish")
    assert published.status_code == 200, published.text
    listed = (await rc.http.get(f"/api/workflows/{workflow_id}/triggers")).json()["items"]
    assert len(listed) == 1 and listed[0]["active"]
    return workflow_id, listed[0]


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_signed_webhook_validates_then_runs(rc: RunClient) -> None:
    workflow_id, trigger = await _published(rc, {"kind": "webhook"})
    hook, secret = trigger["hook_path"], trigger["signing_secret"]
    assert trigger["kind"] == "webhook" and len(hook) > 30 and secret.startswith("whsec_")
    body = json.dumps({"name": "Ada"}).encode()
    async with httpx.AsyncClient(base_url=str(rc.http.base_url)) as anonymous:
        missing = await anonymous.post(hook, content=body)
        wrong = await anonymous.post(hook, content=body, headers={"X-Pilot-Signature": _sign("nope", body)})
        assert missing.status_code == 401 and "x-pilot-signature" in missing.json()["detail"]
        assert wrong.status_code == 401
        bad = json.dumps({"nom": "Ada"}).encode()
        invalid = await anonymous.post(hook, content=bad, headers={"X-Pilot-Signature": _sign(secret, bad)})
        assert invalid.status_code == 422 and "input_data.name" in invalid.text
        accepted = await anonymous.post(hook, content=body, headers={"X-Pilot-Signature": _sign(secret, body)})
        assert accepted.status_code == 202, accepted.text
        assert set(accepted.json()) >= {"execution_id", "status", "stream_url"}
        unknown = await anonymous.post("/hooks/not-a-hook", content=body)
        assert unknown.status_code == 404
    events = await rc.events(accepted.json()["execution_id"])
    assert events[0][2]["trigger"] == "webhook"
    assert events[-1][2]["status"] == "succeeded" and events[-1][2]["outputs"] == {"greeting": "Hello Ada"}
    runs = (await rc.http.get("/api/executions", params={"workflow_id": workflow_id, "trigger": "webhook"})).json()
    assert [r["id"] for r in runs["items"]] == [accepted.json()["execution_id"]] and runs["items"][0]["trigger"] == "webhook"
    fires = (await rc.http.get(f"/api/workflows/{workflow_id}/triggers")).json()["items"][0]["fires"]
    assert [f["execution_id"] for f in fires] == [accepted.json()["execution_id"]]


async def test_a_body_posted_as_its_sender_sends_it_is_the_workflows_payload(rc: RunClient) -> None:
    # generated webhook workflows take the whole delivery as one object input; Stripe or an ERP posts
    # its event as it is, never wrapped in {"payload": …}
    fields = [{"name": "payload", "type": "object", "required": True}, {"name": "region", "type": "string", "required": False}]
    _, trigger = await _published(rc, {"kind": "webhook", "response_mode": "sync", "signature": "none"}, fields=fields,
                                  outputs={"summary": "{{ inputs.payload.type }} {{ inputs.payload.data.amount }} {{ inputs.region }}"})
    async with httpx.AsyncClient(base_url=str(rc.http.base_url)) as anonymous:
        raw = await anonymous.post(trigger["hook_path"], json={"type": "charge.refunded", "data": {"amount": 500}, "region": "eu"})
        wrapped = await anonymous.post(trigger["hook_path"], json={"payload": {"type": "invoice.paid", "data": {"amount": 7}}})
        not_an_object = await anonymous.post(trigger["hook_path"], json={"payload": "text"})
    assert raw.status_code == 200, raw.text
    assert raw.json()["outputs"] == {"summary": "charge.refunded 500 eu"}  # the body, with the declared field beside it
    assert wrapped.json()["outputs"] == {"summary": "invoice.paid 7 None"}  # a body that names the input is taken as it is
    assert not_an_object.status_code == 422 and "input_data.payload" in not_an_object.text


async def test_sync_webhook_answers_with_outputs(rc: RunClient) -> None:
    _, trigger = await _published(rc, {"kind": "webhook", "response_mode": "sync", "signature": "none"})
    async with httpx.AsyncClient(base_url=str(rc.http.base_url)) as anonymous:
        response = await anonymous.post(trigger["hook_path"], json={"name": "Lin"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded" and response.json()["outputs"] == {"greeting": "Hello Lin"}
    assert trigger["signing_secret"] is None


async def test_hook_body_cap_rate_limit_and_unpublish(rc: RunClient) -> None:
    workflow_id, trigger = await _published(
        rc, {"kind": "webhook", "signature": "none", "max_body_bytes": 200, "rate_per_minute": 2}
    )
    async with httpx.AsyncClient(base_url=str(rc.http.base_url)) as anonymous:
        too_big = await anonymous.post(trigger["hook_path"], json={"name": "x" * 500})
        assert too_big.status_code == 413
        codes = [(await anonymous.post(trigger["hook_path"], json={"name": "a"})).status_code for _ in range(3)]
        assert codes[:2] == [202, 202] and codes[2] == 429
        limited = await anonymous.post(trigger["hook_path"], json={"name": "a"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert (await rc.http.post(f"/api/workflows/{workflow_id}/unpublish")).status_code == 200
        gone = await anonymous.post(trigger["hook_path"], json={"name": "a"})
        assert gone.status_code == 404
    listed = (await rc.http.get(f"/api/workflows/{workflow_id}/triggers")).json()["items"]
    assert listed[0]["active"] is False


async def test_form_round_trip(rc: RunClient) -> None:
    fields = [{"name": "email", "type": "string", "required": True, "description": "your address"},
              {"name": "topic", "type": "string", "required": False, "default": "general"}]
    _, trigger = await _published(rc, {"kind": "form", "title": "Contact us"}, fields=fields,
                                  outputs={"summary": "{{ inputs.email }} / {{ inputs.topic }}"})
    async with httpx.AsyncClient(base_url=str(rc.http.base_url)) as anonymous:
        form = (await anonymous.get(trigger["form_url"])).json()
        assert form["title"] == "Contact us" and form["required"] == ["email"]
        assert form["properties"]["email"]["description"] == "your address" and form["properties"]["topic"]["default"] == "general"
        submitted = await anonymous.post(form["submit"]["path"], content=b"email=ada%40example.com",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert submitted.status_code == 202, submitted.text
        missing = await anonymous.post(form["submit"]["path"], json={"topic": "x"})
        assert missing.status_code == 422 and "input_data.email" in missing.text
    events = await rc.events(submitted.json()["execution_id"])
    assert events[-1][2]["outputs"] == {"summary": "ada@example.com / general"}


async def test_a_schedule_is_validated_when_published(rc: RunClient) -> None:
    nodes, edges = _graph({"kind": "schedule", "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, fields=[])
    workflow_id = await rc.workflow(nodes, edges)
    refused = await rc.http.post(f"/api/workflows/{workflow_id}/publish")
    assert refused.status_code == 422 and "unknown timezone" in refused.text and "nodes.start.config.trigger" in refused.text
    nodes, edges = _graph({"kind": "schedule", "cron": "* * * * * */2", "timezone": "UTC"}, fields=[])
    seconds = await rc.workflow(nodes, edges)
    refused = await rc.http.post(f"/api/workflows/{seconds}/publish")  # per-second cron is off by default
    assert refused.status_code == 422 and "needs 5 fields" in refused.text
    nodes, edges = _graph({"kind": "schedule", "cron": "0 9 * * 1", "timezone": "Europe/Berlin"}, fields=[])
    monday = await rc.workflow(nodes, edges)
    assert (await rc.http.post(f"/api/workflows/{monday}/publish")).status_code == 200
    trigger = (await rc.http.get(f"/api/workflows/{monday}/triggers")).json()["items"][0]
    next_fire = datetime.fromisoformat(trigger["next_fire_at"])
    assert next_fire.utcoffset() is not None and next_fire.astimezone().isoweekday() in (1,)  # a Monday, never Saturday


# ---------------------------------------------------------------- schedules across processes


TOPOLOGIES = {
    "embedded": (0, 1),  # SQLite, one API process with its in-process scheduler
    "two_apis": (0, 2),  # PostgreSQL, two API processes
    "two_apis_two_workers": (2, 2),  # PostgreSQL + Redis: runs are queued for two arq workers
}


@pytest.fixture
def own_pg_url() -> Iterator[str]:
    """A database of this test's own: the session's in-process apps share ``pg_url`` and run their
    own schedulers, so on it they would claim ticks of this test's trigger (as inline runs)."""
    name, url = create_database()
    upgrade(url)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
async def test_a_schedule_fires_exactly_once_per_tick(topology: str, own_pg_url: str, tmp_path) -> None:
    """Every process runs the scheduler; the (trigger, tick) claim lets exactly one fire each tick."""
    pg_url = own_pg_url
    workers, apis = TOPOLOGIES[topology]
    env = {"PILOT_DATA_DIR": str(tmp_path / ".pilot"), "PILOT_SCHEDULE_SECONDS": "1",
           "PILOT_SCHEDULER_INTERVAL_S": "0.1", "DATABASE_POOL_SIZE": "4"}
    if topology != "embedded":
        env["DATABASE_URL"] = pg_url
    if workers:
        env.update(REDIS_URL="redis://127.0.0.1:6379/0", PILOT_REDIS_PREFIX=f"pilot-sched-{time.time_ns()}")
    key = _create_key(env)
    procs = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(workers)]
    servers = [spawn_api(env, tmp_path / f"api{i}.log") for i in range(apis)]
    try:
        for i, (proc, url) in enumerate(servers):
            wait_api(proc, url, tmp_path / f"api{i}.log")
        rc = RunClient(servers[0][1], key)
        nodes, edges = _graph({"kind": "schedule", "cron": "* * * * * */2", "timezone": "UTC"}, fields=[],
                              outputs={"at": "tick"})
        workflow_id = await rc.workflow(nodes, edges)
        assert (await rc.http.post(f"/api/workflows/{workflow_id}/publish")).status_code == 200
        await asyncio.sleep(7.5)  # ticks every 2 s: at least 3 fire
        assert (await rc.http.post(f"/api/workflows/{workflow_id}/unpublish")).status_code == 200
        await asyncio.sleep(2.0)  # the last runs finish on the workers
        fires = (await rc.http.get(f"/api/workflows/{workflow_id}/triggers")).json()["items"][0]["fires"]
        runs = (await rc.http.get("/api/executions", params={"workflow_id": workflow_id, "trigger": "schedule"})).json()
        if apis > 1:  # hooks through the *other* API process (and, with workers, run by a worker)
            await _hooks_across_processes(rc, RunClient(servers[1][1], key))
        await rc.aclose()
    finally:
        for proc in [p for p, _ in servers] + procs:
            stop(proc)
    ticks = sorted(datetime.fromisoformat(f["scheduled_for"]) for f in fires)
    assert len(ticks) >= 3, fires
    assert len(set(ticks)) == len(ticks)  # 0 duplicates
    assert all(b - a == timedelta(seconds=2) for a, b in zip(ticks, ticks[1:])), ticks  # 0 misses
    assert all(f["execution_id"] and not f["error"] for f in fires)
    assert sorted(r["id"] for r in runs["items"]) == sorted(f["execution_id"] for f in fires)
    assert all(r["status"] == "succeeded" for r in runs["items"]), [r["status"] for r in runs["items"]]
    if workers:
        assert {r["mode"] for r in runs["items"]} == {"background"}


async def _hooks_across_processes(first: RunClient, second: RunClient) -> None:
    """Webhook signature, payload validation, sync and async modes, and a form, with the workflow
    published on one API process and the hook called on another."""
    try:
        _, hook = await _published(first, {"kind": "webhook", "response_mode": "sync"})
        body = json.dumps({"name": "Ada"}).encode()
        async with httpx.AsyncClient(base_url=str(second.http.base_url), timeout=60) as anonymous:
            assert (await anonymous.post(hook["hook_path"], content=body)).status_code == 401
            bad = json.dumps({"nom": 1}).encode()
            invalid = await anonymous.post(hook["hook_path"], content=bad, headers={"X-Pilot-Signature": _sign(hook["signing_secret"], bad)})
            assert invalid.status_code == 422 and "input_data.name" in invalid.text
            answer = await anonymous.post(hook["hook_path"], content=body,
                                          headers={"X-Pilot-Signature": _sign(hook["signing_secret"], body)})
            assert answer.status_code == 200 and answer.json()["outputs"] == {"greeting": "Hello Ada"}, answer.text
            _, async_hook = await _published(first, {"kind": "webhook", "signature": "none"})
            accepted = await anonymous.post(async_hook["hook_path"], json={"name": "Lin"})
            assert accepted.status_code == 202
            events = await second.events(accepted.json()["execution_id"])
            assert events[-1][2]["outputs"] == {"greeting": "Hello Lin"}
            _, form = await _published(first, {"kind": "form"}, fields=[{"name": "email", "type": "string", "required": True}],
                                       outputs={"got": "{{ inputs.email }}"})
            schema = (await anonymous.get(form["form_url"])).json()
            submitted = await anonymous.post(schema["submit"]["path"], json={"email": "a@b.c"})
            assert submitted.status_code == 202
            assert (await second.events(submitted.json()["execution_id"]))[-1][2]["outputs"] == {"got": "a@b.c"}
    finally:
        await second.aclose()


def _create_key(env: dict[str, str]) -> str:
    full = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full.update(env)
    made = subprocess.run([sys.executable, "-m", "pilot", "keys", "create", "--workspace", f"sched-{time.time_ns()}"],
                          capture_output=True, text=True, env=full, cwd=ROOT, check=True)
    return made.stdout.strip().splitlines()[-1]


async def test_a_chat_trigger_answers_each_message_with_the_run(rc: RunClient) -> None:
    fields = [{"name": "message", "type": "string", "required": True}]
    workflow_id, trigger = await _published(rc, {"kind": "chat"}, fields=fields,
                                            outputs={"reply": "You said: {{ inputs.message }}"})
    async with httpx.AsyncClient(base_url=str(rc.http.base_url)) as anonymous:
        answer = await anonymous.post(trigger["hook_path"], json={"message": "hello"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"] == {"reply": "You said: hello"}
        empty = await anonymous.post(trigger["hook_path"], json={"message": " "})
        assert empty.status_code == 422 and empty.json()["extra"]["field"] == "message"
    runs = (await rc.http.get("/api/executions", params={"workflow_id": workflow_id, "trigger": "chat"})).json()
    assert runs["total"] == 1
