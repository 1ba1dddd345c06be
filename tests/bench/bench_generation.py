"""Benchmark: offline analyze and analyze+generate latency per request (p50/p95/max), in process.

    uv run python tests/bench/bench_generation.py [--rounds 3]

Targets (issue 3): analyze < 5 ms per prompt, p95 analyze+generate < 20 ms. Uses the
labelled eval prompts (evals/data/requests.jsonl). The first round is reported separately
("cold": prompts never seen by this process) from the later rounds ("warm").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evals.scoring import load_requests
from pilot.generation.generator import WorkflowGenerator
from pilot.generation.offline_analyzer import default_offline_analyzer
from pilot.templates.catalog import default_catalog


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    t0 = time.perf_counter()
    analyzer = default_offline_analyzer()
    generator = WorkflowGenerator(default_catalog())
    print(f"index build (catalog load + index): {(time.perf_counter() - t0) * 1000:.1f} ms")
    prompts = [r["prompt"] for r in load_requests()]
    for rnd in range(args.rounds):
        analyze_ms, total_ms = [], []
        for p in prompts:
            a = time.perf_counter()
            bp = analyzer.analyze(p)
            b = time.perf_counter()
            generator.generate(bp, p)
            c = time.perf_counter()
            analyze_ms.append((b - a) * 1000)
            total_ms.append((c - a) * 1000)
        label = "cold" if rnd == 0 else f"warm{rnd}"
        print(f"{label:>6}: analyze p50 {statistics.median(analyze_ms):.2f} ms  p95 {pct(analyze_ms, .95):.2f} ms  "
              f"mean {statistics.fmean(analyze_ms):.2f} ms | analyze+generate p50 {statistics.median(total_ms):.2f} ms  "
              f"p95 {pct(total_ms, .95):.2f} ms  max {max(total_ms):.2f} ms  (n={len(prompts)})")


if __name__ == "__main__":
    main()
