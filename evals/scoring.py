"""Template recommendation scoring on the labelled requests (evals/data/requests.jsonl)."""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pilot.core.errors import PilotError

REQUESTS = Path(__file__).with_name("data") / "requests.jsonl"


def load_requests(path: Path = REQUESTS) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def _run_one(analyzer, prompt: str) -> tuple[Any, float, str | None]:
    t0 = time.perf_counter()
    try:
        bp, error = analyzer.analyze(prompt), None
    except PilotError as exc:
        bp, error = None, f"{type(exc).__name__}: {exc.detail}"
    return bp, (time.perf_counter() - t0) * 1000, error


def score_requests(analyzer, rows: list[dict], *, warm_pass: bool = True) -> dict[str, Any]:
    """Template recommendation quality: top-1 / top-3 accuracy (expected or an acceptable
    alternative) and analysis latency, overall, per language, split and tag; plus the misses.

    This measures the ranking behind ``/api/templates/recommend`` and the template recipes, not
    the workflow (the structure eval, ``python -m evals.structure``, measures that). Latency is
    measured ``cold`` (first sight of each prompt) and ``warm`` (a second pass)."""
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    misses: list[dict] = []
    first = [(row, *_run_one(analyzer, row["prompt"])) for row in rows]
    warm = [_run_one(analyzer, row["prompt"])[1] for row in rows] if warm_pass else [f[2] for f in first]
    for (row, bp, cold_ms, error), ms in zip(first, warm, strict=True):
        ok = {row["expected"], *row.get("alternatives", [])}
        top1 = bool(bp) and bp.template_id in ok
        top3 = bool(bp) and any(c.template_id in ok for c in bp.candidates[:3])
        for key in ("all", row["lang"], f"split:{row.get('split', 'dev')}", *(f"tag:{t}" for t in row.get("tags", []))):
            m = per[key]
            m["top1"].append(top1)
            m["top3"].append(top3)
            m["ms"].append(ms)
            m["cold_ms"].append(cold_ms)
        if not top1 or error:
            misses.append({"id": row["id"], "prompt": row["prompt"][:80], "expected": row["expected"],
                           "got": bp.template_id if bp else None, "error": error})
    return {"groups": {k: _summarise(v) for k, v in per.items()}, "misses": misses}


def _summarise(m: dict[str, list]) -> dict[str, float]:
    n = len(m["top1"])
    return {
        "n": n,
        "top1": sum(m["top1"]) / n,
        "top3": sum(m["top3"]) / n,
        "p50_ms": statistics.median(m["ms"]),
        "p95_ms": _pct(m["ms"], 0.95),
        "cold_p50_ms": statistics.median(m["cold_ms"]),
        "cold_p95_ms": _pct(m["cold_ms"], 0.95),
    }
