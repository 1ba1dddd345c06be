"""Cold start: from launching ``pilot serve`` to the first 200 on ``/health``.

    uv run python -m tests.bench.bench_cold_start [--runs 5] [--fresh [--without-bytecode]] [--uv-run]

Each run starts ``pilot serve`` on the embedded defaults (SQLite in a new temporary data dir, so
migrations run and the dev key is created as on a first start) on a free port, polls ``/health``
every 10 ms and stops the server at the first 200. The server runs with
``PYTHONDONTWRITEBYTECODE=1``, so every run sees only the bytecode the install wrote (a run
cannot warm the next one's cache).

- default: the current virtual environment;
- ``--fresh``: a new environment made by ``uv sync --frozen --compile-bytecode`` into a temporary
  ``UV_PROJECT_ENVIRONMENT`` (what the README's quick start does), timed too. πlot itself is
  installed editable, so uv does not compile it: the server uses the checkout's own bytecode —
  none in a fresh clone, where every run compiles πlot's modules as a first start does (the
  count is printed);
- ``--without-bytecode`` (with ``--fresh``): then deletes the environment's ``__pycache__``
  directories and measures again — a fresh install as it was before precompiling;
- ``--uv-run``: also start it as the README does, ``uv run --frozen pilot serve`` (uv's own start-up
  and environment check included).

Prints min/median seconds per case and the target: first 200 in ≤ 2.5 s on a fresh install.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 2.5


def _server_env(data_dir: Path, venv: Path) -> dict[str, str]:
    drop = {"DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "PORT", "HOST", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"PILOT_DATA_DIR": str(data_dir), "PYTHONDONTWRITEBYTECODE": "1", "VIRTUAL_ENV": str(venv),
                "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"})
    return env


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int, children: bool) -> float:
    """CPU (user + system) of process ``pid`` so far, plus its exited children's, plus (with
    ``children``: ``uv run``'s python) its running children's. Linux /proc; NaN elsewhere."""
    fields = _stat(pid)
    if fields is None:
        return float("nan")
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    if children:
        for entry in Path("/proc").iterdir():
            child = _stat(int(entry.name)) if entry.name.isdigit() else None
            if child is not None and child[1] == str(pid):
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def first_200(venv: Path, uv_run: bool = False) -> tuple[float, float]:
    """Seconds from launching ``pilot serve`` to the first 200 on /health, and the server's CPU
    seconds by then (about the wall time on an idle machine: start-up is mostly one thread)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pilot-cold-") as tmp:
        env = _server_env(Path(tmp) / ".pilot", venv)
        url = f"http://127.0.0.1:{port}/health"
        started = time.perf_counter()
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        command = (["uv", "run", "--quiet", "--frozen", "--project", str(ROOT), "pilot", *serve] if uv_run
                   else [str(venv / "bin" / "pilot"), *serve])
        # start_new_session: the signal reaches uv's child too (uv run forwards it, the group gets it anyway)
        server = subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True)
        try:
            with httpx.Client(timeout=1.0) as http:
                while True:
                    try:
                        if http.get(url).status_code == 200:
                            return time.perf_counter() - started, cpu_seconds(server.pid, uv_run)
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None:
                        raise SystemExit(f"pilot serve exited: {server.stderr.read().decode()[-2000:]}")
                    if time.perf_counter() - started > 120:
                        raise SystemExit("pilot serve did not answer /health within 120 s")
                    time.sleep(0.01)
        finally:
            try:
                os.killpg(server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # it exited by itself (reported above)
            server.wait(timeout=30)


def measure(label: str, venv: Path, runs: int, uv_run: bool = False) -> list[float]:
    """Print and return the wall seconds of ``runs`` cold starts (their CPU seconds printed too)."""
    results = [first_200(venv, uv_run) for _ in range(runs)]
    times = [wall for wall, _ in results]
    cpu = [c for _, c in results]
    listed = ", ".join(f"{t:.2f}" for t in times)
    print(f"{label:<32} wall min {min(times):5.2f} s median {statistics.median(times):5.2f} s [{listed}]; "
          f"server CPU min {min(cpu):.2f} s median {statistics.median(cpu):.2f} s")
    return times


def pyc_count(venv: Path) -> int:
    return sum(1 for _ in venv.rglob("*.pyc"))


def fresh_venv(parent: Path) -> Path:
    """``uv sync --frozen --compile-bytecode`` (the README's install) into a new environment; returns its path."""
    venv = parent / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV"}}
    env.update({"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"})
    started = time.perf_counter()
    subprocess.run(["uv", "sync", "--frozen", "--compile-bytecode", "--quiet"], cwd=ROOT, env=env, check=True,
                   timeout=900)
    print(f"uv sync --frozen --compile-bytecode into a new environment: {time.perf_counter() - started:.1f} s, "
          f"{pyc_count(venv)} .pyc files written")
    return venv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="measure a new environment made by uv sync")
    parser.add_argument("--without-bytecode", action="store_true",
                        help="with --fresh: also measure it after deleting its __pycache__ directories")
    parser.add_argument("--uv-run", action="store_true", help="also measure `uv run --frozen pilot serve`")
    args = parser.parse_args()
    if args.uv_run and shutil.which("uv") is None:
        raise SystemExit("--uv-run needs uv on PATH")
    print(f"pilot serve → first 200 on /health, {args.runs} runs per case (PYTHONDONTWRITEBYTECODE=1 in the server)")
    if not args.fresh:
        venv = Path(sys.prefix)
        times = measure(f"current venv ({pyc_count(venv)} .pyc)", venv, args.runs)
        if args.uv_run:
            measure("current venv, via uv run", venv, args.runs, uv_run=True)
    else:
        if shutil.which("uv") is None:
            raise SystemExit("--fresh needs uv on PATH")
        with tempfile.TemporaryDirectory(prefix="pilot-venv-") as tmp:
            venv = fresh_venv(Path(tmp))
            print(f"πlot's own bytecode in the checkout: {pyc_count(ROOT / 'pilot')} .pyc files")
            times = measure("fresh install", venv, args.runs)
            if args.uv_run:
                measure("fresh install, via uv run", venv, args.runs, uv_run=True)
            if args.without_bytecode:
                for cache in list(venv.rglob("__pycache__")):
                    shutil.rmtree(cache)
                measure("fresh install without bytecode", venv, args.runs)
    verdict = "met" if statistics.median(times) <= TARGET_S else "MISSED"
    print(f"target: first 200 in <= {TARGET_S:g} s on a fresh install: {verdict} "
          f"(median {statistics.median(times):.2f} s{'' if args.fresh else ', current venv; use --fresh'})")


if __name__ == "__main__":
    main()
