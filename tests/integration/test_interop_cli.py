"""``pilot import`` / ``pilot export`` on an embedded SQLite database (in process, through click)."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from pilot.cli import main
from tests.unit.interop.helpers import FIXTURES


def test_import_then_export_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("PILOT_DATA_DIR", str(tmp_path / ".pilot"))
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "create", "--workspace", "team"]).exit_code == 0

    missing = runner.invoke(main, ["import", str(FIXTURES / "n8n_ai_agent_chat.json")])
    assert missing.exit_code == 1 and "no workspace named 'local'" in missing.output

    imported = runner.invoke(main, ["import", str(FIXTURES / "dify_translation_workflow.yml"), "--workspace", "team"])
    assert imported.exit_code == 0, imported.output
    workflow_id = imported.stdout.strip().splitlines()[-1]
    assert workflow_id.startswith("wf_")
    assert "imported dify 'translation_workflow': 8 mapped" in imported.stderr

    exported = runner.invoke(main, ["export", workflow_id, "--workspace", "team", "--format", "n8n"])
    assert exported.exit_code == 0, exported.output
    doc = json.loads(exported.stdout)
    assert doc["name"] == "translation_workflow" and len([n for n in doc["nodes"] if n["type"].endswith("chainLlm")]) == 4

    target = tmp_path / "app.yml"
    written = runner.invoke(main, ["export", workflow_id, "--workspace", "team", "--format", "dify", "-o", str(target)])
    assert written.exit_code == 0 and yaml.safe_load(target.read_text())["kind"] == "app"

    gone = runner.invoke(main, ["export", "wf_missing", "--workspace", "team"])
    assert gone.exit_code == 1 and "not found" in gone.output
