"""Checking one compiled workflow graph against one case's ``expect`` (evals/STRUCTURE.md).

:class:`GraphIndex` sees every node, loop bodies included, and answers reachability (from
outside a loop, a body node counts as its loop node) and branch membership. Node helpers
classify nodes into the eval's step kinds and read services, output schemas and comparisons.
:func:`score_graph` matches expected steps to distinct nodes by a backtracking search for the
assignment that passes the most checks, then reports every check in a :class:`Verdict`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import networkx as nx
from msgspec import Struct

from pilot.generation import entities
from pilot.workflows.model import (
    ApiNode,
    ConditionNode,
    InputNode,
    KnowledgeNode,
    LoopNode,
    ToolNode,
    WorkflowGraph,
    node_type,
)
from pilot.workflows.validation import validate_graph

if TYPE_CHECKING:
    from evals.structure import Expect, Step

SEARCH_BUDGET = 50_000  # assignment-search calls per graph before keeping the best found
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
_STR = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""  # a quoted string, backslash escapes allowed
_LIT = r"-?\d+(?:\.\d+)?(?![\w.])|" + _STR
_OP = r"(?P<op>>=|<=|==|!=|>|<)"
# "<lhs> <op> <literal>" where lhs ends like an expression (name, ] or )), not like a literal.
_COMPARE_RE = re.compile(r"[\w\])]\s*" + _OP + r"(?!=)\s*(?P<lit>" + _LIT + ")")
# The mirrored "<literal> <op> <rhs>" ("7 < score").
_MIRROR_RE = re.compile(r"(?<![\w.'\"])(?P<lit>" + _LIT + r")\s*" + _OP + r"(?!=)\s*(?=[A-Za-z_(])")
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
_LITERAL_RE = re.compile(r"(" + _STR + r")|(?<![\w.])(-?\d+(?:\.\d+)?)(?![\w.])")


def norm(text: Any) -> str:
    """Lower case without spaces, underscores or hyphens: ``"Google Sheets"`` → ``googlesheets``."""
    return re.sub(r"[\s_\-]+", "", str(text)).casefold()


class GraphIndex:
    """Every node of a graph by id, the level (top = ``None`` or a loop id) it sits in, and
    one directed graph per level."""

    def __init__(self, graph: WorkflowGraph) -> None:
        self.nodes: dict[str, Any] = {}
        self.parent: dict[str, str | None] = {}
        self.levels: dict[str | None, nx.DiGraph] = {}
        self.handles: dict[str, dict[str, list[str]]] = {}  # condition id → handle → targets
        self._add_level(graph, None)
        self._branch_cache: dict[tuple[str, str], set[str]] = {}

    def _add_level(self, sub: Any, parent: str | None) -> None:
        g = nx.DiGraph()
        for node in sub.nodes:
            self.nodes[node.id], self.parent[node.id] = node, parent
            g.add_node(node.id)
            if isinstance(node, LoopNode):
                self._add_level(node.config.body, node.id)
        for edge in sub.edges:
            if edge.source in g and edge.target in g:
                g.add_edge(edge.source, edge.target)
                if edge.source_handle is not None:
                    self.handles.setdefault(edge.source, {}).setdefault(edge.source_handle, []).append(edge.target)
        self.levels[parent] = g

    def scopes(self, nid: str) -> list[str | None]:
        """The levels enclosing a node, innermost first, ending with the top level ``None``."""
        out = [self.parent.get(nid)]
        while out[-1] is not None:
            out.append(self.parent.get(out[-1]))
        return out

    def lift(self, nid: str, level: str | None) -> str | None:
        """The node, or the loop enclosing it, that sits in ``level``; None if outside it."""
        while nid in self.parent:
            if self.parent[nid] == level:
                return nid
            if self.parent[nid] is None:
                return None
            nid = self.parent[nid]  # type: ignore[assignment]
        return None

    def in_loop(self, nid: str) -> bool:
        return self.parent.get(nid) is not None

    def reaches(self, a: str, b: str) -> bool:
        """``b`` runs after ``a`` (or one contains the other) in the innermost level holding both."""
        b_scopes = self.scopes(b)
        level = next(s for s in self.scopes(a) if s in b_scopes)
        la, lb = self.lift(a, level), self.lift(b, level)
        return la == lb or nx.has_path(self.levels[level], la, lb)

    def on_branch(self, cond: str, handle: str) -> set[str]:
        """Nodes of the condition's level reachable from the edges leaving it through ``handle``."""
        key = (cond, handle)
        if key not in self._branch_cache:
            g = self.levels[self.parent[cond]]
            starts = self.handles.get(cond, {}).get(handle, [])
            self._branch_cache[key] = set(starts).union(*(nx.descendants(g, s) for s in starts))
        return self._branch_cache[key]

    def only_on_branch(self, nid: str, cond: str, handle: str) -> bool:
        """The node sits on that branch of ``cond`` and on none of its other handles."""
        lifted = self.lift(nid, self.parent[cond])
        if lifted is None or lifted not in self.on_branch(cond, handle):
            return False
        node = self.nodes[cond]
        others = [c.id for c in node.config.cases] + [node.config.else_]
        return not any(lifted in self.on_branch(cond, h) for h in others if h != handle)

    def conditions(self) -> list[Any]:
        return [n for n in self.nodes.values() if isinstance(n, ConditionNode)]


# ---------------------------------------------------------------- node facts


def node_kinds(node: Any) -> set[str]:
    """The eval step kinds a node can stand for (plus ``knowledge`` for knowledge nodes)."""
    ntype = node_type(node)
    kinds = {
        "llm": {"ai"}, "agent": {"ai"}, "condition": {"condition"}, "loop": {"loop"}, "wait": {"wait"},
        "knowledge": {"source", "knowledge"}, "tool": {"deliver"}, "transform": {"transform"}, "code": {"transform"},
    }.get(ntype, set())
    if isinstance(node, ApiNode):
        kinds = {"deliver" if node.config.method in MUTATING else "source"}
    if node.id.lower().startswith(("wait", "approval")):
        kinds = kinds | {"wait"}
    return kinds


def node_services(node: Any) -> set[str]:
    """What a node talks to: api ``service``, tool name (and ``arguments.service`` of the
    generic webhook tool), ``knowledge`` for knowledge nodes."""
    if isinstance(node, ApiNode):
        return {node.config.service} if node.config.service else set()
    if isinstance(node, ToolNode):
        extra = node.config.arguments.get("service") if node.config.tool == "webhook" else None
        return {node.config.tool, *([extra] if isinstance(extra, str) and extra else [])}
    return {"knowledge"} if isinstance(node, KnowledgeNode) else set()


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for integ in getattr(entities, "INTEGRATIONS", ()):
        for alias in (integ.id, integ.name, *integ.en, *integ.zh):
            table.setdefault(norm(alias), norm(integ.id))
    return table


_ALIASES = _alias_table()


def canonical_service(name: str) -> str:
    """The normalised lexicon id of a service name or alias (``"谷歌表格"`` → ``googlesheets``);
    uses ``entities.lookup_service`` when it exists, else the integration table, else the name."""
    lookup = getattr(entities, "lookup_service", None)
    hit: Any = None
    if callable(lookup):
        try:
            hit = lookup(name)
        except Exception:  # noqa: BLE001 - an optional, foreign API: fall back on any failure
            hit = None
    ident = hit if isinstance(hit, str) else getattr(hit, "id", None) or (hit.get("id") if isinstance(hit, dict) else None)
    return norm(ident) if ident else _ALIASES.get(norm(name), norm(name))


def service_matches(expected: str, services: set[str]) -> bool:
    """Equal after normalising, or one side is a lexicon alias of the other's id, or the node's
    service is a product of the expected one (``weibo_hot`` / ``feishu_docs`` / ``douyin_shop``
    talk to Weibo / Feishu / Douyin: their id extends the expected id with ``_<product>``)."""
    want, want_id = norm(expected), canonical_service(expected)
    stem = canonical_service(expected).replace("_", "")
    return any(
        norm(s) in (want, want_id)
        or canonical_service(s) == want
        or _product_of(s, expected, stem)
        for s in services
    )


def _product_of(service: str, expected: str, stem: str) -> bool:
    first = str(service).lower().replace("-", "_").split("_")[0]
    return "_" in str(service) and bool(stem) and norm(first) in (stem, norm(expected))


def schema_properties(node: Any) -> dict[str, Any]:
    schema = getattr(node.config, "output_schema", None)
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def _types(prop: Any) -> set[str]:
    t = prop.get("type") if isinstance(prop, dict) else None
    return set(t) if isinstance(t, list) else {t}


def task_problem(task: str, node: Any) -> str | None:
    """Why an ai node does not do ``task`` (judged by its ``output_schema``), or None."""
    props = schema_properties(node)
    if task == "classify" and not any(
        "string" in _types(p) and isinstance(p.get("enum"), list) and len(p["enum"]) >= 2 for p in props.values()
    ):
        return "classify needs an output_schema string property with an enum of >= 2 categories"
    if task == "score" and not any(_types(p) & {"number", "integer"} for p in props.values()):
        return "score needs an output_schema number/integer property"
    if task == "extract" and not props:
        return "extract needs an output_schema with >= 1 property"
    return None


def batches_by(node: Any, size: int) -> bool:
    """The loop goes over batches of ``size`` items (``batch(N`` in ``items`` or a batch_size of N)."""
    if getattr(node.config, "batch_size", None) == size:
        return True
    items = getattr(node.config, "items", "")
    return bool(re.search(rf"batch\(\s*{size}(?!\d)|batch_size\W{{1,4}}{size}(?!\d)", items))


def is_approval(node: Any) -> bool:
    cfg = getattr(node, "config", None)
    return node.id.lower().startswith("approval") or bool(getattr(cfg, "approval", False)) or getattr(cfg, "kind", None) == "approval"


def case_literals(when: str) -> set[str]:
    """Normalised quoted strings and numbers in a condition expression."""
    return {norm(_literal(m[1]) if m[1] else m[2]) for m in _LITERAL_RE.finditer(when)}


def _literal(text: str) -> float | str:
    """A matched literal's value: a string without quotes and escapes, or a float."""
    return re.sub(r"\\(.)", r"\1", text[1:-1]) if text[:1] in "'\"" else float(text)


def comparisons(when: str) -> list[tuple[str, float | str]]:
    """Real comparisons in a condition: ``(op, literal)`` normalised to ``<lhs> <op> <literal>``.
    Substring tests (``'x' in …``) are not comparisons."""
    out = [(m["op"], _literal(m["lit"])) for m in _COMPARE_RE.finditer(when)]
    return out + [(_FLIP[m["op"]], _literal(m["lit"])) for m in _MIRROR_RE.finditer(when)]


def same_value(found: float | str, value: float | str) -> bool:
    """Numbers compare as floats, strings case-insensitively; a number never equals a string."""
    if isinstance(value, str):
        return isinstance(found, str) and found.strip().casefold() == value.strip().casefold()
    return isinstance(found, float) and found == float(value)


# ---------------------------------------------------------------- checks


class Check(Struct, frozen=True):
    """One expectation: ``kind`` is one of CHECK_KINDS, ``name`` says which one."""

    kind: str
    name: str
    ok: bool
    reason: str = ""


class Verdict(Struct, frozen=True):
    """Every check of one graph; ``assignment`` maps each step label to its node id (or None)."""

    accepted: bool
    checks: list[Check]
    assignment: dict[str, str | None] = {}

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


# ---------------------------------------------------------------- step matching


class _Fit(Struct, frozen=True):
    """How well one node fits one step: its ``steps`` and ``branch`` checks and attribute hits."""

    step_ok: bool
    step_reason: str
    branch_ok: bool | None
    hits: int

    @property
    def score(self) -> tuple[int, int]:
        return (int(self.step_ok) + int(bool(self.branch_ok)), self.hits)


def _attribute_problems(step: Step, node: Any, idx: GraphIndex) -> list[str]:
    """Why ``node`` (already of the step's kind) misses the step's other constraints; [] = fits."""
    n_cases = len(getattr(node.config, "cases", ()))
    checks = [
        (step.service, lambda: service_matches(step.service, node_services(node)),
         lambda: f"service {step.service!r} not in {sorted(node_services(node)) or 'none'}"),
        (step.task, lambda: task_problem(step.task, node) is None, lambda: task_problem(step.task, node)),
        (step.in_loop, lambda: idx.in_loop(node.id) == step.in_loop, lambda: f"in_loop is {idx.in_loop(node.id)}"),
        (step.cases, lambda: n_cases >= step.cases, lambda: f"{n_cases} case(s) < {step.cases}"),
        (step.batch, lambda: batches_by(node, step.batch), lambda: f"items do not batch by {step.batch}"),
        (step.approval, lambda: is_approval(node) == step.approval, lambda: "not an approval"),
    ]
    return [reason() for want, ok, reason in checks if want is not None and not ok()]


def branch_handles(label: str, cond: Any) -> list[str]:
    """The handles of ``cond`` a branch label names: a case whose id or a literal in its ``when``
    equals the label (normalised), the else handle for ``else``, the first case for ``then``."""
    want, cases = norm(label), cond.config.cases
    handles = [c.id for c in cases if norm(c.id) == want or want in case_literals(c.when)]
    handles += [cond.config.else_] if want == "else" else []
    return handles + ([cases[0].id] if want == "then" and cases else [])


def _on_branch(label: str, nid: str, idx: GraphIndex) -> bool:
    return any(idx.only_on_branch(nid, c.id, h) for c in idx.conditions() for h in branch_handles(label, c))


def _branch_reason(label: str, nid: str | None, idx: GraphIndex) -> str:
    if nid is None:
        return "step unmatched"
    if not idx.conditions():
        return "the graph has no condition"
    if not any(branch_handles(label, c) for c in idx.conditions()):
        return f"no condition case matches {label!r}"
    return f"{nid} is not on that branch alone"


def _fit(step: Step, node: Any, idx: GraphIndex) -> _Fit:
    """Score ``node`` for ``step``: hits = kind + each satisfied attribute + being on the branch."""
    problems = _attribute_problems(step, node, idx)
    branch_ok = None if step.branch is None else _on_branch(step.branch, node.id, idx)
    hits = 1 + 6 - len(problems) + int(bool(branch_ok))
    return _Fit(not problems, f"{node.id}: {'; '.join(problems)}" if problems else node.id, branch_ok, hits)


class _Search:
    """Backtracking over assignments of distinct nodes to steps (a step may stay unmatched),
    keeping the one that passes the most checks (ties: the most attribute hits)."""

    def __init__(self, expect: Expect, idx: GraphIndex) -> None:
        self.expect, self.idx = expect, idx
        kinds = {nid: node_kinds(n) for nid, n in idx.nodes.items()}
        self.fits = [{nid: _fit(s, n, idx) for nid, n in idx.nodes.items() if s.kind in kinds[nid]} for s in expect.steps]
        self.order = sorted(range(len(expect.steps)), key=lambda i: len(self.fits[i]))
        self.n_global = len(expect.paths) + len(expect.parallel) + 1
        self.best: tuple[tuple[int, int], list[str | None]] = ((-1, -1), [None] * len(expect.steps))
        self.calls = 0

    def run(self) -> list[str | None]:
        best_each = [max((f.score for f in fits.values()), default=(0, 0)) for fits in self.fits]
        rest = [tuple(sum(best_each[i][j] for i in self.order[k:]) for j in (0, 1)) for k in range(len(self.order) + 1)]
        self._rec(0, [None] * len(self.expect.steps), (0, 0), rest)
        return self.best[1]

    def _rec(self, k: int, assign: list[str | None], score: tuple[int, int], rest: list[tuple[int, ...]]) -> None:
        self.calls += 1
        bound = (score[0] + rest[k][0] + self.n_global, score[1] + rest[k][1])
        if bound <= self.best[0] or self.calls > SEARCH_BUDGET:
            return
        if k == len(self.order):
            total = (score[0] + sum(c.ok for c in global_checks(self.expect, assign, self.idx)), score[1])
            if total > self.best[0]:
                self.best = (total, list(assign))
            return
        i = self.order[k]
        for nid, fit in sorted(self.fits[i].items(), key=lambda kv: kv[1].score, reverse=True):
            if nid not in assign:
                assign[i] = nid
                self._rec(k + 1, assign, (score[0] + fit.score[0], score[1] + fit.score[1]), rest)
        assign[i] = None
        self._rec(k + 1, assign, score, rest)


def global_checks(expect: Expect, assign: list[str | None], idx: GraphIndex) -> list[Check]:
    """``paths``, ``parallel`` and no-unrequested-side-effects checks for one assignment."""
    by_name = {s.name: assign[i] for i, s in enumerate(expect.steps) if s.name}
    out = []
    for a, b in (p for p in expect.paths if len(p) == 2):
        na, nb = by_name.get(a), by_name.get(b)
        ok = bool(na and nb and idx.reaches(na, nb))
        why = f"unmatched step(s): {[n for n in (a, b) if not by_name.get(n)]}" if not (na and nb) else f"{nb} not reachable from {na}"
        out.append(Check("paths", f"{a}->{b}", ok, "" if ok else why))
    for group in expect.parallel:
        nids = [by_name.get(n) for n in group]
        chained = [f"{a}->{b}" for a in nids for b in nids if a and b and a != b and idx.reaches(a, b)]
        ok = all(nids) and not chained
        why = f"chained: {chained}" if chained else f"unmatched step(s): {[n for n in group if not by_name.get(n)]}"
        out.append(Check("parallel", ",".join(group), ok, "" if ok else why))
    requested = {assign[i] for i, s in enumerate(expect.steps) if s.kind in ("deliver", "wait")}
    extra = sorted(nid for nid, n in idx.nodes.items() if "deliver" in node_kinds(n) and nid not in requested)
    out.append(Check("side_effects", "no unrequested side effects", not extra, f"unrequested: {extra}" if extra else ""))
    return out


# ---------------------------------------------------------------- other checks


def _trigger_checks(expect: Expect, graph: WorkflowGraph) -> Iterator[Check]:
    inp = next((n for n in graph.nodes if isinstance(n, InputNode)), None)
    trig = inp.config.trigger if inp is not None else None
    kind = trig.__struct_config__.tag if trig is not None else "manual"
    yield Check("trigger", "kind", kind == expect.trigger, f"got {kind}")
    if expect.cron is not None:
        cron = getattr(trig, "cron", None)
        yield Check("trigger", "cron", cron == expect.cron, f"got {cron!r}")
    if expect.trigger_service is not None:
        svc = getattr(trig, "service", None)
        yield Check("trigger", "service", bool(svc) and service_matches(expect.trigger_service, {svc}), f"got {svc!r}")


def _compare_checks(expect: Expect, idx: GraphIndex) -> Iterator[Check]:
    found = [cmp for cond in idx.conditions() for case in cond.config.cases for cmp in comparisons(case.when)]
    for want in expect.compare:
        ok = any(op == want.op and same_value(lit, want.value) for op, lit in found)
        yield Check("compare", f"{want.op} {want.value!r}", ok, "" if ok else f"found {found or 'no comparisons'}")


def _forbid_checks(expect: Expect, idx: GraphIndex) -> Iterator[Check]:
    for kind in expect.forbid:
        hits = sorted(nid for nid, n in idx.nodes.items() if kind in node_kinds(n))
        yield Check("forbid", kind, not hits, f"found {hits}" if hits else "")


def _valid_check(graph: WorkflowGraph) -> Check:
    report = validate_graph(graph)
    return Check("valid", "graph is valid", report.valid, "; ".join(p.message for p in report.problems[:3]))


def score_graph(expect: Expect, graph: WorkflowGraph) -> Verdict:
    """Every expectation of ``expect`` (plus side effects and validity) checked on ``graph``."""
    idx = GraphIndex(graph)
    search = _Search(expect, idx)
    assign = search.run()
    checks = list(_trigger_checks(expect, graph))
    for i, step in enumerate(expect.steps):
        fit = search.fits[i].get(assign[i]) if assign[i] else None
        label = step.label(i)
        why = f"every {step.kind} node is taken by another step" if search.fits[i] else f"the graph has no {step.kind} node"
        checks.append(Check("steps", label, bool(fit and fit.step_ok), fit.step_reason if fit else why))
        if step.branch is not None:
            ok = bool(fit and fit.branch_ok)
            checks.append(Check("branch", f"{label} on {step.branch!r}", ok, "" if ok else _branch_reason(step.branch, assign[i], idx)))
    checks += global_checks(expect, assign, idx)
    checks += [*_compare_checks(expect, idx), *_forbid_checks(expect, idx), _valid_check(graph)]
    # Passing checks keep no reason, except steps: theirs names the matched node.
    checks = [Check(c.kind, c.name, c.ok, "" if c.ok and c.kind != "steps" else c.reason) for c in checks]
    labels = {s.label(i): assign[i] for i, s in enumerate(expect.steps)}
    return Verdict(all(c.ok for c in checks), checks, labels)
