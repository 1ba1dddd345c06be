"""Event-loop stall under hostile templates (issue 10): ``uv run python tests/bench/bench_render_stall.py``.

Starts ``pilot serve`` in its own process (SQLite, offline), then runs N workflows whose prompts
are hostile templates (nested 12,000² loops, a string doubled by ``~``, a 2,000² loop that
outputs) from separate workspaces, while another client polls ``/health`` every 10 ms. Prints
the /health latency percentiles during the attack next to a quiet baseline, and how each
hostile run ended. Before the fix one nested-loop prompt blocked the server for ~8 s.

Options: ``--runs N`` (hostile runs, default 8), ``--quiet-s`` (baseline length).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port  # noqa: E402

HOSTILE = [
    "{% for i in range(12000) %}{% for j in range(12000) %}{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set xs = [1]*2000 %}{% for a in xs %}{% for b in xs %}{{ '' }}{% endfor %}{% endfor %}",
    "{{ 'a' * 10**8 }}",
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(label: str, latencies: list[float]) -> str:
    ms = [v * 1000 for v in latencies]
    return (f"{label:22} n={len(ms):4}  p50 {_pct(ms, 0.5):7.1f} ms  p95 {_pct(ms, 0.95):7.1f} ms  "
            f"p99 {_pct(ms, 0.99):7.1f} ms  max {max(ms):7.1f} ms")


async def _poll(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    out = []
    while not stop.is_set():
        t0 = time.perf_counter()
        await client.get("/health")
        out.append(time.perf_counter() - t0)
        await asyncio.sleep(0.01)
    return out


async def _hostile_run(client: httpx.AsyncClient, template: str) -> str:
    graph = {
        "name": "hostile",
        "nodes": [
            {"id": "start", "type": "input", "config": {"fields": []}},
            {"id": "write", "type": "llm", "config": {"prompt": template}},
            {"id": "end", "type": "output", "config": {"outputs": {"v": "{{ nodes.write.output }}"}}},
        ],
        "edges": [{"id": "a", "source": "start", "target": "write"}, {"id": "b", "source": "write", "target": "end"}],
    }
    workflow = (await client.post("/api/workflows", json=graph)).json()["id"]
    execution = (await client.post(f"/api/workflows/{workflow}/execute", json={"input_data": {}})).json()["execution_id"]
    while True:
        row = (await client.get(f"/api/executions/{execution}")).json()
        if row["status"] in ("succeeded", "failed", "cancelled"):
            return f"{row['status']}: {(row.get('error') or '')[:90]}"
        await asyncio.sleep(0.05)


async def main(runs: int, quiet_s: float) -> None:
    data = tempfile.mkdtemp(prefix="pilot-stall-")
    env = {**os.environ, "PILOT_DATA_DIR": data}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    keys = []
    for i in range(runs + 1):
        made = subprocess.run([sys.executable, "-m", "pilot", "keys", "create", "--workspace", f"ws{i}"],
                              capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        keys.append(made.stdout.strip().splitlines()[-1])
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "pilot", "serve", "--port", str(port), "--log-level", "warning"],
                              env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as observer:
            for _ in range(200):
                try:
                    if (await observer.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            stop = asyncio.Event()
            poller = asyncio.create_task(_poll(observer, stop))
            await asyncio.sleep(quiet_s)
            stop.set()
            quiet = await poller
            # Clients are built before measuring: each AsyncClient loads the CA bundle (~20 ms of
            # the *bench's* event loop), which would otherwise show up as a server stall.
            clients = [httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {keys[i + 1]}"}, timeout=60)
                       for i in range(runs)]
            stop = asyncio.Event()
            poller = asyncio.create_task(_poll(observer, stop))
            t0 = time.perf_counter()
            outcomes = await asyncio.gather(*(
                _hostile_run(clients[i], HOSTILE[i % len(HOSTILE)]) for i in range(runs)
            ))
            for client in clients:
                await client.aclose()
            attack_s = time.perf_counter() - t0
            stop.set()
            attacked = await poller
    finally:
        server.terminate()
        server.wait(timeout=15)
    print(f"/health latency, server in its own process; {runs} hostile runs took {attack_s:.2f} s")
    print(_report("quiet baseline", quiet))
    print(_report("under hostile renders", attacked))
    print(f"stall ratio p99 attacked/quiet: {_pct(attacked, 0.99) / max(_pct(quiet, 0.99), 1e-9):.2f}x;"
          f" median {statistics.median(attacked) * 1000:.1f} ms")
    for template, outcome in zip(HOSTILE * runs, outcomes):
        print(f"  {template[:48]:50} → {outcome}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--quiet-s", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.quiet_s))
