"""Structure eval: does the compiled workflow do what the request describes? (evals/STRUCTURE.md)

``python -m evals.structure [--split dev|blind|FILE] [-v] [--json]`` scores the offline builder;
``python -m evals.structure --lint FILE`` checks a case file and exits 1 on problems.

API: :func:`load_cases` / :func:`lint` / :func:`lint_file` (the case format: msgspec Structs,
strict about keys), :func:`score_graph` (one graph against one ``expect`` → :class:`Verdict`;
implemented in :mod:`evals.structure_graph`) and :func:`score_cases` (a builder over many
cases → :class:`Report`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct, field

from evals.structure_graph import Check, Verdict, score_graph
from pilot.workflows.model import TRIGGER_KINDS, WorkflowGraph

__all__ = ["Case", "CaseFormatError", "Check", "Expect", "Report", "Step", "Verdict", "lint", "lint_file",
           "load_cases", "score_cases", "score_graph"]

DATA = Path(__file__).with_name("data")
SPLITS = {"dev": DATA / "structure_dev.jsonl", "dev2": DATA / "structure_dev2.jsonl", "blind": DATA / "structure_blind.jsonl",
          "blind2": DATA / "structure_blind2.jsonl", "blind3": DATA / "structure_blind3.jsonl",
          "blind4": DATA / "structure_blind4.jsonl", "dev3": DATA / "structure_dev3.jsonl",
          "blind5": DATA / "structure_blind5.jsonl", "dev4": DATA / "structure_dev4.jsonl",
          "blind6": DATA / "structure_blind6.jsonl", "blind7": DATA / "structure_blind7.jsonl",
          "blind8": DATA / "structure_blind8.jsonl", "dev5": DATA / "structure_dev5.jsonl", "dev6": DATA / "structure_dev6.jsonl",
          "blind16": DATA / "structure_blind16.jsonl", "dev7": DATA / "structure_dev7.jsonl",
          "blind17": DATA / "structure_blind17.jsonl", "dev8": DATA / "structure_dev8.jsonl",
          "blind18": DATA / "structure_blind18.jsonl", "dev9": DATA / "structure_dev9.jsonl",
          "blind19": DATA / "structure_blind19.jsonl", "dev10": DATA / "structure_dev10.jsonl",
          "blind20": DATA / "structure_blind20.jsonl", "dev11": DATA / "structure_dev11.jsonl",
          "blind21": DATA / "structure_blind21.jsonl", "blind22": DATA / "structure_blind22.jsonl",
          "blind23": DATA / "structure_blind23.jsonl", "blind24": DATA / "structure_blind24.jsonl",
          "blind25": DATA / "structure_blind25.jsonl", "dev12": DATA / "structure_dev12.jsonl",
          "dev13": DATA / "structure_dev13.jsonl", "dev14": DATA / "structure_dev14.jsonl", "blind26": DATA / "structure_blind26.jsonl"}
CHECK_KINDS = ("trigger", "steps", "branch", "paths", "parallel", "compare", "forbid", "side_effects", "valid")


# ---------------------------------------------------------------- case format

STEP_KINDS = ("source", "ai", "condition", "deliver", "loop", "wait", "transform")
TASKS = ("classify", "score", "extract", "agent", "summarize", "translate", "generate", "answer", "analyze")
OPS = (">", ">=", "<", "<=", "==", "!=")
FORBID_KINDS = ("knowledge", *STEP_KINDS)
LANGS = ("en", "zh")
TAGS = (*(f"trigger-{k}" for k in TRIGGER_KINDS), "ifelse", "switch", "parallel", "batch", "loop", "branch-in-loop",
        "agent", "wait", "approval", "storage", "multi-delivery", "named-source", "transform", "simple")


class CaseFormatError(ValueError):
    """A line of a case file that is not a well-formed case."""


class Step(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One expected step: ``kind`` plus optional constraints on the node that matches it."""

    kind: str
    name: str | None = field(default=None, name="as")
    task: str | None = None
    service: str | None = None
    branch: str | None = None
    in_loop: bool | None = None
    cases: int | None = None
    batch: int | None = None
    approval: bool | None = None

    def label(self, index: int) -> str:
        """The ``as`` name, or ``#<index> <kind>`` for unnamed steps."""
        return self.name or f"#{index} {self.kind}"


class Compare(Struct, frozen=True, forbid_unknown_fields=True):
    """Some condition case compares a value with ``op`` against ``value``."""

    op: str
    value: int | float | str


class Expect(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    trigger: str
    steps: list[Step]
    cron: str | None = None
    trigger_service: str | None = None
    paths: list[list[str]] = []
    parallel: list[list[str]] = []
    compare: list[Compare] = []
    forbid: list[str] = []


class Case(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    lang: str
    prompt: str
    expect: Expect
    tags: list[str] = []


def _decode(raw: Any, where: str) -> Case:
    cid = raw.get("id") if isinstance(raw, dict) else None
    try:
        return msgspec.convert(raw, Case)
    except msgspec.ValidationError as exc:
        raise CaseFormatError(f"{where}: case {cid or '?'}: {exc}") from exc


def read_cases(path: str | Path) -> tuple[list[Case], list[str]]:
    """Every well-formed case of a JSONL file, and one problem per line that is not."""
    path = Path(path)
    cases: list[Case] = []
    problems: list[str] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            cases.append(_decode(json.loads(line), where))
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON: {exc}")
        except CaseFormatError as exc:
            problems.append(str(exc))
    return cases, problems


def load_cases(path: str | Path) -> list[Case]:
    """The cases of a JSONL file; raises :class:`CaseFormatError` on the first malformed line."""
    cases, problems = read_cases(path)
    if problems:
        raise CaseFormatError(problems[0])
    return cases


# ---------------------------------------------------------------- lint


def _lint_step(step: Step, label: str) -> list[str]:
    out = []
    if step.kind not in STEP_KINDS:
        out.append(f"step {label}: unknown kind {step.kind!r} (one of {', '.join(STEP_KINDS)})")
    if step.task is not None and (step.kind != "ai" or step.task not in TASKS):
        out.append(f"step {label}: task {step.task!r} needs kind 'ai' and one of {', '.join(TASKS)}")
    for key, kind in (("cases", "condition"), ("batch", "loop"), ("approval", "wait")):
        if getattr(step, key) is not None and step.kind != kind:
            out.append(f"step {label}: {key!r} only applies to kind {kind!r}")
    for key in ("cases", "batch"):
        if (getattr(step, key) or 1) < 1:
            out.append(f"step {label}: {key!r} must be >= 1")
    if step.branch is not None and not step.branch.strip():
        out.append(f"step {label}: empty branch label")
    return out


def _lint_groups(expect: Expect, names: set[str]) -> list[str]:
    out = []
    for key, sizes in (("paths", (2, 2)), ("parallel", (2, 99))):
        for group in getattr(expect, key):
            if not sizes[0] <= len(group) <= sizes[1] or len(set(group)) != len(group):
                out.append(f"{key} {group}: needs {'exactly 2' if key == 'paths' else '2 or more'} distinct names")
            out += [f"{key} {group}: {n!r} is not a step's 'as' name" for n in group if n not in names]
    return out


def _lint_expect(expect: Expect) -> list[str]:
    out = []
    if expect.trigger not in TRIGGER_KINDS:
        out.append(f"unknown trigger {expect.trigger!r} (one of {', '.join(TRIGGER_KINDS)})")
    if expect.cron is not None and (expect.trigger != "schedule" or len(expect.cron.split()) != 5):
        out.append(f"cron {expect.cron!r} needs trigger 'schedule' and 5 fields")
    if expect.trigger_service is not None and expect.trigger != "app_event":
        out.append("trigger_service needs trigger 'app_event'")
    names = [s.name for s in expect.steps if s.name]
    out += [f"'as' name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for i, step in enumerate(expect.steps):
        out += _lint_step(step, step.label(i))
    out += _lint_groups(expect, set(names))
    out += [f"compare: unknown op {c.op!r} (one of {' '.join(OPS)})" for c in expect.compare if c.op not in OPS]
    kinds = {s.kind for s in expect.steps} | ({"loop"} if any(s.in_loop for s in expect.steps) else set())
    for kind in expect.forbid:
        if kind not in FORBID_KINDS:
            out.append(f"forbid: unknown kind {kind!r} (one of {', '.join(FORBID_KINDS)})")
        elif kind in kinds:
            out.append(f"forbid: {kind!r} contradicts an expected step")
    return out


def lint(cases: list[Case]) -> list[str]:
    """Problems of well-formed cases, each prefixed by its case id; [] when all is well."""
    out: list[str] = []
    seen: set[str] = set()
    for case in cases:
        problems = []
        if case.id in seen or not case.id.strip():
            problems.append("duplicate or empty id")
        seen.add(case.id)
        if case.lang not in LANGS:
            problems.append(f"lang {case.lang!r} is not en|zh")
        if not case.prompt.strip():
            problems.append("empty prompt")
        for tag in case.tags:
            if tag not in TAGS:
                hint = f" (did you mean 'trigger-{tag}'?)" if tag in TRIGGER_KINDS else ""
                problems.append(f"unknown tag {tag!r}{hint}")
        problems += _lint_expect(case.expect)
        out += [f"{case.id}: {p}" for p in problems]
    return out


def lint_file(path: str | Path) -> list[str]:
    """Format problems of a case file (bad JSON, unknown keys, wrong types) followed by lint problems."""
    cases, problems = read_cases(path)
    return problems + lint(cases)


# ---------------------------------------------------------------- many cases


class Rate(Struct, frozen=True):
    """``passed`` of ``n``; ``rate`` = passed / n (0 when n = 0)."""

    n: int
    passed: int
    rate: float = 0.0


def _rate(n: int, passed: int) -> Rate:
    return Rate(n, passed, passed / n if n else 0.0)


class CaseResult(Struct, frozen=True):
    """One case: accepted or not, build time, every check, the builder's error if it raised."""

    id: str
    lang: str
    tags: list[str]
    prompt: str
    accepted: bool
    ms: float
    checks: list[Check]
    error: str | None = None
    assignment: dict[str, str | None] = {}


class Report(Struct, frozen=True):
    """What :func:`score_cases` measures; ``python -m evals.structure --json`` prints it."""

    accepted: dict[str, Rate]  # "all", "en", "zh", "tag:<tag>"
    by_check: dict[str, Rate]  # per expectation kind: cases whose checks of that kind all pass
    side_effect_free: Rate
    valid: Rate
    p50_ms: float
    p95_ms: float
    cases: list[CaseResult]


def expected_kinds(expect: Expect) -> list[str]:
    """The check kinds a case has (so a failed build fails each of them)."""
    present = {"trigger": True, "steps": bool(expect.steps), "branch": any(s.branch is not None for s in expect.steps),
               "paths": bool(expect.paths), "parallel": bool(expect.parallel), "compare": bool(expect.compare),
               "forbid": bool(expect.forbid), "side_effects": True, "valid": True}
    return [k for k in CHECK_KINDS if present[k]]


def run_case(case: Case, build: Callable[[str], WorkflowGraph]) -> CaseResult:
    """Build the case's prompt (timed) and score it; a raising builder fails every check kind."""
    t0 = time.perf_counter()
    try:
        graph = build(case.prompt)
    except Exception as exc:  # noqa: BLE001 - any builder failure is a failed case, reason recorded
        ms, error = (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}"
        checks = [Check(k, "build", False, error) for k in expected_kinds(case.expect)]
        return CaseResult(case.id, case.lang, case.tags, case.prompt, False, ms, checks, error)
    ms = (time.perf_counter() - t0) * 1000
    verdict = score_graph(case.expect, graph)
    return CaseResult(case.id, case.lang, case.tags, case.prompt, verdict.accepted, ms, verdict.checks, None, verdict.assignment)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _rates(pairs: list[tuple[str, bool]]) -> dict[str, Rate]:
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, ok in pairs:
        acc[key][0] += 1
        acc[key][1] += ok
    return {k: _rate(n, p) for k, (n, p) in acc.items()}


def score_cases(cases: list[Case], build: Callable[[str], WorkflowGraph]) -> Report:
    """Accept rate overall / per lang / per tag, per-check-kind pass rates, side-effect-free and
    validity rates, and build latency p50/p95 (ms)."""
    results = [run_case(c, build) for c in cases]
    groups = [(key, r.accepted) for r in results for key in ("all", r.lang, *(f"tag:{t}" for t in r.tags))]
    kinds = [(k, all(c.ok for c in r.checks if c.kind == k)) for r in results for k in dict.fromkeys(c.kind for c in r.checks)]
    by_check = _rates(kinds)
    ms = [r.ms for r in results]
    return Report(_rates(groups), {k: by_check[k] for k in CHECK_KINDS if k in by_check},
                  by_check.get("side_effects", _rate(0, 0)), by_check.get("valid", _rate(0, 0)), _pct(ms, 0.5), _pct(ms, 0.95), results)


# ---------------------------------------------------------------- CLI


def default_builder() -> tuple[str, Callable[[str], WorkflowGraph]]:
    """``pilot.generation.pipeline.build_offline``, else the chat's ``generate_offline``; warmed up."""
    try:
        from pilot.generation.pipeline import build_offline

        name, build = "pilot.generation.pipeline.build_offline", build_offline
    except ImportError:
        from pilot.chat.generate import generate_offline

        name, build = "pilot.chat.generate.generate_offline", lambda prompt: generate_offline(prompt)[1]
    try:
        build("summarise this text")  # build indexes and caches before timing
    except Exception:  # noqa: BLE001, S110 - the warm-up only primes caches; real failures show per case
        pass
    return name, build


def render(report: Report, title: str, verbose: bool = False) -> str:
    """A plain-text table of the report; with ``verbose`` each failed case and its failed checks."""
    lines = [title, "", f"{'set':<24}{'n':>5}{'accepted':>10}{'rate':>8}"]
    order = ["all", "en", "zh", *sorted(k for k in report.accepted if k.startswith("tag:"))]
    lines += [f"{k:<24}{r.n:>5}{r.passed:>10}{r.rate:>8.1%}" for k in order if (r := report.accepted.get(k))]
    lines += ["", f"{'expectation':<24}{'n':>5}{'passed':>10}{'rate':>8}"]
    lines += [f"{k:<24}{r.n:>5}{r.passed:>10}{r.rate:>8.1%}" for k, r in report.by_check.items()]
    lines += ["", f"side-effect-free {report.side_effect_free.rate:.1%}   valid {report.valid.rate:.1%}",
              f"build p50 {report.p50_ms:.1f} ms   p95 {report.p95_ms:.1f} ms"]
    for r in (r for r in report.cases if verbose and not r.accepted):
        lines += ["", f"FAIL {r.id} [{r.lang}] {r.prompt}"]
        lines += [f"    {c.kind:<13}{c.name}: {c.reason}" for c in r.checks if not c.ok]
        if r.assignment:
            lines.append(f"    matched      {r.assignment}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.structure", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="dev", help="dev | blind | a JSONL file (default dev)")
    parser.add_argument("--lint", metavar="FILE", help="check a case file and exit (1 when it has problems)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failed case with its failed checks")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args(argv)
    if args.lint:
        problems = lint_file(args.lint)
        print("\n".join(problems) if problems else f"{args.lint}: ok")
        return 1 if problems else 0
    path = SPLITS.get(args.split, Path(args.split))
    try:
        cases = load_cases(path)
    except (OSError, CaseFormatError) as exc:
        print(f"cannot load {path}: {exc}", file=sys.stderr)
        return 2
    name, build = default_builder()
    report = score_cases(cases, build)
    if args.json:
        print(msgspec.json.format(msgspec.json.encode(report), indent=2).decode())
    else:
        print(render(report, f"Structure eval: {args.split} ({len(cases)} cases), builder {name}", args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
