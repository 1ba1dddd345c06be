"""``python -m evals.interop [--n8n-dir DIR] [--dify-dir DIR] [--sample N] [--json]``: import / export
of real Dify and n8n workflows (``pilot/interop``).

Corpora. By default the two datasets of ``../shared/datasets``: the 1,480 n8n community templates
(``n8n_templates_cn/catalog.jsonl``) and the 46 Dify apps (``dify_dsl_zh/dify_dsl_graphs.jsonl``).
They keep each graph (node names, types, connections) but not the nodes' parameters, so each is
rebuilt as a minimal n8n JSON / Dify DSL document: node types and structure are exercised,
expressions and parameters are not (nodes that need a parameter, such as an HTTP request's URL,
become placeholders). With ``--n8n-dir`` / ``--dify-dir`` the full files are read instead
(``**/workflow.json`` / ``**/*.yml``), e.g. checkouts of the upstream repositories at the commits
the dataset READMEs name.

Figures per corpus:

- **import success**: documents that import into a graph the workflow validator accepts.
- **node fates**: of all source nodes (sticky notes aside), the share mapped faithfully, mapped with
  report items (``partial``: an expression kept as a marker, a setting not carried over), folded
  into another node (models, tools, no-ops, merges), kept as placeholders, or left out because no
  trigger reaches them.
- **expressions**: references / expressions of the imported steps translated into πlot references
  vs kept as markers (meaningful on full files only: the datasets hold no parameters).
- **round trip**: import → export → import keeps the node count, the edge count and the node
  types, as a share of documents, exporting to the same format and to the other one.
- median import time per document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
N8N_CATALOG = SHARED / "n8n_templates_cn" / "catalog.jsonl"
DIFY_GRAPHS = SHARED / "dify_dsl_zh" / "dify_dsl_graphs.jsonl"
FATES = ("mapped", "partial", "folded", "placeholder", "disconnected")


def _n8n_skeleton(row: dict[str, Any]) -> dict[str, Any]:
    connections: dict[str, Any] = {}
    for e in row.get("edges", []):
        outputs = connections.setdefault(e["source"], {}).setdefault(e.get("conn_type", "main"), [])
        while len(outputs) <= e.get("output_index", 0):
            outputs.append([])
        outputs[e.get("output_index", 0)].append({"node": e["target"], "type": e.get("conn_type", "main"), "index": 0})
    nodes = [{"name": n["name"], "type": n["type"], "typeVersion": 1, "parameters": {}, "position": [0, 0]} for n in row.get("nodes", [])]
    return {"name": row.get("title", "template"), "nodes": nodes, "connections": connections}


def _dify_skeleton(row: dict[str, Any]) -> dict[str, Any]:
    nodes = [{"id": n["id"], "type": "custom", "data": {"type": n["type"], "title": n.get("title", "")}} for n in row.get("nodes", [])]
    edges = [{"source": e["source"], "target": e["target"], "sourceHandle": e.get("sourceHandle") or "source"} for e in row.get("edges", [])]
    return {"app": {"name": row.get("name", "app"), "mode": row.get("mode", "workflow")}, "kind": "app",
            "workflow": {"graph": {"nodes": nodes, "edges": edges}}}


def documents(fmt: str, directory: Path | None, sample: int | None) -> Iterator[tuple[str, Any]]:
    """``(name, document)`` pairs of a corpus (full files from ``directory``, else the shared dataset)."""
    from pilot.interop.service import read_document

    if directory is not None:
        paths = sorted(directory.glob("**/workflow.json" if fmt == "n8n" else "**/*.yml"))[:sample]
        for path in paths:
            yield str(path.relative_to(directory)), read_document(path.read_text(encoding="utf-8"))
        return
    source = N8N_CATALOG if fmt == "n8n" else DIFY_GRAPHS
    if not source.exists():
        raise SystemExit(f"{source} not found: pass --{fmt}-dir with the full files")
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()][:sample]
    for row in rows:
        if row.get("nodes"):
            yield row.get("template_id") or row.get("file"), (_n8n_skeleton(row) if fmt == "n8n" else _dify_skeleton(row))


def _shape(graph: Any) -> tuple[int, int, Counter[str]]:
    from pilot.workflows.model import node_type
    from pilot.workflows.validation import count_all, iter_all_nodes

    nodes, edges = count_all(graph)
    return nodes, edges, Counter(node_type(n) for n in iter_all_nodes(graph))


def score(fmt: str, directory: Path | None = None, sample: int | None = None) -> dict[str, Any]:
    """The figures of one corpus (see the module docstring)."""
    import msgspec

    from pilot.interop.service import convert, export_graph, read_document
    from pilot.workflows.layout import apply_layout
    from pilot.workflows.validation import validate_data

    other = "dify" if fmt == "n8n" else "n8n"
    totals: Counter[str] = Counter()
    trips: dict[str, Counter[str]] = {fmt: Counter(), other: Counter()}
    times: list[float] = []
    failures: list[str] = []
    for name, doc in documents(fmt, directory, sample):
        totals["documents"] += 1
        started = time.perf_counter()
        try:
            title, description, raw, report = convert(doc, fmt)  # type: ignore[arg-type]
            graph, validation = validate_data(raw)
        except Exception as exc:  # noqa: BLE001 - counted and listed, the run goes on
            failures.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            continue
        times.append(time.perf_counter() - started)
        if graph is None or not validation.valid:
            failures.append(f"{name}: invalid: {validation.problems[0].message if validation.problems else '?'}"[:300])
            continue
        totals["imported"] += 1
        counts = report.counts
        totals["source_nodes"] += counts.source_nodes
        totals["annotations"] += counts.annotations
        for fate in FATES:
            totals[fate] += getattr(counts, fate)
        totals["translated"] += report.expressions.translated
        totals["markers"] += report.expressions.kept
        first = _shape(graph)
        laid_out = msgspec.to_builtins(apply_layout(graph))
        for target in (fmt, other):
            try:
                exported = export_graph(title, description, laid_out, target)  # type: ignore[arg-type]
                again, check = validate_data(convert(read_document(exported.content.decode()), target)[2])  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{name} → {target}: {type(exc).__name__}: {exc}"[:300])
                continue
            if again is None or not check.valid:
                continue
            second = _shape(again)
            trips[target]["nodes"] += first[0] == second[0]
            trips[target]["edges"] += first[1] == second[1]
            trips[target]["types"] += first[2] == second[2]
    imported = totals["imported"] or 1
    nodes = totals["source_nodes"] or 1
    return {
        "format": fmt, "source": str(directory) if directory else "shared dataset (graphs without parameters)",
        "documents": totals["documents"], "import_success": totals["imported"] / (totals["documents"] or 1),
        "source_nodes": totals["source_nodes"], "annotations": totals["annotations"],
        "fates": {fate: totals[fate] / nodes for fate in FATES},
        "expressions": {"translated": totals["translated"], "markers": totals["markers"],
                        "translated_share": totals["translated"] / ((totals["translated"] + totals["markers"]) or 1)},
        "round_trip": {target: {k: trips[target][k] / imported for k in ("nodes", "edges", "types")} for target in (fmt, other)},
        "import_ms_median": 1000 * statistics.median(times) if times else None,
        "failures": failures,
    }


def render(result: dict[str, Any]) -> str:
    fates = ", ".join(f"{fate} {share:.1%}" for fate, share in result["fates"].items())
    trips = "; ".join(f"→ {target}: nodes {r['nodes']:.1%}, edges {r['edges']:.1%}, types {r['types']:.1%}"
                      for target, r in result["round_trip"].items())
    lines = [f"{result['format']} ({result['source']}): {result['documents']} documents",
             f"  import success     {result['import_success']:.1%}  (median {result['import_ms_median'] or 0:.1f} ms per document)",
             f"  source nodes       {result['source_nodes']} (+{result['annotations']} sticky notes): {fates}",
             f"  expressions        {result['expressions']['translated_share']:.1%} translated ({result['expressions']['translated']}), "
             f"{result['expressions']['markers']} kept as markers (in steps that are not placeholders)",
             f"  round trip         {trips}"]
    lines += [f"  ✗ {failure}" for failure in result["failures"][:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n8n-dir", type=Path, help="directory of full n8n files (**/workflow.json)")
    parser.add_argument("--dify-dir", type=Path, help="directory of full Dify files (**/*.yml)")
    parser.add_argument("--sample", type=int, default=None, help="first N documents of each corpus")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    results = [score("n8n", args.n8n_dir, args.sample), score("dify", args.dify_dir, args.sample)]
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json else "\n".join(render(r) for r in results))
    return 0 if all(not r["failures"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
