"""Benchmark: offline plan + compile latency per request (p50/p95/max), in process.

    uv run python tests/bench/bench_generation.py [--rounds 3]

Target (issue 9): offline plan + compile (validation and layout included) p95 <= 20 ms per
request. Uses the structure eval's dev requests (evals/data/structure_dev.jsonl) plus the
older template-eval prompts. The first round is "cold" (requests never seen by this
process), later rounds "warm". Also prints the template analyzer alone, which still ranks
recommendations.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evals.scoring import load_requests  # noqa: E402
from pilot.generation.compiler import compile_plan  # noqa: E402
from pilot.generation.offline_analyzer import default_offline_analyzer  # noqa: E402
from pilot.generation.offline_planner import OfflinePlanner  # noqa: E402

DEV = Path(__file__).resolve().parents[2] / "evals" / "data" / "structure_dev.jsonl"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def line(label: str, times: list[float]) -> str:
    return (f"{label:<34} n={len(times):<5} p50 {pct(times, 0.5):6.2f} ms   p95 {pct(times, 0.95):6.2f} ms   "
            f"max {max(times):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    planner = OfflinePlanner()
    analyzer = default_offline_analyzer()
    prompts = [json.loads(x)["prompt"] for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
    prompts += [r["prompt"] for r in load_requests()]
    for rnd in range(args.rounds):
        plan_compile, analyze = [], []
        for prompt in prompts:
            t0 = time.perf_counter()
            compile_plan(planner.plan(prompt))
            t1 = time.perf_counter()
            analyzer.analyze(prompt)
            t2 = time.perf_counter()
            plan_compile.append((t1 - t0) * 1000)
            analyze.append((t2 - t1) * 1000)
        tag = "cold" if rnd == 0 else f"warm {rnd}"
        print(line(f"plan + compile ({tag})", plan_compile))
        print(line(f"template analyzer ({tag})", analyze))


if __name__ == "__main__":
    main()
