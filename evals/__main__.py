"""``python -m evals [--n8n-sample N | --no-n8n] [--json] [--misses]``: the offline pipeline's quality.

1. **Structure** (what users care about): the dev split of the structure eval — does the
   workflow built from each request have the right trigger, sources, branches with their own
   actions, and nothing unrequested (``evals/STRUCTURE.md``; blind splits are scored separately,
   once, with ``python -m evals.structure --split blind2``).
2. **n8n catalogue**: ``build_offline(title)`` against each real template's graph — node-kind F1,
   edge F1, trigger accuracy, unrequested side-effect rate, service recall (``evals/n8n.py``).
3. **Template recommendation**: top-1/top-3 on evals/data/requests.jsonl (the ranking behind
   ``/api/templates/recommend`` and the recipes), with analysis latency.
4. **Chat refinement**: the rule planner's edits (``evals/refinements.py``).
"""

from __future__ import annotations

import argparse
import json
import sys


def run(n8n_sample: int | None = None, with_n8n: bool = True) -> dict:
    from evals import n8n, structure
    from evals.refinements import run as score_refinements
    from evals.scoring import load_requests, score_requests
    from pilot.generation.offline_analyzer import default_offline_analyzer

    name, build = structure.default_builder()
    report: dict = {"structure": structure.score_cases(structure.load_cases(structure.SPLITS["dev"]), build),
                    "structure_builder": name}
    analyzer = default_offline_analyzer()
    analyzer.analyze("warm up")  # build the index before timing
    report["requests"] = score_requests(analyzer, load_requests())
    report["refinements"] = score_refinements(printer=lambda _line: None)
    if with_n8n:
        report["n8n"] = n8n.score(sample=n8n_sample)
    return report


def render(report: dict, *, misses: bool = False) -> str:
    from evals import structure

    lines = [structure.render(report["structure"], f"Structure eval: dev split, builder {report['structure_builder']}",
                              verbose=misses), ""]
    if "n8n" in report:
        from evals.n8n import render_lines as n8n_lines

        lines += [*n8n_lines(report["n8n"]), ""]
    groups = report["requests"]["groups"]
    lines.append("Template recommendation (offline analyzer; latency = analysis per request, warm / cold)")
    lines.append(f"{'set':<16}{'n':>5}{'top-1':>8}{'top-3':>8}{'p50 ms':>9}{'p95 ms':>9}{'cold p95':>10}")
    order = ["all", "en", "zh", "split:dev", "split:seen", "split:blind"]
    for key in order:
        if key in groups:
            g = groups[key]
            lines.append(f"{key:<16}{g['n']:>5}{g['top1']:>8.1%}{g['top3']:>8.1%}{g['p50_ms']:>9.2f}{g['p95_ms']:>9.2f}"
                         f"{g['cold_p95_ms']:>10.2f}")
    if "refinements" in report:
        from evals.refinements import render_lines

        lines += ["", *render_lines(report["refinements"], verbose=misses)]
    if misses:
        lines += ["", "recommendation misses:"]
        lines += [f"  {m['id']}: expected {m['expected']} got {m['got']} {m['error'] or ''} | {m['prompt']}"
                  for m in report["requests"]["misses"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description="generation quality, offline")
    parser.add_argument("--n8n-sample", type=int, default=None, help="score about N n8n templates instead of all")
    parser.add_argument("--no-n8n", action="store_true", help="skip the n8n catalog")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--misses", action="store_true", help="list what failed")
    args = parser.parse_args(argv)
    report = run(n8n_sample=args.n8n_sample, with_n8n=not args.no_n8n)
    if args.json:
        import msgspec

        print(json.dumps(msgspec.to_builtins(report), ensure_ascii=False, indent=2, default=str))
    else:
        print(render(report, misses=args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
