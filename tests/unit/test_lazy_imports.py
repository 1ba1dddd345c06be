"""The LLM stack is imported at first use, not at app creation (a cold start would pay ~1 s for it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

LLM_STACK = ("openai", "instructor", "pilot.llm.structured", "pilot.chat.planner_llm", "pilot.generation.llm_planner")

CHECK = f"""
import json, sys
from pilot.app import create_app
create_app()
print(json.dumps([name for name in {LLM_STACK!r} if name in sys.modules]))
"""


def test_create_app_without_a_key_does_not_import_the_llm_stack(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PILOT_LLM"))}
    env["PILOT_DATA_DIR"] = str(tmp_path / ".pilot")
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
