"""The ``pilot`` command line, run as a real process (``python -m pilot``) where it touches a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pilot.cli import main
from tests.support.workflows import cyclic_graph, fan_out_graph, linear_graph

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pilot", *args], capture_output=True, text=True, env=full_env, cwd=ROOT,
                          timeout=60, check=False, input=input)


def test_validate_accepts_json_and_yaml(tmp_path):
    (tmp_path / "wf.json").write_text(json.dumps({"name": "stored workflow", **linear_graph()}))
    (tmp_path / "wf.yaml").write_text(yaml.safe_dump(fan_out_graph()))
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(tmp_path / "wf.json")])
    assert result.exit_code == 0, result.output
    assert "is valid: 3 nodes, 2 edges" in result.output
    result = runner.invoke(main, ["validate", str(tmp_path / "wf.yaml")])
    assert result.exit_code == 0, result.output
    assert "[inp] → [a, b] → [out]" in result.output


def test_validate_reports_problems_and_exits_1(tmp_path):
    graph = cyclic_graph()
    graph["nodes"].append({"id": "ghost", "type": "hologram"})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(graph))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 1
    assert "is invalid (2 problems)" in result.output
    assert "[cycle]" in result.output
    assert "write → check → write" in result.output or "check → write → check" in result.output
    assert "[unknown_node_type]" in result.output and "nodes: ghost" in result.output


@pytest.mark.parametrize("content", ["nodes: [", "{\"nodes\": ", "just text"])
def test_validate_unparsable_or_shapeless_file_exits_1(tmp_path, content):
    path = tmp_path / ("f.json" if content.startswith("{") else "f.yaml")
    path.write_text(content)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "✗" in result.output


def test_validate_template_files():
    result = CliRunner().invoke(main, ["validate", str(ROOT / "templates" / "rag_qa.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid template 'rag_qa'" in result.output


def test_validate_missing_file_is_a_usage_error():
    result = CliRunner().invoke(main, ["validate", "/nonexistent/wf.yaml"])
    assert result.exit_code == 2


def test_templates_list():
    result = CliRunner().invoke(main, ["templates", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    ids = {row["id"] for row in rows}
    assert {"customer_support", "rag_qa", "scheduled_digest", "tool_agent"} <= ids
    assert len(rows) >= 14
    assert all(row["nodes"] >= 2 for row in rows)
    text = CliRunner().invoke(main, ["templates", "list", "--lang", "zh"])
    assert text.exit_code == 0
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text.output)


def test_db_upgrade_and_keys_create(tmp_path):
    env = {"PILOT_DATA_DIR": str(tmp_path / ".pilot")}
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / ".pilot" / "pilot.db").exists()
    created = run_cli("keys", "create", "--workspace", "acme", "--name", "ci", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("pk_") and "\n" not in key  # stdout holds only the key, for scripts
    assert "workspace 'acme'" in created.stderr

    import asyncio

    from pilot.auth.service import authenticate
    from pilot.runtime import Runtime
    from pilot.settings import Settings

    async def check() -> str:
        runtime = Runtime.build(Settings.from_env(env))
        try:
            async with runtime.sessions() as session:
                return (await authenticate(session, key)).name
        finally:
            await runtime.aclose()

    assert asyncio.run(check()) == "acme"

    guest = run_cli("keys", "create", "--workspace", "acme", "--name", "viewer", "--role", "guest", env=env)
    assert guest.returncode == 0 and "(guest)" in guest.stderr, guest.stderr

    async def role_of(raw: str) -> str:
        from pilot.auth.identity import key_principal

        runtime = Runtime.build(Settings.from_env(env))
        try:
            async with runtime.sessions() as session:
                return (await key_principal(session, raw)).role
        finally:
            await runtime.aclose()

    assert asyncio.run(role_of(key)) == "admin"  # the default: what every key could do before roles
    assert asyncio.run(role_of(guest.stdout.strip())) == "guest"


def test_domain_commands_are_loaded_lazily(monkeypatch):
    from pilot import cli

    monkeypatch.setitem(cli.DOMAIN_COMMANDS, "hello", "tests.integration.test_cli:_hello")
    result = CliRunner().invoke(main, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a domain\n"
    assert "hello" in CliRunner().invoke(main, ["--help"]).output


import click


@click.command()
def _hello() -> None:
    click.echo("hello from a domain")


def test_keys_create_on_an_unmigrated_database_says_what_to_do():
    from tests.support.db import create_database, drop_database

    name, url = create_database()
    try:
        result = run_cli("keys", "create", "--workspace", "acme", env={"DATABASE_URL": url})
    finally:
        drop_database(name)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "run `pilot db upgrade`" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_unreachable_database_hides_the_password():
    result = run_cli("db", "upgrade", env={"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert "cannot migrate" in result.stderr and "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_workspace_limits_are_set_by_the_operator(tmp_path):
    env = {"PILOT_DATA_DIR": str(tmp_path / ".pilot"), "PILOT_RUN_MAX_EVENTS": "5000"}
    assert run_cli("keys", "create", "--workspace", "acme", env=env).returncode == 0
    shown = run_cli("workspaces", "limits", "acme", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "max_events                 5000  (default)" in shown.stdout
    changed = run_cli("workspaces", "limits", "acme", "--max-node-runs", "50", "--max-events", "0", env=env)
    assert changed.returncode == 0, changed.stderr
    assert "max_node_runs                50  (workspace)" in changed.stdout
    assert "max_events            unlimited  (workspace)" in changed.stdout
    reset = run_cli("workspaces", "limits", "acme", "--reset", env=env)
    assert "max_node_runs             10000  (default)" in reset.stdout
    missing = run_cli("workspaces", "limits", "nobody", env=env)
    assert missing.returncode != 0 and "no workspace named 'nobody'" in missing.stderr
