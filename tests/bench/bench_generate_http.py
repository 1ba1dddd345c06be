"""Generation HTTP throughput: ``POST /api/workflows/generate`` over a real socket (uvicorn, one worker).

Run: ``uv run python -m tests.bench.bench_generate_http [--requests 800] [--concurrency 16]
[--root PATH]``. It starts ``pilot serve`` on a free local port with a throw-away data directory
(embedded SQLite, offline planner), sends the structure eval's dev prompts round-robin with
``save: false`` from an asyncio httpx client, and prints requests/s and latency p50/p95/p99.
``--root`` runs another checkout (e.g. the commit before a change) with the same client, so two
versions are compared side by side on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parents[2]
PROMPTS = HERE / "evals" / "data" / "structure_dev.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def load(base: str, key: str, prompts: list[str], n: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue = list(range(n))

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for p in prompts[:8]:  # warm up caches and the database
            await client.post("/api/workflows/generate", json={"prompt": p, "save": False})

        async def worker() -> None:
            nonlocal errors
            while queue:
                i = queue.pop()
                t0 = time.perf_counter()
                r = await client.post("/api/workflows/generate", json={"prompt": prompts[i % len(prompts)], "save": False})
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += r.status_code != 201

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--root", default=str(HERE), help="checkout to serve (default: this one)")
    args = parser.parse_args()
    prompts = [json.loads(x)["prompt"] for x in PROMPTS.read_text(encoding="utf-8").splitlines() if x.strip()]
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PILOT_DATA_DIR": data, "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("OPENAI_API_KEY", None)
        server = subprocess.Popen([sys.executable, "-m", "pilot.cli", "serve", "--port", str(port)], cwd=args.root, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            key_file = Path(data) / "dev-key"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if key_file.exists() and httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit("server did not start: " + (server.stdout.read() if server.stdout else ""))
            elapsed, lat, errors = asyncio.run(load(f"http://127.0.0.1:{port}", key_file.read_text().strip(), prompts,
                                                    args.requests, args.concurrency))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"{args.root}: {len(lat)} requests, concurrency {args.concurrency}: {len(lat) / elapsed:.1f} req/s, "
          f"p50 {pct(lat, 0.5):.1f} ms, p95 {pct(lat, 0.95):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, non-201 {errors}")


if __name__ == "__main__":
    main()
