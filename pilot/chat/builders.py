"""Graph queries and new-node builders shared by the edit planners (pure functions)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import networkx as nx

from pilot.chat.edits import UpdateNode, unique_id
from pilot.chat.phrases import INTEGRATIONS
from pilot.generation.services import BOT_TOOLS
from pilot.workflows.model import (
    InputNode,
    LlmNode,
    LoopNode,
    Node,
    OutputNode,
    ToolNode,
    WorkflowGraph,
    node_type,
)
from pilot.workflows.validation import iter_all_nodes, to_digraph

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s\"'<>，。]+")
_CHANNEL = re.compile(r"(?<![A-Za-z0-9_#])#[A-Za-z0-9_-]{1,80}")


def all_ids(graph: WorkflowGraph) -> set[str]:
    return {n.id for n in iter_all_nodes(graph)}


def input_node(graph: WorkflowGraph) -> InputNode | None:
    return next((n for n in graph.nodes if isinstance(n, InputNode)), None)


def output_node(graph: WorkflowGraph) -> OutputNode | None:
    return next((n for n in graph.nodes if isinstance(n, OutputNode)), None)


def topo_nodes(graph: WorkflowGraph) -> list[Node]:
    """Top-level nodes in a stable topological order."""
    g = to_digraph(graph)
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    by_id = {n.id: n for n in graph.nodes}
    try:
        ids = list(nx.lexicographical_topological_sort(g, key=lambda nid: order[nid]))
    except nx.NetworkXUnfeasible:
        ids = list(order)
    return [by_id[i] for i in ids]


def predecessors(graph: WorkflowGraph, node_id: str) -> list[str]:
    return [e.source for e in graph.edges if e.target == node_id]


def successors(graph: WorkflowGraph, node_id: str) -> list[str]:
    return [e.target for e in graph.edges if e.source == node_id]


def main_input_field(graph: WorkflowGraph) -> str | None:
    """The input field a step most likely processes: first required string field."""
    node = input_node(graph)
    if node is None or not node.config.fields:
        return None
    for f in node.config.fields:
        if f.required and f.type == "string":
            return f.name
    return node.config.fields[0].name


def llm_nodes(graph: WorkflowGraph) -> list[LlmNode]:
    return [n for n in iter_all_nodes(graph) if isinstance(n, LlmNode)]


def result_text_expr(graph: WorkflowGraph) -> str:
    """A value template for "the result" of the workflow, built from the output node's values
    (so it only references what the output already references: always upstream of it)."""
    out = output_node(graph)
    if out is None or not out.config.outputs:
        field = main_input_field(graph)
        return f"{{{{ inputs.{field} }}}}" if field else "done"
    exprs = {k: v for k, v in out.config.outputs.items() if "{{" in v or "{%" in v}
    if len(exprs) == 1 or (exprs and len(out.config.outputs) == 1):
        return next(iter(exprs.values()))
    items = exprs or out.config.outputs
    return "\n".join(f"{key}: {value}" for key, value in items.items())


def add_input_field_op(graph: WorkflowGraph, name: str, *, type_: str = "string", description: str = "",
                       required: bool = True) -> UpdateNode | None:
    """An update adding ``name`` to the input node's fields (None if it is already declared)."""
    node = input_node(graph)
    if node is None or any(f.name == name for f in node.config.fields):
        return None
    fields = msgspec.to_builtins(node.config.fields)
    fields.append({"name": name, "type": type_, "required": required, "description": description})
    return UpdateNode(node_id=node.id, config={"fields": fields})


def tool_integration(node: Node) -> str | None:
    """Which integration a tool node talks to (by tool name, then id/title words)."""
    if not isinstance(node, ToolNode):
        return None
    text = f"{node.id} {node.title}".lower()
    for key, (_, aliases, _) in INTEGRATIONS.items():
        if key not in ("email", "slack", "webhook") and any(a.strip() in text for a in aliases):
            return key
    return node.config.tool if node.config.tool in INTEGRATIONS else None


def notification_node(graph: WorkflowGraph, key: str, text: str, *, node_id: str | None = None) -> tuple[dict[str, Any], list[UpdateNode]]:
    """A tool node sending the workflow's result through integration ``key``, plus the input
    field updates it needs (a recipient or webhook URL the user did not give)."""
    tool, _, display = INTEGRATIONS[key]
    body = result_text_expr(graph)
    extra: list[UpdateNode] = []
    if key == "email":
        address = _EMAIL.search(text)
        to = address.group(0) if address else "{{ inputs.notify_email }}"
        if not address and (op := add_input_field_op(graph, "notify_email", description="Email address that receives the result")):
            extra.append(op)
        arguments: dict[str, Any] = {"to": to, "subject": "Your workflow result", "body": body}
        title, base = "Email the result", "send_email"
    elif key == "slack":
        arguments = {"text": body}
        if channel := _CHANNEL.search(text):
            arguments["channel"] = channel.group(0)
        title, base = "Post to Slack", "notify_slack"
    else:
        url = _URL.search(text)
        field = f"{key}_webhook_url"
        if not url and (op := add_input_field_op(graph, field, description=f"{display} webhook URL")):
            extra.append(op)
        target = url.group(0) if url else f"{{{{ inputs.{field} }}}}"
        if tool in BOT_TOOLS:  # group bots have their own connectors (pilot/tools/chatbots.py)
            arguments = {"webhook_url": target, "text": body}
        else:
            payload: Any = {"content": body} if key == "discord" else {"text": body}
            arguments = {"url": target, "payload": payload}
        title, base = ("Call the webhook" if key == "webhook" else f"Send to {display}"), f"notify_{key}"
    node = {
        "id": node_id or unique_id(base, all_ids(graph)),
        "type": "tool",
        "title": title,
        "config": {"tool": tool, "arguments": arguments},
        "retry": {"max_attempts": 3, "initial_delay_s": 2, "backoff": 2, "max_delay_s": 30},
    }
    return node, extra


def llm_step_node(graph: WorkflowGraph, *, base: str, title: str, instruction: str, model: str | None = None) -> dict[str, Any]:
    """An llm node that applies ``instruction`` to the workflow's result."""
    models = [n.config.model for n in llm_nodes(graph)]
    return {
        "id": unique_id(base, all_ids(graph)),
        "type": "llm",
        "title": title,
        "config": {
            "model": model or (max(set(models), key=models.count) if models else "gpt-4o-mini"),
            "temperature": 0.3,
            "system": "You are a careful assistant. Follow the instruction exactly and return only the result.",
            "prompt": f"{instruction}\n\nText:\n\"\"\"\n{result_text_expr(graph)}\n\"\"\"",
        },
    }


def has_loop(graph: WorkflowGraph) -> LoopNode | None:
    return next((n for n in graph.nodes if isinstance(n, LoopNode)), None)


def type_of(node: Node) -> str:
    return node_type(node)
