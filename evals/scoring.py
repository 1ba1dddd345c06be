"""Scoring of the generation pipeline on the labelled requests and the n8n catalog."""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals import n8n
from pilot.core.errors import PilotError
from pilot.workflows.model import LoopNode, node_type
from pilot.workflows.validation import validate_graph

REQUESTS = Path(__file__).with_name("data") / "requests.jsonl"


def graph_types(graph) -> set[str]:
    out: set[str] = set()
    stack = list(graph.nodes)
    while stack:
        node = stack.pop()
        out.add(node_type(node))
        if isinstance(node, LoopNode):
            stack.extend(node.config.body.nodes)
    return out


def load_requests(path: Path = REQUESTS) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def _run_one(analyzer, generator, prompt: str) -> tuple[Any, Any, float, str | None]:
    t0 = time.perf_counter()
    try:
        bp = analyzer.analyze(prompt)
        graph = generator.generate(bp, prompt)
        error = None if validate_graph(graph).valid else "invalid graph"
    except PilotError as exc:
        bp, graph, error = None, None, f"{type(exc).__name__}: {exc.detail}"
    return bp, graph, (time.perf_counter() - t0) * 1000, error


def score_requests(analyzer, generator, rows: list[dict], *, warm_pass: bool = True) -> dict[str, Any]:
    """top-1 / top-3 accuracy (expected or an acceptable alternative), required-type recall,
    validity and latency, overall, per language and per tag; plus the misses for inspection.

    Latency is measured twice: ``cold`` on the first pass (the process has never seen these
    prompts: jinja2 parse caches for the new prompt text are empty) and ``warm`` on a second
    pass over the same prompts (a long-running server's steady state)."""
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    misses: list[dict] = []
    first = [(row, *_run_one(analyzer, generator, row["prompt"])) for row in rows]
    warm = [_run_one(analyzer, generator, row["prompt"])[2] for row in rows] if warm_pass else [f[3] for f in first]
    for (row, bp, graph, cold_ms, error), ms in zip(first, warm, strict=True):
        ok = {row["expected"], *row.get("alternatives", [])}
        top1 = bool(bp) and bp.template_id in ok
        top3 = bool(bp) and any(c.template_id in ok for c in bp.candidates[:3])
        types = graph_types(graph) if graph is not None else set()
        required = set(row.get("required_types", []))
        for key in ("all", row["lang"], f"split:{row.get('split', 'dev')}", *(f"tag:{t}" for t in row.get("tags", []))):
            m = per[key]
            m["top1"].append(top1)
            m["top3"].append(top3)
            m["req_hit"].append(len(required & types))
            m["req_total"].append(len(required))
            m["valid"].append(error is None)
            m["ms"].append(ms)
            m["cold_ms"].append(cold_ms)
        if not top1 or error or not required <= types:
            misses.append({"id": row["id"], "prompt": row["prompt"][:80], "expected": row["expected"],
                           "got": bp.template_id if bp else None, "missing_types": sorted(required - types), "error": error})
    return {"groups": {k: _summarise(v) for k, v in per.items()}, "misses": misses}


def _summarise(m: dict[str, list]) -> dict[str, float]:
    n = len(m["top1"])
    return {
        "n": n,
        "top1": sum(m["top1"]) / n,
        "top3": sum(m["top3"]) / n,
        "recall": (sum(m["req_hit"]) / sum(m["req_total"])) if sum(m["req_total"]) else 1.0,
        "valid": sum(m["valid"]) / n,
        "p50_ms": statistics.median(m["ms"]),
        "p95_ms": _pct(m["ms"], 0.95),
        "cold_p50_ms": statistics.median(m["cold_ms"]),
        "cold_p95_ms": _pct(m["cold_ms"], 0.95),
    }


def score_n8n(analyzer, generator, *, sample: int | None = None) -> dict[str, Any]:
    """Mean node-type F1 (functional types) of workflows generated from n8n template titles."""
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    if not n8n.DATASET.exists():
        return {"groups": {}, "skipped": f"{n8n.DATASET} not found"}
    for row in n8n.load(sample=sample):
        _, graph, ms, error = _run_one(analyzer, generator, row["title"])
        predicted = (graph_types(graph) & set(n8n.FUNCTIONAL)) if graph is not None else set()
        score = n8n.f1(predicted, row["expected"])
        for key in ("all", row["lang"]):
            per[key]["f1"].append(score)
            per[key]["valid"].append(error is None)
            per[key]["ms"].append(ms)
    return {"groups": {k: {"n": len(v["f1"]), "f1": statistics.fmean(v["f1"]), "valid": sum(v["valid"]) / len(v["valid"]),
                           "p50_ms": statistics.median(v["ms"]), "p95_ms": _pct(v["ms"], 0.95)} for k, v in per.items()}}
