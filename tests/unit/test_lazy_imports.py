"""What a cold start does not pay for: the LLM stack is imported at first use, not at app creation
(~1 s), and start-up leaves the MCP SDK, the chat stack, the template library and the offline
generator with its service table (~1.2 s together) to the first request that needs them or to the
warm-up once the server answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

LLM_STACK = ("openai", "instructor", "pilot.llm.structured", "pilot.chat.planner_llm", "pilot.generation.llm_planner")
FIRST_USE = ("mcp", "pilot.mcp.workflow_tools", "pilot.chat.service", "pilot.chat.turns",
             "pilot.generation.entities", "pilot.generation.offline_planner", "pilot.templates.catalog")

CHECK = f"""
import asyncio, json, sys
from pilot.app import create_app
from pilot.runtime import Runtime
from pilot.settings import get_settings
from pilot.startup import start_runtime, stop_runtime

create_app()
after_app = [name for name in {LLM_STACK!r} if name in sys.modules]

async def start():
    runtime = Runtime.build(get_settings())
    await start_runtime(runtime)  # what the app's lifespan runs before the first answer
    try:
        return [name for name in {FIRST_USE!r} if name in sys.modules], vars(runtime)["_templates"] is not None
    finally:
        await stop_runtime(runtime)

after_start, templates_loaded = asyncio.run(start())
print(json.dumps({{"after_app": after_app, "after_start": after_start, "templates_loaded": templates_loaded}}))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict:
    """One cold start in a fresh interpreter (no key configured, embedded SQLite)."""
    tmp_path = tmp_path_factory.mktemp("cold")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PILOT_LLM")) and k not in ("DATABASE_URL", "REDIS_URL")}
    env["PILOT_DATA_DIR"] = str(tmp_path / ".pilot")
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_create_app_without_a_key_does_not_import_the_llm_stack(loaded: dict) -> None:
    assert loaded["after_app"] == []


def test_start_up_leaves_mcp_chat_templates_and_the_generator_for_first_use(loaded: dict) -> None:
    assert loaded["after_start"] == []
    assert loaded["templates_loaded"] is False
