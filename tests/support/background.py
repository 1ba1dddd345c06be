"""Real processes for background-run tests: arq workers and API servers as subprocesses.

Each test session uses its own Redis key prefix, so nothing here touches other users of the
shared Redis; throw-away ``redis-server`` instances (for outage tests) run on free ports.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"}}
    full_env.update(env)
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    # Byte-code cached outside the repository: children start in ~1 s instead of recompiling
    # every module (this environment sets PYTHONDONTWRITEBYTECODE).
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    full_env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"pilot-pycache-{os.getuid()}"))
    log_file = open(log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
    return subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)


def spawn_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """``pilot worker`` (as ``python -m pilot.cli worker``), not waited for."""
    level = env.get("PILOT_LOG_LEVEL", "INFO").lower()
    return _spawn([sys.executable, "-m", "pilot.cli", "worker", "--log-level", level], env, log_path)


def wait_worker(proc: subprocess.Popen, env: dict[str, str], log_path: Path, *, timeout: float = 60.0) -> None:
    """Wait until the worker polls its queue (its arq health-check key names this pid)."""
    client = redis.Redis.from_url(env["REDIS_URL"])
    deadline = time.monotonic() + timeout
    try:
        while not client.exists(f"{env['PILOT_REDIS_PREFIX']}:worker:{socket.gethostname()}:{proc.pid}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(f"worker did not start; log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.05)
    finally:
        client.close()


def start_worker(env: dict[str, str], log_path: Path, *, timeout: float = 60.0) -> subprocess.Popen:
    proc = spawn_worker(env, log_path)
    wait_worker(proc, env, log_path, timeout=timeout)
    return proc


def spawn_api(env: dict[str, str], log_path: Path, *, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """An API process (uvicorn serving ``pilot.app:create_app``) on ``port`` (default: a free
    one), not waited for."""
    port = port or free_port()
    proc = _spawn([sys.executable, "-m", "uvicorn", "pilot.app:create_app", "--factory", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "5",
                   "--timeout-keep-alive", "60"], env, log_path)
    return proc, f"http://127.0.0.1:{port}"


def wait_api(proc: subprocess.Popen, url: str, log_path: Path, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"API did not start; log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.05)


def start_api(env: dict[str, str], log_path: Path, *, timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    proc, url = spawn_api(env, log_path)
    wait_api(proc, url, log_path, timeout=timeout)
    return proc, url


def stop(proc: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
    """Signal the process (default SIGTERM: graceful), wait, then SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    return proc.returncode


class ThrowawayRedis:
    """A private ``redis-server`` (no persistence) on a free port, for outage tests; never 6379."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> ThrowawayRedis:
        self.proc = _spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--daemonize", "no"], {}, self.log_path)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("throw-away redis-server did not start")
            time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc, sig=signal.SIGKILL)
            self.proc = None
