"""Code-node benchmark (a script, not a test): ``uv run python tests/bench/bench_code_node.py``.

Runs a small ``main(inputs)`` through the real ``code`` node runner (a fresh sandbox process per
execution, every isolation layer this machine has) and prints, over ``--n`` executions:

- **start**: from the runner's call to the user code running inside its sandbox (the cold start
  a workflow sees: taking a pre-booted spare, sending the job, applying the job's rlimits and
  second seccomp filter, compiling the code);
- **run**: from the call to the node's output (start + the code + result transfer + parse);

in three arrival patterns:

1. ``paced``: one execution every ``--gap`` seconds (default 0.15), so the pool has refilled its
   spares between executions: the steady state of a workflow server;
2. ``back-to-back``: the next execution starts as soon as the previous one finished; after the
   spares are used up each execution waits for a sandbox to boot (bounded by boot throughput);
3. ``burst``: ``--burst`` executions at once (bounded by the pool's concurrency and the cores).

Sandboxes are forked from the zygote (:mod:`pilot.sandbox.zygote`); ``--direct`` measures the
fallback that starts a new interpreter per sandbox. Target: cold start p95 ≤ 150 ms.
Options: ``--n``, ``--gap``, ``--burst``, ``--spares``, ``--direct``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pilot.engine.nodes.code import CodeRunner, limits_of  # noqa: E402
from pilot.sandbox import pool as pool_module  # noqa: E402
from pilot.sandbox.pool import SandboxPool, shutdown_pool  # noqa: E402
from pilot.settings import Settings  # noqa: E402
from pilot.workflows.model import CodeConfig  # noqa: E402
from tests.support.node_ctx import make_ctx, services  # noqa: E402

CODE = """
import json

def main(inputs):
    rows = inputs["rows"]
    print("rows:", len(rows))
    return {"total": sum(r["v"] for r in rows), "top": max(rows, key=lambda r: r["v"])}
"""
ROWS = [{"v": i, "name": f"row {i}"} for i in range(50)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def one(limits) -> tuple[float, float]:
    """One execution through the pool the node runner uses: (start ms, run ms)."""
    t0 = time.perf_counter()
    outcome = await pool_module.get_pool().run(CODE, {"rows": ROWS}, limits)
    total = (time.perf_counter() - t0) * 1000
    assert outcome.ok and outcome.result["total"] == sum(range(50)), outcome
    return outcome.start_ms, total


async def node_once(svc) -> None:
    """One execution through the node runner itself (rendering + sandbox + output shape)."""
    ctx = make_ctx({"type": "code", "config": {"code": CODE, "inputs": {"rows": "{{ inputs.rows }}"}}}, svc,
                   scope={"inputs": {"rows": ROWS}, "nodes": {}})
    out = await CodeRunner().run(ctx)
    assert out["result"]["total"] == sum(range(50)) and out["stdout"] == "rows: 50\n"


def report(name: str, samples: list[tuple[float, float]]) -> None:
    starts, runs = [s for s, _ in samples], [r for _, r in samples]
    print(f"{name:<14} n={len(samples):<4} start p50 {statistics.median(starts):6.1f} ms  p95 {pct(starts, 0.95):6.1f} ms"
          f"   run p50 {statistics.median(runs):6.1f} ms  p95 {pct(runs, 0.95):6.1f} ms  max {max(runs):6.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.15)
    parser.add_argument("--burst", type=int, default=8)
    parser.add_argument("--spares", type=int, default=pool_module.SPARES)
    parser.add_argument("--direct", action="store_true", help="no zygote: a new interpreter per sandbox (the fallback)")
    args = parser.parse_args()
    svc = services(Settings.from_env({}))
    limits = limits_of(CodeConfig(code=CODE))
    pool = pool_module._pools[asyncio.get_running_loop()] = SandboxPool(spares=args.spares)
    if args.direct:
        pool._zygote_error = "--direct"
    t0 = time.perf_counter()
    await pool.warm()
    print(f"first spare booted in {(time.perf_counter() - t0) * 1000:.0f} ms; layers: {', '.join(pool.layers)}"
          + (f"; missing: {', '.join(pool.missing)}" if pool.missing else ""))
    await node_once(svc)
    await asyncio.sleep(1.0)

    paced = []
    for _ in range(args.n):
        paced.append(await one(limits))
        await asyncio.sleep(args.gap)
    report("paced", paced)

    await asyncio.sleep(1.0)
    back = [await one(limits) for _ in range(args.n)]
    report("back-to-back", back)

    await asyncio.sleep(1.0)
    burst = []
    for _ in range(max(1, args.n // args.burst)):
        burst += await asyncio.gather(*(one(limits) for _ in range(args.burst)))
        await asyncio.sleep(1.0)
    report(f"burst of {args.burst}", burst)
    await shutdown_pool()


if __name__ == "__main__":
    asyncio.run(main())
