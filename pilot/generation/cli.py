"""CLI commands of the generation domain: ``pilot generate "PROMPT" [--json]`` and ``pilot eval``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import msgspec

from pilot.workflows.model import LoopNode, node_type


def _describe(node) -> str:
    cfg = node.config
    kind = node_type(node)
    detail = {
        "llm": lambda: f"model={cfg.model}",
        "tool": lambda: f"tool={cfg.tool}" + (f" → {cfg.arguments['payload']['integration']}"
                                              if isinstance(cfg.arguments.get("payload"), dict) and "integration" in cfg.arguments["payload"] else ""),
        "api": lambda: f"{cfg.method} {cfg.url}",
        "knowledge": lambda: f"kb={cfg.knowledge_base} top_k={cfg.top_k}",
        "condition": lambda: " | ".join(f"{c.id}: {c.when}" for c in cfg.cases) + f" | else: {cfg.else_}",
        "loop": lambda: f"items={cfg.items}",
        "input": lambda: "fields=" + ", ".join(f.name for f in cfg.fields),
        "output": lambda: "outputs=" + ", ".join(cfg.outputs),
    }.get(kind, lambda: "")()
    return f"[{kind}] {node.id} — {node.title}  ({detail})"


def render_tree(graph, indent: str = "  ") -> list[str]:
    """Nodes in run order with their outgoing edges (branch handles shown), loop bodies nested."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in graph.nodes)
    g.add_edges_from((e.source, e.target) for e in graph.edges)
    by_id = {n.id: n for n in graph.nodes}
    lines: list[str] = []
    for nid in nx.lexicographical_topological_sort(g):
        node = by_id[nid]
        lines.append(indent + _describe(node))
        for e in graph.edges:
            if e.source == nid:
                lines.append(f"{indent}    └─{'[' + e.source_handle + ']' if e.source_handle else ''}→ {e.target}")
        if isinstance(node, LoopNode):
            lines.extend(render_tree(node.config.body, indent + "      "))
    return lines


@click.command("generate")
@click.argument("prompt")
@click.option("--json", "as_json", is_flag=True, help="print the full response (workflow, blueprint, ...) as JSON")
def generate_command(prompt: str, as_json: bool) -> None:
    """Turn PROMPT into a workflow (not saved) and print it as a tree, or JSON with --json."""
    from pilot.core.errors import PilotError
    from pilot.generation.service import GenerationService
    from pilot.settings import get_settings
    from pilot.templates.catalog import default_catalog

    service = GenerationService(default_catalog(), get_settings())
    try:
        result = asyncio.run(service.generate(prompt, save=False))
    except PilotError as exc:
        raise click.ClickException(exc.detail) from exc
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(result), indent=2).decode())
        return
    bp, wf, est = result.blueprint, result.workflow, result.estimate
    click.echo(f"{wf.name}")
    click.echo(f"  template: {bp.template_id} (confidence {bp.confidence:.2f}, {bp.source}, {bp.language})"
               + (f"  schedule: {wf.settings.schedule}" if wf.settings.schedule else ""))
    if bp.entities.integrations:
        click.echo(f"  integrations: {', '.join(bp.entities.integrations)}")
    click.echo(f"  estimate: {est.llm_calls} LLM calls, ${est.cost_usd:.4f}, ~{est.duration_s:.1f}s")
    for line in render_tree(msgspec.structs.replace(wf)):
        click.echo(line)
    click.echo("  alternatives: " + ", ".join(f"{r.template_id} ({r.score:.2f})" for r in result.recommendations[1:]))


@click.command("eval")
@click.option("--n8n-sample", type=int, default=None, help="score about N n8n templates instead of all 1,479")
@click.option("--no-n8n", is_flag=True, help="skip the n8n catalog")
@click.option("--json", "as_json", is_flag=True)
@click.option("--misses", is_flag=True, help="list the requests that missed")
def eval_command(n8n_sample: int | None, no_n8n: bool, as_json: bool, misses: bool) -> None:
    """Run the generation evals (same as ``python -m evals``)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "evals").is_dir() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from evals.__main__ import main as evals_main

    args = [*(["--n8n-sample", str(n8n_sample)] if n8n_sample else []), *(["--no-n8n"] if no_n8n else []),
            *(["--json"] if as_json else []), *(["--misses"] if misses else [])]
    sys.exit(evals_main(args))
