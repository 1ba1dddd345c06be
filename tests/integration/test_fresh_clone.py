"""A fresh clone works with nothing but Python and uv: ``uv sync`` then ``uv run pilot serve``.

Clones the repository's committed HEAD (uncommitted work is not part of it), installs it with
the locked dependencies, starts the server on the embedded defaults (SQLite under the clone's
data dir, migrations applied on start), reads the dev key the first start prints, and makes
authenticated requests with it — the README's quick start, end to end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY_LINE = re.compile(r"dev API key (pk_[A-Za-z0-9_-]+)")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment minus anything that would point at this checkout or real services."""
    drop = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY",
            "OPENAI_BASE_URL", "PILOT_TEMPLATES_DIR", "PORT", "HOST"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"PILOT_DATA_DIR": str(data_dir), "UV_PYTHON_DOWNLOADS": "never", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture
def clone(tmp_path) -> Path:
    if shutil.which("git") is None or shutil.which("uv") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git, uv and a git checkout")
    target = tmp_path / "pilot"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=60)
    return target


def test_readme_quick_start_in_a_fresh_clone(clone, tmp_path):
    data_dir = tmp_path / "data" / ".pilot"
    env = _clean_env(data_dir)
    sync = subprocess.run(["uv", "sync", "--frozen"], cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert sync.returncode == 0, sync.stderr[-3000:]

    port = _free_port()
    proc = subprocess.Popen(
        ["uv", "run", "--frozen", "pilot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    stdout_lines: list[str] = []
    stderr_lines: list[str] = []
    readers = [
        threading.Thread(target=lambda: stdout_lines.extend(iter(proc.stdout.readline, "")), daemon=True),
        threading.Thread(target=lambda: stderr_lines.extend(iter(proc.stderr.readline, "")), daemon=True),
    ]
    for reader in readers:
        reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    healthy = True
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert healthy, f"server did not come up (exit {proc.poll()}):\n{''.join(stderr_lines)[-3000:]}"

        keys = [m.group(1) for line in stdout_lines for m in [KEY_LINE.search(line)] if m]
        assert len(keys) == 1, f"expected one dev key line on stdout, got: {stdout_lines!r}"
        key = keys[0]
        assert (data_dir / "dev-key").read_text().strip() == key
        assert (data_dir / "pilot.db").exists()  # embedded SQLite, migrated on start

        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/api/workflows", timeout=5).status_code == 401
        listing = httpx.get(f"{base}/api/workflows", headers=headers, timeout=5)
        assert listing.status_code == 200 and listing.json()["total"] == 0
        templates = httpx.get(f"{base}/api/templates", headers=headers, timeout=5)
        assert templates.status_code == 200
        graph = {
            "name": "hello",
            "nodes": [
                {"id": "inp", "type": "input", "config": {"fields": [{"name": "q"}]}},
                {"id": "out", "type": "output", "config": {"outputs": {"q": "{{ inputs.q }}"}}},
            ],
            "edges": [{"id": "e1", "source": "inp", "target": "out"}],
        }
        created = httpx.post(f"{base}/api/workflows", json=graph, headers=headers, timeout=5)
        assert created.status_code == 201, created.text
        assert httpx.get(f"{base}/ready", timeout=5).json()["checks"]["database"] == "ok"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own session: uv and the server it started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
