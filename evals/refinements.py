"""Refinement eval: start workflow + chat instruction → expected minimal edit.

Each line of ``evals/data/refinements.jsonl``::

    {"id": "r001", "lang": "en", "category": "add", "start": {"template": "translation"} | {"prompt": "..."},
     "instruction": "also email me the result",
     "expect": {"add": ["tool:email"], "remove": [...], "update": {"<node id>|@llm": {"config.model": "gpt-4o"}},
                "may_update": ["start" | "@input" | "@any"], "wrapped": [...], "node_fields": {...},
                "settings": {"schedule": "0 9 * * 1"}, "feeds": {"wait": ["send_email"]}, "unchanged": false}}

A turn passes when the edited workflow is valid, exactly the expected node types were added,
exactly the expected nodes removed, every expected field has its expected value, no other
node changed (beyond ``may_update``), settings changed only as expected, and the new node of
each ``feeds`` kind leads straight into the listed nodes (where a step was put). ``unchanged``
turns pass when the planner changes nothing *and* says why (an honest reply).

``split``: "dev" turns were written while building the planner; "blind" turns were written
afterwards without running them first (the planner then scored 10/15 on them, before the
fixes they prompted), so the dev figure overstates accuracy on unseen phrasing.

Run on its own: ``python -m evals.refinements [-v]``; the evals runner calls :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import msgspec

from pilot.chat.planner_rules import plan_edits
from pilot.workflows.model import LlmNode, LoopNode, WorkflowGraph
from pilot.workflows.validation import iter_all_nodes, validate_graph

DATA = Path(__file__).parent / "data" / "refinements.jsonl"


def load_cases(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def start_graph(start: dict[str, Any]) -> WorkflowGraph:
    """The workflow a turn starts from: a template with default parameters, or a generated one."""
    if "template" in start:
        from pilot.templates.catalog import default_catalog

        return default_catalog().instantiate(start["template"])
    from pilot.chat.generate import generate_offline

    return generate_offline(start["prompt"])[1]


def _flat(graph: WorkflowGraph) -> dict[str, dict[str, Any]]:
    """Every node (loop bodies included) as builtins without position; loops without their body."""
    out = {}
    for node in iter_all_nodes(graph):
        data = msgspec.to_builtins(node)
        data.pop("position", None)
        if isinstance(node, LoopNode):
            data["config"].pop("body", None)
        out[node.id] = data
    return out


def _kind(data: dict[str, Any]) -> str:
    return f"tool:{data['config'].get('tool')}" if data["type"] == "tool" else data["type"]


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and set(expected) == {"contains"}:
        return isinstance(actual, str) and expected["contains"] in actual
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return abs(actual - expected) < 1e-9
    return actual == expected


def check(case: dict[str, Any], old: WorkflowGraph, new: WorkflowGraph | None, problems: list[str]) -> list[str]:
    """Why the turn failed ([] = passed)."""
    expect = case["expect"]
    if expect.get("unchanged"):
        if new is not None:
            return ["expected no change, but the workflow was edited"]
        return [] if problems else ["expected an honest explanation of why nothing changed"]
    if new is None:
        return ["no edit was made" + (f" ({problems[0]})" if problems else "")]
    report = validate_graph(new)
    if not report.valid:
        return [f"invalid result: {report.problems[0].message}"]
    before, after = _flat(old), _flat(new)
    added = [nid for nid in after if nid not in before]
    removed = sorted(nid for nid in before if nid not in after)
    why: list[str] = []
    if Counter(_kind(after[n]) for n in added) != Counter(expect.get("add", [])):
        why.append(f"added {[_kind(after[n]) for n in added]}, expected {expect.get('add', [])}")
    if removed != sorted(expect.get("remove", [])):
        why.append(f"removed {removed}, expected {sorted(expect.get('remove', []))}")
    input_ids = {nid for nid, d in before.items() if d["type"] == "input"}
    llm_ids = {n.id for n in iter_all_nodes(new) if isinstance(n, LlmNode)}
    allowed: set[str] = set(expect.get("wrapped", []))
    for name in [*expect.get("update", {}), *expect.get("may_update", [])]:
        allowed |= {"@input": input_ids, "@llm": llm_ids}.get(name, {name})
    changed = {nid for nid in before if nid in after and before[nid] != after[nid]}
    if "@any" not in allowed and changed - allowed:
        why.append(f"also changed {sorted(changed - allowed)}")
    for name, fields in expect.get("update", {}).items():
        for nid in sorted(llm_ids) if name == "@llm" else [name]:
            for path, value in fields.items():
                if nid not in after or not _matches(_get(after[nid], path), value):
                    why.append(f"{nid}.{path} = {_get(after.get(nid, {}), path)!r}, expected {value!r}")
    for kind, fields in expect.get("node_fields", {}).items():
        nodes = [after[n] for n in added if _kind(after[n]) == kind]
        for path, value in fields.items():
            if not nodes or not _matches(_get(nodes[0], path), value):
                why.append(f"new {kind} {path} = {_get(nodes[0], path) if nodes else None!r}, expected {value!r}")
    for kind, targets in expect.get("feeds", {}).items():
        nodes = [n for n in added if _kind(after[n]) == kind]
        into = {e.target for e in new.edges if nodes and e.source == nodes[0]}
        if not set(targets) <= into:
            why.append(f"new {kind} leads into {sorted(into)}, expected {targets}")
    if expect.get("wrapped"):
        loops = [n for n in iter_all_nodes(new) if isinstance(n, LoopNode) and n.id in added]
        inside = {b.id for loop in loops for b in loop.config.body.nodes}
        if not set(expect["wrapped"]) <= inside:
            why.append(f"expected {expect['wrapped']} inside the new loop, found {sorted(inside)}")
    old_settings, new_settings = msgspec.to_builtins(old.settings), msgspec.to_builtins(new.settings)
    for key in set(old_settings) | set(new_settings):
        want = expect.get("settings", {}).get(key, old_settings.get(key)) if key in expect.get("settings", {}) else old_settings.get(key)
        if new_settings.get(key) != want:
            why.append(f"settings.{key} = {new_settings.get(key)!r}, expected {want!r}")
    return why


def run(*, verbose: bool = False, path: Path = DATA, printer=print) -> dict[str, Any]:
    """Score the rule-based planner on the dataset and print a summary; returns the figures."""
    cases = load_cases(path)
    results: list[tuple[dict[str, Any], list[str]]] = []
    latencies: list[float] = []
    skipped = 0
    for case in cases:
        try:
            old = start_graph(case["start"])
        except ImportError:
            skipped += 1
            continue
        t0 = time.perf_counter()
        plan = plan_edits(case["instruction"], old)
        latencies.append((time.perf_counter() - t0) * 1000)
        problems = [p.en for p in plan.problems]
        results.append((case, check(case, old, plan.graph, problems)))
    passed = sum(1 for _, why in results if not why)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    by_cat: dict[str, list[bool]] = defaultdict(list)
    by_split: dict[str, list[bool]] = defaultdict(list)
    for case, why in results:
        by_lang[case["lang"]].append(not why)
        by_cat[case["category"]].append(not why)
        by_split[case.get("split", "dev")].append(not why)
    pct = lambda xs: 100.0 * sum(xs) / len(xs) if xs else 0.0
    latencies.sort()
    figures = {
        "turns": len(results),
        "skipped": skipped,
        "accuracy": pct([not why for _, why in results]),
        "by_language": {k: pct(v) for k, v in sorted(by_lang.items())},
        "by_category": {k: pct(v) for k, v in sorted(by_cat.items())},
        "by_split": {k: pct(v) for k, v in sorted(by_split.items())},
        "p95_plan_ms": latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
    }
    figures["passed"] = passed
    figures["failures"] = [{"id": case["id"], "instruction": case["instruction"], "why": why} for case, why in results if why]
    for line in render_lines(figures, verbose=verbose):
        printer(line)
    return figures


def render_lines(figures: dict[str, Any], *, verbose: bool = False) -> list[str]:
    """The summary the evals runner prints (``figures`` as returned by :func:`run`)."""
    lines = [f"Chat refinements (rule-based planner): {figures['passed']}/{figures['turns']} turns correct = "
             f"{figures['accuracy']:.1f}%" + (f" ({figures['skipped']} skipped: generator unavailable)" if figures["skipped"] else "")]
    lines.append("  by language: " + ", ".join(f"{k} {v:.1f}%" for k, v in figures["by_language"].items()))
    lines.append("  by split: " + ", ".join(f"{k} {v:.1f}%" for k, v in figures["by_split"].items()))
    lines.append("  by category: " + ", ".join(f"{k} {v:.0f}%" for k, v in figures["by_category"].items()))
    lines.append(f"  p95 plan+apply latency: {figures['p95_plan_ms']:.2f} ms")
    if verbose:
        lines += [f"  FAIL {f['id']} {f['instruction']!r}: {'; '.join(f['why'])}" for f in figures["failures"]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Score the chat refinement planner")
    parser.add_argument("-v", "--verbose", action="store_true", help="list failing turns with reasons")
    args = parser.parse_args()
    run(verbose=args.verbose)


if __name__ == "__main__":
    main()
