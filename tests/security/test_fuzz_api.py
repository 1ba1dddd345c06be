"""Fuzz every operation of the OpenAPI schema with schemathesis against the real app.

The app runs on uvicorn (a real socket, fresh database, a workspace API key); schemathesis reads
the app's OpenAPI document (what ``/schema/openapi.json`` serves) and, for every operation,
replays its examples, its coverage cases (boundary and invalid values) and generated valid and
invalid requests — NUL characters, odd Unicode, unknown fields and all — then checks that no
request gets a 5xx (``not_a_server_error``) and that documented responses match their schema
(``response_schema_conformance``: timestamps must be RFC 3339 ``date-time`` with an offset).

The primary target is SQLite (the embedded default); the same run against PostgreSQL catches
what only it refuses (NUL in TEXT/JSONB, INTEGER overflow). Half of the generated path ids are
swapped for real resources (a workflow with two versions, an execution, a knowledge base with a
document, a chat session) so handlers run past their 404.

Bounded and deterministic: ``derandomize`` (fixed seeds), ``MAX_EXAMPLES`` generated examples per
operation (``PILOT_FUZZ_EXAMPLES`` overrides it), a per-request timeout and a per-example
deadline; about a minute per database. ``PILOT_FUZZ_RANDOM=1`` explores with random seeds.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import hypothesis
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from litestar.serialization import encode_json
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from pilot.app import create_app
from pilot.auth.service import create_api_key
from pilot.db.migrate import upgrade
from pilot.runtime import Runtime
from pilot.settings import Settings
from pilot.startup import migrate_if_embedded
from tests.conftest import build_settings
from tests.support.db import create_database, drop_database
from tests.support.servers import serve_in_thread
from tests.support.workflows import workflow_body

pytestmark = pytest.mark.security

MAX_EXAMPLES = int(os.environ.get("PILOT_FUZZ_EXAMPLES", "100"))
REQUEST_TIMEOUT_S = 20
CHECKS = [not_a_server_error, response_schema_conformance]
STATS: Counter[str] = Counter()


def _load_schema() -> schemathesis.BaseSchema:
    """The app's OpenAPI document, built without serving it (collection needs the operations),
    through JSON exactly as ``/schema/openapi.json`` serves it."""
    app = create_app(build_settings(Path(tempfile.mkdtemp(prefix="pilot-fuzz-schema-")) / ".pilot"))
    return schemathesis.openapi.from_dict(msgspec.json.decode(encode_json(app.openapi_schema.to_schema())))


schema = _load_schema()
REAL_IDS: dict[str, str] = {}  # path parameter → id of a real resource of the fuzzed workspace


@schema.hook
def map_path_parameters(context, path_parameters):
    for name, value in list((path_parameters or {}).items()):
        if name in REAL_IDS and isinstance(value, str) and len(value) % 2 == 0:
            path_parameters[name] = REAL_IDS[name]
    return path_parameters


def _workspace_key(settings: Settings) -> str:
    """A new workspace and API key, the way ``pilot keys create`` makes one."""

    async def create() -> str:
        runtime = Runtime.build(settings)
        try:
            await migrate_if_embedded(runtime)
            async with runtime.sessions() as session:
                key = await create_api_key(session, "fuzz", "schemathesis")
                await session.commit()
            return key
        finally:
            await runtime.aclose()

    return asyncio.run(create())


def _seed(http: httpx.Client) -> dict[str, str]:
    wf = http.post("/api/workflows", json=workflow_body()).json()
    http.post(f"/api/workflows/{wf['id']}/publish").raise_for_status()
    http.put(f"/api/workflows/{wf['id']}", json={"name": "version two"}).raise_for_status()
    exe = http.post(f"/api/workflows/{wf['id']}/execute", json={"input_data": {"topic": "fuzz"}}).json()
    kb = http.post("/api/knowledge-bases", json={"name": "fuzz kb"}).json()
    http.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "t", "content": "hello world"}).raise_for_status()
    chat = http.post("/api/chat/sessions", json={"workflow_id": wf["id"]}).json()
    cred = http.post("/api/credentials", json={"name": "fuzz_key", "type": "secret", "value": "fuzz-secret-value"}).json()
    return {"workflow_id": wf["id"], "execution_id": exe["execution_id"], "kb_id": kb["id"], "session_id": chat["id"],
            "credential_id": cred["id"]}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_target(request, tmp_path_factory):
    """(base url, auth headers) of a fresh app on a real socket, its workspace seeded."""
    data_dir = tmp_path_factory.mktemp(f"pilot-fuzz-{request.param}") / ".pilot"
    db_name = None
    if request.param == "postgres":
        db_name, db_url = create_database()
        upgrade(db_url)
        settings = build_settings(data_dir, db_url)
    else:
        settings = build_settings(data_dir)
    try:
        headers = {"Authorization": f"Bearer {_workspace_key(settings)}"}
        started = time.monotonic()
        with serve_in_thread(create_app(settings)) as url:
            with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S) as http:
                REAL_IDS.clear()
                REAL_IDS.update(_seed(http))
            yield url, headers
        print(_summary(request.param, time.monotonic() - started))
    finally:
        REAL_IDS.clear()
        if db_name:
            drop_database(db_name)


def _summary(database: str, seconds: float) -> str:
    mine = {k: v for k, v in STATS.items() if k.startswith(f"{database} ")}
    ops = sum(1 for k in mine if k.startswith(f"{database} op "))
    statuses = ", ".join(f"{k.rsplit(' ', 1)[1]}: {v}" for k, v in sorted(mine.items()) if " status " in k)
    return f"\nfuzz[{database}]: {ops} operations, {mine.get(f'{database} requests', 0)} requests ({statuses}) in {seconds:.0f}s"


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=os.environ.get("PILOT_FUZZ_RANDOM") is None,
    deadline=timedelta(seconds=REQUEST_TIMEOUT_S),
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    database=None,
    print_blob=False,
)
def test_api_never_answers_5xx_and_conforms_to_its_schema(case, fuzz_target, request):
    url, headers = fuzz_target
    database = request.node.callspec.params.get("fuzz_target", "?")
    response = case.call(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S)
    STATS[f"{database} requests"] += 1
    STATS[f"{database} op {case.operation.label}"] += 1
    STATS[f"{database} status {response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)
