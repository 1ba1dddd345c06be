"""The deploy and documentation files agree with the code (they are read by people and platforms,
not imported, so nothing else would notice them drifting)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_two_commands_and_ci_run_the_same_tests():
    # --compile-bytecode: a fresh install's first start does not compile the dependencies' modules
    assert "pip install uv && uv sync --compile-bytecode && uv run pilot serve" in README
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "uv sync --frozen --compile-bytecode" in commands
    assert commands[-1] == "uv run pytest"
    assert re.search(r"^uv run pytest$", README, re.MULTILINE), "README must show the exact test command .ci/run runs"
    assert ".pilot/dev-key" in README


def test_every_setting_env_var_is_documented():
    source = (ROOT / "pilot" / "settings.py").read_text()
    names = set(re.findall(r'env\("([A-Z][A-Z0-9_]+)"\)', source))
    assert len(names) > 20
    missing = sorted(name for name in names if f"`{name}`" not in README and not re.search(rf"\b{name}\b", README))
    assert not missing, f"README configuration table lacks: {missing}"


def test_readme_keeps_the_sections_others_fill():
    for heading in ("## Generation quality (evals)", "## Engine benchmarks", "## Background runs"):
        assert heading in README


def test_railway_json():
    config = json.loads((ROOT / "railway.json").read_text())
    assert config["build"]["builder"] == "DOCKERFILE"
    deploy = config["deploy"]
    assert deploy["healthcheckPath"] == "/health"
    assert deploy["restartPolicyType"] in {"ON_FAILURE", "ALWAYS"}
    start = deploy["startCommand"]
    assert start.index("pilot db upgrade") < start.index("uvicorn pilot.app:create_app --factory")
    assert "$PORT" in start or "${PORT" in start


def test_dockerfile_is_multi_stage_non_root_and_ships_templates():
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    assert "uv sync --frozen --no-dev" in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1] not in {"root", "0"}
    assert re.search(r"^COPY .*templates", text, re.MULTILINE) and "PILOT_TEMPLATES_DIR" in text
    cmd = [line for line in text.splitlines() if line.startswith("CMD")][-1]
    assert cmd.index("pilot db upgrade") < cmd.index("uvicorn") and "PORT" in cmd
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".pilot"} <= set(ignored)
