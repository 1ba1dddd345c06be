"""Validation cost benchmark (a script, not a test): ``uv run python tests/bench/bench_validation.py``.

Times ``validate_data`` (decode + every check, what a save/validate request runs) on the shapes
that used to be slow, and prints p50/p95 in milliseconds:

- complete directed graphs of 10 and 12 nodes (every ordered pair joined: dense cycles);
- a chain of the maximum allowed node count, with loops nested inside it;
- 5,000 nodes in one loop body (over the node limit: rejected).

Each case runs in a child process with a time budget (``--budget``, seconds), so a case that no
longer finishes is reported as such instead of hanging the script. ``--module PATH`` times
another copy of ``pilot/workflows/validation.py`` (e.g. the original, to compare).
Options: ``--repeats N``.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pilot.workflows import validation  # noqa: E402


def complete_graph(n: int) -> dict[str, Any]:
    """input → c0, c0 … c{n-1} all joined both ways, c0 → output."""
    ids = [f"c{i}" for i in range(n)]
    nodes = [{"id": "inp", "type": "input"}]
    nodes += [{"id": i, "type": "llm", "config": {"prompt": "p"}} for i in ids]
    nodes.append({"id": "out", "type": "output", "config": {"outputs": {"a": "x"}}})
    edges = [{"id": "ei", "source": "inp", "target": "c0"}, {"id": "eo", "source": "c0", "target": "out"}]
    edges += [{"id": f"{a}-{b}", "source": a, "target": b} for a in ids for b in ids if a != b]
    return {"nodes": nodes, "edges": edges}


def chain_with_loops(total: int, *, depth: int = 3, per_body: int = 100) -> dict[str, Any]:
    """``total`` nodes in all: a top-level chain input → … → output whose middle node is a loop,
    whose body chain holds a loop, ``depth`` levels deep; each node references its predecessor."""

    def chain(prefix: str, count: int, first_ref: str | None) -> tuple[list[dict], list[dict]]:
        nodes, edges, prev = [], [], first_ref
        for i in range(count):
            nid = f"{prefix}{i}"
            prompt = f"{{{{ nodes.{prev}.output }}}}" if prev else "{{ item }}"
            nodes.append({"id": nid, "type": "llm", "config": {"prompt": prompt}})
            if i:
                edges.append({"id": f"e-{prefix}{i}", "source": f"{prefix}{i - 1}", "target": nid})
            prev = nid
        return nodes, edges

    loops = depth
    body: dict[str, Any] | None = None
    used = 0
    for d in reversed(range(depth)):
        nodes, edges = chain(f"d{d}n", per_body, None)
        if body is not None:
            nodes.append({"id": f"loop{d + 1}", "type": "loop", "config": {"items": "[1, 2]", "body": body}})
            edges.append({"id": f"e-loop{d + 1}", "source": nodes[-2]["id"], "target": f"loop{d + 1}"})
        body = {"nodes": nodes, "edges": edges}
        used += per_body
    assert body is not None
    top_count = total - used - loops - 2  # input, output, the top loop and the nested loops
    top, top_edges = chain("t", top_count, "inp")
    nodes = [{"id": "inp", "type": "input"}, *top, {"id": "loop0", "type": "loop", "config": {"items": "[1, 2]", "body": body}}]
    nodes.append({"id": "out", "type": "output", "config": {"outputs": {"a": f"{{{{ nodes.{top[-1]['id']}.output }}}}"}}})
    edges = [{"id": "e-in", "source": "inp", "target": "t0"}, *top_edges]
    edges += [{"id": "e-l0", "source": top[-1]["id"], "target": "loop0"}, {"id": "e-out", "source": "loop0", "target": "out"}]
    return {"nodes": nodes, "edges": edges}


def big_loop_body(count: int) -> dict[str, Any]:
    body_nodes = [{"id": f"b{i}", "type": "llm", "config": {"prompt": "{{ item }}"}} for i in range(count)]
    body_edges = [{"id": f"be{i}", "source": f"b{i - 1}", "target": f"b{i}"} for i in range(1, count)]
    loop = {"id": "each", "type": "loop", "config": {"items": "[1]", "body": {"nodes": body_nodes, "edges": body_edges}}}
    return {
        "nodes": [{"id": "inp", "type": "input"}, loop, {"id": "out", "type": "output", "config": {"outputs": {"a": "x"}}}],
        "edges": [{"id": "e1", "source": "inp", "target": "each"}, {"id": "e2", "source": "each", "target": "out"}],
    }


def _load(module_path: str | None):
    if not module_path:
        return validation
    spec = importlib.util.spec_from_file_location("validation_under_test", module_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _child(conn, module_path: str | None, data: dict[str, Any], repeats: int) -> None:
    module = _load(module_path)
    times, valid, codes = [], None, []
    for _ in range(repeats):
        start = time.perf_counter()
        _graph, report = module.validate_data(data)
        times.append(time.perf_counter() - start)
        valid, codes = report.valid, sorted({p.code for p in report.problems})
        conn.send(("progress", times[-1]))
    conn.send(("done", (times, valid, codes)))


def run_case(data: dict[str, Any], *, module_path: str | None, repeats: int, budget: float) -> str:
    parent, child = mp.Pipe(duplex=False)
    proc = mp.get_context("fork").Process(target=_child, args=(child, module_path, data, repeats), daemon=True)
    proc.start()
    deadline = time.monotonic() + budget
    times: list[float] = []
    result = None
    while result is None and time.monotonic() < deadline:
        if parent.poll(min(0.5, max(0.0, deadline - time.monotonic()))):
            kind, payload = parent.recv()
            if kind == "progress":
                times.append(payload)
            else:
                result = payload
    if result is None:
        proc.kill()
        proc.join()
        done = f" ({len(times)} runs finished)" if times else ""
        return f"did not finish within {budget:.0f} s{done}"
    proc.join()
    times, valid, codes = result
    ms = sorted(t * 1000 for t in times)
    p50 = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {p50:9.2f} ms   p95 {p95:9.2f} ms   (n={len(ms)}; valid={valid}; codes={','.join(codes) or '-'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--module", help="path of another validation.py to time")
    args = parser.parse_args()
    max_nodes = getattr(_load(args.module), "MAX_NODES", 1_000)
    cases = [
        ("complete graph, 10 nodes", complete_graph(10)),
        ("complete graph, 12 nodes", complete_graph(12)),
        (f"chain of {max_nodes} nodes, 3 nested loops", chain_with_loops(max_nodes)),
        ("5,000 nodes in one loop body", big_loop_body(5_000)),
    ]
    print(f"validate_data on {args.module or 'pilot/workflows/validation.py'} ({args.repeats} runs per case)")
    for name, data in cases:
        print(f"  {name:<36} {run_case(data, module_path=args.module, repeats=args.repeats, budget=args.budget)}", flush=True)


if __name__ == "__main__":
    main()
