"""``python -m evals [--n8n-sample N | --no-n8n] [--json] [--misses]``: the offline pipeline's quality.

Prints template top-1/top-3 accuracy, required-node-type recall, validity and p50/p95
analyze+generate latency on evals/data/requests.jsonl (overall, per language, per tag), and
structure against the n8n catalog: ``build_offline(title)`` vs each template's graph — node-kind
F1, edge F1, trigger accuracy, unrequested side-effect rate, service recall (evals/n8n.py; all
~1,480 titles by default, ``--n8n-sample 300`` for speed).
"""

from __future__ import annotations

import argparse
import json
import sys


def run(n8n_sample: int | None = None, with_n8n: bool = True) -> dict:
    from evals import n8n
    from evals.scoring import load_requests, score_requests
    from pilot.generation.generator import WorkflowGenerator
    from pilot.generation.offline_analyzer import default_offline_analyzer
    from pilot.templates.catalog import default_catalog

    analyzer = default_offline_analyzer()
    generator = WorkflowGenerator(default_catalog())
    analyzer.analyze("warm up")  # build the index before timing
    report = {"requests": score_requests(analyzer, generator, load_requests())}
    from evals.refinements import run as score_refinements  # chat refinement turns (issue 6)

    report["refinements"] = score_refinements(printer=lambda _line: None)
    if with_n8n:
        report["n8n"] = n8n.score(sample=n8n_sample)
    return report


def render(report: dict, *, misses: bool = False) -> str:
    lines = ["Generation quality (offline analyzer + generator)", ""]
    groups = report["requests"]["groups"]
    lines.append("latency = analyze + generate (incl. validation + layout) per request, in process;")
    lines.append("warm = second pass (steady state of a server), cold = first sight of each prompt")
    lines.append(f"{'set':<16}{'n':>5}{'top-1':>8}{'top-3':>8}{'recall':>8}{'valid':>8}{'p50 ms':>9}{'p95 ms':>9}"
                 f"{'cold p50':>10}{'cold p95':>10}")
    order = ["all", "en", "zh", "split:dev", "split:seen", "split:blind", *sorted(k for k in groups if k.startswith("tag:"))]
    for key in order:
        if key in groups:
            g = groups[key]
            lines.append(f"{key:<16}{g['n']:>5}{g['top1']:>8.1%}{g['top3']:>8.1%}{g['recall']:>8.1%}{g['valid']:>8.1%}"
                         f"{g['p50_ms']:>9.2f}{g['p95_ms']:>9.2f}{g['cold_p50_ms']:>10.2f}{g['cold_p95_ms']:>10.2f}")
    if "n8n" in report:
        from evals.n8n import render_lines as n8n_lines

        lines += ["", *n8n_lines(report["n8n"])]
    if "refinements" in report:
        from evals.refinements import render_lines

        lines += ["", *render_lines(report["refinements"], verbose=misses)]
    if misses:
        lines += ["", "misses:"]
        lines += [f"  {m['id']}: expected {m['expected']} got {m['got']} missing {m['missing_types']} "
                  f"{m['error'] or ''} | {m['prompt']}" for m in report["requests"]["misses"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    parser.add_argument("--n8n-sample", type=int, default=None, help="score about N n8n templates instead of all")
    parser.add_argument("--no-n8n", action="store_true", help="skip the n8n catalog")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--misses", action="store_true", help="list the requests that missed")
    args = parser.parse_args(argv)
    report = run(args.n8n_sample, not args.no_n8n)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else render(report, misses=args.misses))
    return 0 if report["requests"]["groups"]["all"]["valid"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
