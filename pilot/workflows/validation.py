"""Workflow graph validation: one place that says whether a graph can run, and why not.

Every problem names the nodes/edges involved. Checks: node decoding (unknown types, missing or
ill-typed config), duplicate ids, dangling edges, cycles (the cycle is printed), condition
handles, inputs/outputs present, reachability from an ``input``, jinja2 syntax of templated
fields, and ``nodes.<id>`` references to nodes that are not upstream. Loop bodies are checked
recursively; their nodes may reference body ancestors and the loop node's own ancestors.

Cost: validation runs on every save/validate request, so it must stay cheap whatever the body
holds. The size of the whole tree (loop bodies included) is checked first, against the same
limits the API puts on the top-level lists, and nothing else runs on a graph over them. Every
other check is linear in nodes + edges (the upstream check uses ancestor bitsets, O(edges ×
nodes / 64) word operations, which the node limit keeps small); cycles are reported from a
bounded search, never by enumerating them (a complete graph of n nodes has more than (n-1)!).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import networkx as nx
from msgspec import Struct

from pilot.core.errors import GraphValidationError
from pilot.core.templating import referenced_nodes, syntax_error, value_syntax_error
from pilot.sandbox.syntax import code_problems
from pilot.workflows.order import LevelOrder
from pilot.workflows.model import (
    NODE_CLASSES,
    AgentNode,
    ApiNode,
    ConditionNode,
    Edge,
    KnowledgeNode,
    LlmNode,
    LoopNode,
    Node,
    OutputNode,
    ToolNode,
    TransformNode,
    WaitNode,
    WorkflowGraph,
    WorkflowNode,
    WorkflowSettings,
    node_type,
)


# The whole tree, loop bodies included, must fit the limits the API puts on the top-level
# ``nodes``/``edges`` lists (pilot.workflows.schemas RawNodes / RawEdges): without this a loop
# body was an unlimited back door (5,000 body nodes were accepted and took seconds to check).
MAX_NODES = 1_000
MAX_EDGES = 5_000
# At most this many cycles are reported; one per strongly connected component.
MAX_REPORTED_CYCLES = 5


class Problem(Struct, frozen=True):
    """One reason a graph is invalid. ``code`` is stable; ``message`` is for humans."""

    code: str
    message: str
    node_ids: list[str] = []
    edge_ids: list[str] = []


class ValidationReport(Struct, frozen=True):
    valid: bool
    problems: list[Problem]
    levels: list[list[str]] = []


# ---------------------------------------------------------------- decoding


def decode_graph(data: Any) -> tuple[WorkflowGraph | None, list[Problem]]:
    """Decode raw data into a WorkflowGraph, decoding each node on its own so that every bad
    node is reported by id (msgspec alone would stop at the first error).

    With problems, the returned graph (if any) is *partial*: it holds the nodes and edges that
    decoded, so graph-level checks can still report what they can."""
    if isinstance(data, WorkflowGraph):
        return data, []
    if not isinstance(data, dict):
        return None, [Problem("invalid_graph", "workflow graph must be an object with 'nodes' and 'edges'")]
    problems: list[Problem] = []
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list):
        return None, [Problem("invalid_graph", "'nodes' must be a list of node objects")]
    nodes = [n for n in (_decode_node(raw, i, problems) for i, raw in enumerate(raw_nodes)) if n is not None]
    raw_edges = data.get("edges", [])
    edges: list[Edge] = []
    if not isinstance(raw_edges, list):
        problems.append(Problem("invalid_graph", "'edges' must be a list of edge objects"))
    else:
        for i, raw in enumerate(raw_edges):
            try:
                edges.append(msgspec.convert(raw, Edge))
            except msgspec.ValidationError as exc:
                eid = raw.get("id") if isinstance(raw, dict) else None
                problems.append(Problem("invalid_edge", f"edge #{i} ({eid or 'no id'}): {exc}", edge_ids=[str(eid)] if eid else []))
    try:
        settings = msgspec.convert(data.get("settings") or {}, WorkflowSettings)
    except msgspec.ValidationError as exc:
        problems.append(Problem("invalid_settings", f"settings: {exc}"))
        settings = WorkflowSettings()
    return WorkflowGraph(nodes=nodes, edges=edges, settings=settings), problems


def _decode_node(raw: Any, index: int, problems: list[Problem]) -> Node | None:
    if not isinstance(raw, dict):
        problems.append(Problem("invalid_node", f"node #{index} must be an object"))
        return None
    nid = raw.get("id")
    label = f"node '{nid}'" if isinstance(nid, str) else f"node #{index}"
    ntype = raw.get("type")
    if ntype not in NODE_CLASSES:
        problems.append(
            Problem(
                "unknown_node_type",
                f"{label} has unknown type {ntype!r}; expected one of: {', '.join(NODE_CLASSES)}",
                node_ids=[nid] if isinstance(nid, str) else [],
            )
        )
        return None
    try:
        return msgspec.convert(raw, NODE_CLASSES[ntype])
    except RecursionError:
        # Loop bodies nested a few hundred deep exhaust msgspec's recursion limit: an invalid
        # node (422), not a crash.
        problems.append(
            Problem("invalid_config", f"{label} ({ntype}): loop bodies are nested too deeply", node_ids=[nid] if isinstance(nid, str) else [])
        )
        return None
    except msgspec.ValidationError as exc:
        code = "missing_config" if "missing required field" in str(exc).lower() else "invalid_config"
        problems.append(Problem(code, f"{label} ({ntype}): {exc}", node_ids=[nid] if isinstance(nid, str) else []))
        return None


# ---------------------------------------------------------------- graph helpers


def to_digraph(graph: WorkflowGraph) -> nx.DiGraph:
    """Nodes keyed by id (attribute ``node``); edges carry ``id`` and ``source_handle``.
    Dangling edges are left out (validation reports them)."""
    g = nx.DiGraph()
    for node in graph.nodes:
        g.add_node(node.id, node=node)
    for edge in graph.edges:
        if edge.source in g and edge.target in g:
            g.add_edge(edge.source, edge.target, id=edge.id, source_handle=edge.source_handle)
    return g


def parallel_levels(graph: WorkflowGraph) -> list[list[str]]:
    """Topological generations: nodes in one level can run concurrently. [] if cyclic."""
    generations = LevelOrder((n.id for n in graph.nodes), ((e.source, e.target) for e in graph.edges)).generations()
    return [sorted(level) for level in generations or ()]


def iter_all_nodes(graph: WorkflowGraph | Any) -> Iterator[Node]:
    """Every node, including those inside loop bodies (depth first)."""
    # A stack of iterators rather than nested generators: each ``yield from`` level costs a hop
    # per node, so recursion was O(nodes × depth) and hit the recursion limit on deep nesting.
    stack = [iter(graph.nodes)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node
        if isinstance(node, LoopNode):
            stack.append(iter(node.config.body.nodes))


def count_all(graph: WorkflowGraph | Any) -> tuple[int, int]:
    """(nodes, edges) in the whole tree, loop bodies included."""
    nodes, edges = 0, len(graph.edges)
    for node in iter_all_nodes(graph):
        nodes += 1
        if isinstance(node, LoopNode):
            edges += len(node.config.body.edges)
    return nodes, edges


# ---------------------------------------------------------------- validation


def validate_graph(graph: WorkflowGraph) -> ValidationReport:
    """Run every check on a decoded graph."""
    # Size first, over the whole tree: nothing else runs on a graph over the limits, so the
    # work done for any request is bounded by them.
    too_big = _check_size(graph)
    if too_big:
        return ValidationReport(valid=False, problems=too_big)
    problems: list[Problem] = []
    all_ids: dict[str, int] = {}
    for node in iter_all_nodes(graph):
        all_ids[node.id] = all_ids.get(node.id, 0) + 1
    for nid, count in all_ids.items():
        if count > 1:
            problems.append(Problem("duplicate_node_id", f"node id '{nid}' is used {count} times", node_ids=[nid]))
    # One bit per distinct id of the whole tree (ancestor sets are bitsets over these).
    bits = {nid: 1 << i for i, nid in enumerate(all_ids)}
    g = _check_level(graph, problems, bits=bits, outer_ancestors=0, top_level=True, where="")
    levels = [] if problems else [sorted(level) for level in g.generations() or ()]
    return ValidationReport(valid=not problems, problems=problems, levels=levels)


def _check_size(graph: Any) -> list[Problem]:
    n_nodes, n_edges = count_all(graph)
    problems: list[Problem] = []
    if n_nodes > MAX_NODES:
        problems.append(
            Problem(
                "too_many_nodes",
                f"field 'nodes': the workflow has {n_nodes} nodes counting those inside loop bodies; "
                f"at most {MAX_NODES} are allowed",
            )
        )
    if n_edges > MAX_EDGES:
        problems.append(
            Problem(
                "too_many_edges",
                f"field 'edges': the workflow has {n_edges} edges counting those inside loop bodies; "
                f"at most {MAX_EDGES} are allowed",
            )
        )
    return problems


def _check_level(graph: Any, problems: list[Problem], *, bits: dict[str, int], outer_ancestors: int, top_level: bool, where: str) -> LevelOrder:
    """Check one level (the top graph or a loop body), then the bodies of its loops.

    ``outer_ancestors`` is the bitset (see ``bits``) of the ids upstream of the enclosing loop."""
    nodes = {n.id: n for n in graph.nodes}
    g = LevelOrder(nodes, ((e.source, e.target) for e in graph.edges))
    _check_edges(graph, nodes, problems, where)
    acyclic = _check_cycles(graph, g, problems, where)
    inputs = [n.id for n in graph.nodes if node_type(n) == "input"]
    if top_level:
        if not inputs:
            problems.append(Problem("missing_input", "the workflow has no 'input' node"))
        if not any(isinstance(n, OutputNode) for n in graph.nodes):
            problems.append(Problem("missing_output", "the workflow has no 'output' node"))
        if inputs:
            # One search from all inputs at once (was one nx.descendants per input).
            unreachable = sorted(set(nodes) - g.reachable_from(inputs))
            if unreachable:
                problems.append(
                    Problem("unreachable", f"{where}nodes unreachable from an input: {', '.join(unreachable)}", node_ids=unreachable)
                )
        for nid in inputs:
            if g.pred[nid]:
                problems.append(Problem("input_has_incoming", f"input node '{nid}' cannot have incoming edges", node_ids=[nid]))
    else:
        if not graph.nodes:
            problems.append(Problem("empty_loop_body", f"{where}loop body has no nodes"))
        for nid in inputs:
            problems.append(Problem("input_in_loop", f"{where}input node '{nid}' is not allowed inside a loop body", node_ids=[nid]))
    # Ancestors of every node in one topological pass (was nx.ancestors per node: quadratic).
    # With a cycle "upstream" is meaningless; only syntax is checked (the cycle is reported).
    ancestors = _ancestor_bits(g, bits) if acyclic else None
    for node in graph.nodes:
        upstream = ancestors[node.id] | outer_ancestors if ancestors is not None else None
        _check_templates(node, upstream, bits, problems, where)
        if node_type(node) == "code":
            problems.extend(Problem(code, msg, node_ids=[node.id]) for code, msg in code_problems(node.id, node.config.language, node.config.code, where))
        if isinstance(node, WaitNode):
            problems.extend(_wait_problems(node, where, top_level))
        if isinstance(node, TransformNode):
            problems.extend(_transform_problems(node, where))
        if isinstance(node, AgentNode):
            problems.extend(_agent_problems(node, where))
        if isinstance(node, LoopNode):
            body_outer = (ancestors[node.id] if ancestors is not None else 0) | outer_ancestors
            _check_level(
                node.config.body, problems, bits=bits, outer_ancestors=body_outer, top_level=False, where=f"in loop '{node.id}': "
            )
    return g


def _ancestor_bits(g: LevelOrder, bits: dict[str, int]) -> dict[str, int]:
    """node id → bitset of its ancestors' ids, for an acyclic ``g``.

    A node's ancestors are its predecessors and theirs, so one pass in topological order ORs
    them together: O(edges) big-int ORs of at most MAX_NODES bits each."""
    anc: dict[str, int] = {}
    for nid in g.topological() or ():
        mask = 0
        for pred in g.pred[nid]:
            mask |= anc[pred] | bits[pred]
        anc[nid] = mask
    return anc


def _check_edges(graph: Any, nodes: dict[str, Node], problems: list[Problem], where: str) -> None:
    seen_ids: set[str] = set()
    seen_pairs: set[tuple[str, str, str | None]] = set()
    # Handles of each condition node, built once (a list scan per edge was edges × cases).
    handles_of: dict[str, tuple[list[str], set[str]]] = {}
    for edge in graph.edges:
        if edge.id in seen_ids:
            problems.append(Problem("duplicate_edge_id", f"{where}edge id '{edge.id}' is used more than once", edge_ids=[edge.id]))
        seen_ids.add(edge.id)
        missing = [end for end in (edge.source, edge.target) if end not in nodes]
        if missing:
            problems.append(
                Problem(
                    "dangling_edge",
                    f"{where}edge '{edge.id}' ({edge.source} → {edge.target}) refers to unknown node(s): {', '.join(missing)}",
                    node_ids=missing,
                    edge_ids=[edge.id],
                )
            )
            continue
        pair = (edge.source, edge.target, edge.source_handle)
        if pair in seen_pairs:
            problems.append(Problem("duplicate_edge", f"{where}edge '{edge.id}' duplicates another {edge.source} → {edge.target} edge", edge_ids=[edge.id]))
        seen_pairs.add(pair)
        source = nodes[edge.source]
        if isinstance(source, ConditionNode):
            if source.id not in handles_of:
                listed = [c.id for c in source.config.cases] + [source.config.else_]
                handles_of[source.id] = (listed, set(listed))
            handles, handle_set = handles_of[source.id]
            if edge.source_handle not in handle_set:
                problems.append(
                    Problem(
                        "bad_source_handle",
                        f"{where}edge '{edge.id}' leaves condition '{source.id}' through "
                        f"{edge.source_handle!r}, which is not one of its cases: {', '.join(handles)}",
                        node_ids=[source.id],
                        edge_ids=[edge.id],
                    )
                )
        elif edge.source_handle is not None:
            problems.append(
                Problem(
                    "bad_source_handle",
                    f"{where}edge '{edge.id}' has source_handle {edge.source_handle!r} but '{source.id}' is not a condition node",
                    node_ids=[source.id],
                    edge_ids=[edge.id],
                )
            )
    for node in graph.nodes:
        if isinstance(node, ConditionNode):
            counts = Counter(c.id for c in node.config.cases)  # was ids.count(i) per case: quadratic
            dupes = sorted({i for i, n in counts.items() if n > 1} | ({node.config.else_} & counts.keys()))
            if dupes:
                problems.append(Problem("duplicate_case", f"{where}condition '{node.id}' repeats case id(s): {', '.join(dupes)}", node_ids=[node.id]))


def _check_cycles(graph: Any, order: LevelOrder, problems: list[Problem], where: str) -> bool:
    """Report up to MAX_REPORTED_CYCLES cycles, one per strongly connected component.

    Every cycle lies inside one strongly connected component (SCC), and every SCC with more
    than one node (or with a self-loop) holds one, so a DFS per SCC finds one cycle in linear
    time. Enumerating cycles instead (``nx.simple_cycles``) is exponential: a complete graph of
    10 nodes has over a million of them (4 s), one of 12 runs out of memory."""
    if order.acyclic():
        return True
    g = to_digraph(graph)  # only an invalid graph gets here: networkx finds the cycles
    reported = 0
    for component in nx.strongly_connected_components(g):
        if reported >= MAX_REPORTED_CYCLES:
            break
        if len(component) == 1:
            (nid,) = component
            if not g.has_edge(nid, nid):
                continue
            cycle = [nid]
        else:
            cycle = [u for u, _v, *_ in nx.find_cycle(g.subgraph(component))]
        path = " → ".join([*cycle, cycle[0]])
        problems.append(Problem("cycle", f"{where}the graph has a cycle: {path}", node_ids=list(cycle)))
        reported += 1
    return False


def _templated_fields(node: Node) -> Iterable[tuple[str, str, str]]:
    """(field path, source, kind) for every jinja2 field; kind: template | expression | value."""
    if isinstance(node, LlmNode):
        yield "config.prompt", node.config.prompt, "template"
        yield "config.system", node.config.system, "template"
    elif isinstance(node, ConditionNode):
        for i, case in enumerate(node.config.cases):
            yield f"config.cases[{i}].when", case.when, "expression"
    elif isinstance(node, LoopNode):
        yield "config.items", node.config.items, "expression"
    elif isinstance(node, ApiNode):
        yield "config.url", node.config.url, "template"
        for key, val in {**node.config.headers, **node.config.query}.items():
            yield f"config.headers/query[{key}]", val, "template"
        if node.config.body is not None:
            yield "config.body", node.config.body, "template"
    elif node_type(node) == "code":
        for key, val in node.config.inputs.items():
            yield f"config.inputs.{key}", val, "value"
    elif isinstance(node, KnowledgeNode):
        yield "config.query", node.config.query, "template"
    elif isinstance(node, AgentNode):
        yield "config.prompt", node.config.prompt, "template"
        yield "config.system", node.config.system, "template"
    elif isinstance(node, ToolNode):
        yield from _value_strings("config.arguments", node.config.arguments)
    elif isinstance(node, OutputNode):
        for key, val in node.config.outputs.items():
            yield f"config.outputs.{key}", val, "value"
    elif isinstance(node, WaitNode) and node.config.until is not None:
        yield "config.until", node.config.until, "value"
    elif isinstance(node, TransformNode):
        yield from _transform_fields(node)
    elif isinstance(node, WorkflowNode):
        for key, val in node.config.inputs.items():
            yield f"config.inputs.{key}", val, "value"


def _transform_fields(node: TransformNode) -> Iterable[tuple[str, str, str]]:
    """``fields`` are value fields (like outputs); items / where / group_by / of are expressions."""
    config = node.config
    for key, val in config.fields.items():
        yield f"config.fields.{key}", val, "value"
    for name in ("items", "where", "group_by"):
        src = getattr(config, name)
        if src is not None:
            yield f"config.{name}", src, "expression"
    for key, agg in config.aggregates.items():
        if agg.of is not None:
            yield f"config.aggregates.{key}.of", agg.of, "expression"


def _transform_problems(node: TransformNode, where: str) -> list[Problem]:
    """What each transform mode needs: items (list modes), where (filter), aggregates (aggregate,
    each with ``of`` unless it counts), fields (set / map)."""
    config, label = node.config, f"{where}node '{node.id}' (transform, mode '{node.config.mode}')"
    missing: list[str] = []
    if config.mode != "set" and not config.items:
        missing.append("config.items is required (an expression yielding the list)")
    if config.mode in ("set", "map") and not config.fields:
        missing.append("config.fields needs at least one field")
    if config.mode == "filter" and not config.where:
        missing.append("config.where is required (an expression, truthy for the items to keep)")
    if config.mode == "aggregate":
        if not config.aggregates:
            missing.append("config.aggregates needs at least one aggregate {op, of}")
        missing += [f"config.aggregates.{k}.of is required for op '{a.op}'" for k, a in config.aggregates.items()
                    if a.op != "count" and not a.of]
        if config.group_by and "key" in config.aggregates:
            missing.append("config.aggregates.key clashes with the group key ('key') of group_by")
    return [Problem("invalid_config", f"{label}: {m}", node_ids=[node.id]) for m in missing]


def _value_strings(path: str, value: Any) -> Iterable[tuple[str, str, str]]:
    if isinstance(value, str):
        yield path, value, "value"
    elif isinstance(value, dict):
        for key, val in value.items():
            yield from _value_strings(f"{path}.{key}", val)
    elif isinstance(value, list):
        for i, val in enumerate(value):
            yield from _value_strings(f"{path}[{i}]", val)


def _check_templates(node: Node, upstream: int | None, bits: dict[str, int], problems: list[Problem], where: str) -> None:
    """Syntax of every templated field; with ``upstream`` (bitset of the ids upstream of
    ``node``, see ``bits``), also that each ``nodes.<id>`` reference is upstream."""
    for path, src, kind in _templated_fields(node):
        if kind == "expression":
            error = syntax_error(src, expression=True)
        elif kind == "value":
            error = value_syntax_error(src)
        else:
            error = syntax_error(src)
        if error:
            problems.append(Problem("template_syntax", f"{where}node '{node.id}' {path}: jinja2 syntax error: {error}", node_ids=[node.id]))
            continue
        if upstream is None or (kind == "value" and "{{" not in src and "{%" not in src):
            continue
        refs = referenced_nodes(src, expression=kind == "expression")
        for ref in sorted(r for r in refs if not upstream & bits.get(r, 0)):
            problems.append(
                Problem(
                    "reference_not_upstream",
                    f"{where}node '{node.id}' {path} references nodes.{ref}, which is not upstream of '{node.id}'",
                    node_ids=[node.id, ref],
                )
            )


# ---------------------------------------------------------------- entry points


def validate_data(data: Any) -> tuple[WorkflowGraph | None, ValidationReport]:
    """Decode and validate raw data (dict) or an already-decoded graph.

    Returns ``(None, report)`` unless the graph decoded completely."""
    graph, problems = decode_graph(data)
    if graph is None:
        return None, ValidationReport(valid=False, problems=problems)
    if not problems:
        return graph, validate_graph(graph)
    # Some nodes did not decode: report graph problems that do not stem from their absence.
    bad_ids = _undecoded_ids(data, graph)
    for problem in validate_graph(graph).problems:
        if problem.code in {"unreachable", "missing_input", "missing_output"} and bad_ids:
            continue
        if problem.code == "dangling_edge" and set(problem.node_ids) <= bad_ids:
            continue
        problems.append(problem)
    return None, ValidationReport(valid=False, problems=problems)


def _undecoded_ids(data: dict[str, Any], graph: WorkflowGraph) -> set[str]:
    decoded = {n.id for n in graph.nodes}
    raw_ids = {n.get("id") for n in data.get("nodes", []) if isinstance(n, dict) and isinstance(n.get("id"), str)}
    return raw_ids - decoded


def ensure_valid(graph_or_data: WorkflowGraph | dict[str, Any]) -> WorkflowGraph:
    """Return the decoded graph, or raise GraphValidationError (422) listing every problem."""
    graph, report = validate_data(graph_or_data)
    if graph is None or not report.valid:
        raise GraphValidationError(report.problems)
    return graph


def _agent_problems(node: AgentNode, where: str) -> list[Problem]:
    """Every ``tools`` reference of an ``agent`` has a known prefix and names something."""
    from pilot.agents.toolset import ref_problem  # imports the engine's runners: not at module load

    label = f"{where}node '{node.id}' (agent)"
    return [Problem("invalid_config", f"{label}: config.tools[{i}]: {problem}", node_ids=[node.id])
            for i, ref in enumerate(node.config.tools) if (problem := ref_problem(ref))]


def _wait_problems(node: WaitNode, where: str, top_level: bool) -> list[Problem]:
    """A ``wait`` sets exactly one of duration_s / until / approval; a literal ``until`` is a
    timestamp; a wait pauses the whole run, so it cannot sit inside a loop body."""
    from pilot.engine.nodes.wait import until_error

    config, label = node.config, f"{where}node '{node.id}' (wait)"
    problems: list[Problem] = []
    chosen = [name for name in ("duration_s", "until", "approval") if getattr(config, name) is not None]
    if len(chosen) != 1:
        got = ", ".join(chosen) if chosen else "none"
        problems.append(Problem("invalid_config", f"{label}: set exactly one of config.duration_s, config.until, config.approval (got {got})",
                                node_ids=[node.id]))
    if config.offset_s is not None and config.until is None:
        problems.append(Problem("invalid_config", f"{label}: config.offset_s moves config.until and needs it set",
                                node_ids=[node.id]))
    if config.until is not None and "{{" not in config.until and "{%" not in config.until:
        error = until_error(config.until)
        if error:
            problems.append(Problem("invalid_config", f"{label}: config.until: {error}", node_ids=[node.id]))
    if not top_level:
        problems.append(Problem("wait_in_loop", f"{label}: a wait pauses the whole run and is not allowed inside a loop body",
                                node_ids=[node.id]))
    return problems
