"""Credentials across processes: a credential created through one API process is used by a
background run on a worker PROCESS that never saw the value (real arq workers, PostgreSQL and
Redis; the cluster of tests/integration/test_background_runs.py). The worker decrypts it with the
shared key file (PILOT_SECRET_KEY unset, one data dir) and registers it for redaction itself: the
echo server receives the real header, while the events, the execution and the worker logs show
``[REDACTED]``."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from tests.conftest import new_workspace_key
from tests.integration import test_background_runs as bg
from tests.integration.test_background_runs import create_workflow, execute, get_execution, stream

# The background suite's module-scoped fixtures (a cluster of its own for this module).
echo, cluster, api_a, api_b = bg.echo, bg.cluster, bg.api_a, bg.api_b

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def test_a_worker_process_decrypts_and_redacts_a_credential_it_never_saw(cluster, api_a, api_b):
    app_b, _ = api_b
    key = await new_workspace_key(app_b)
    value = "crm-" + secrets.token_urlsafe(24)
    async with httpx.AsyncClient(base_url=api_a, headers={"Authorization": f"Bearer {key}"}) as client:
        created = await client.post("/api/credentials", json={"name": "crm_token", "type": "bearer_token", "value": value})
        assert created.status_code == 201 and value not in created.text
    body = {"name": "crm call", "nodes": [
        {"id": "start", "type": "input", "config": {"fields": []}},
        {"id": "call", "type": "api", "config": {
            "url": f"{cluster.echo_url}/echo", "query": {"tag": "credential"},
            "headers": {"Authorization": "Bearer {{ credentials.crm_token }}"}}},
        {"id": "out", "type": "output", "config": {"outputs": {"echo": "{{ nodes.call.output.body }}"}}},
    ], "edges": [{"id": "e1", "source": "start", "target": "call"}, {"id": "e2", "source": "call", "target": "out"}]}
    workflow_id = await create_workflow(api_a, key, body)
    execution_id = await execute(api_a, key, workflow_id)
    events = await stream(api_a, key, execution_id)

    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-1]
    sent = [r for r in cluster.echo.received if r["query"].get("tag") == "credential"]
    assert [r["headers"]["authorization"] for r in sent] == [f"Bearer {value}"]  # the real value went out
    echoed = events[-1][2]["outputs"]["echo"]
    assert echoed["headers"]["authorization"] == "Bearer [REDACTED]"  # … and came back redacted
    detail = await get_execution(api_a, key, execution_id)
    assert detail["mode"] == "background"
    assert value not in json.dumps(events) and value not in json.dumps(detail)
    for log in cluster.logs.glob("*.log"):
        assert value not in log.read_text(errors="replace"), log.name
