"""Delivery and branching for the generator: a tool node per destination (``slack``, ``email``,
or ``webhook`` naming the service), the request's own condition with real ``match``/``else``
branches, and the expression for "the result so far" they act on."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from pilot.generation import entities as ent
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compose import Draft
from pilot.generation.features import has_else
from pilot.workflows.model import (
    ConditionCase,
    ConditionConfig,
    ConditionNode,
    LlmConfig,
    LlmNode,
    ToolConfig,
    ToolNode,
    node_type,
)

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CHANNEL_RE = re.compile(r"(?<![\w&])#[A-Za-z0-9][\w-]{0,79}")


def add_tool(d: Draft, dest: str, text_ref: str, prompt: str, zh: bool) -> str:
    integ = ent.BY_ID[dest]
    body = f"{{{{ {text_ref} }}}}"
    if integ.tool == "slack":
        channels = CHANNEL_RE.findall(prompt)
        args: dict[str, Any] = {"text": body, **({"channel": channels[0]} if channels else {})}
    elif integ.tool == "email":
        # Where to deliver is asked for when the run starts (a required input), never guessed.
        emails = EMAIL_RE.findall(prompt)
        to = emails[0] if emails else f"{{{{ {d.add_input_field('email_to', required=True, description='Recipient address')} }}}}"
        args = {"to": to, "subject": "πlot: " + ("工作流结果" if zh else "workflow result"), "body": body}
    else:
        example = f", e.g. {integ.hook_url}" if integ.hook_url else ""
        url_ref = d.add_input_field(f"{dest}_webhook_url", required=True, description=f"{integ.name} webhook URL{example}")
        args = {"url": f"{{{{ {url_ref} }}}}", "payload": {"integration": dest, "text": body}}
    verb = "发送到" if zh else "Send to"
    return add_node(d, ToolNode(id=d.unique(f"notify_{dest}"), title=f"{verb} {integ.name}",
                            config=ToolConfig(tool=integ.tool, arguments=args)))

def add_condition(d: Draft, bp: WorkflowBlueprint, out: str, tool_ids: list[str], text_ref: str, prompt: str, zh: bool) -> None:
    term = _keyword(bp.entities.condition_terms[0]) if bp.entities.condition_terms else ("urgent" if not zh else "紧急")
    cid = d.unique("check_condition")
    when = f"{_quote(term.lower())} in ({text_ref} | string | lower)"
    d.add(ConditionNode(id=cid, title=(f"判断：{term}" if zh else f"Check: {term}"),
                        config=ConditionConfig(cases=[ConditionCase(id="match", when=when)])))
    d.splice_before(out, [cid])
    # the branch edges: remove the plain cid→out edge and wire real branches
    d.edges = [x for x in d.edges if not (x.source == cid and x.target == out)]
    then_ids = tool_ids or [add_node(d, LlmNode(
        id=d.unique("handle_match"), title="满足条件时处理" if zh else "When it matches",
        config=LlmConfig(prompt=f"{'条件成立' if zh else 'The condition holds'} ({safe_text(term)}). "
                                f"{safe_text(prompt[:300])}\n\n{{{{ {text_ref} }}}}")))]
    for tid in then_ids:
        d.connect(cid, tid, "match")
        d.connect(tid, out)
    if has_else(prompt.lower()) or not tool_ids:
        other = add_node(d, LlmNode(
            id=d.unique("handle_otherwise"), title="否则" if zh else "Otherwise",
            config=LlmConfig(prompt=f"{'条件不成立' if zh else 'The condition does not hold'}. "
                                    f"{safe_text(prompt[:300])}\n\n{{{{ {text_ref} }}}}")))
        d.connect(cid, other, "else")
        d.connect(other, out)
    else:
        d.connect(cid, out, "else")


def name_integration(d: Draft, integration: str, zh: bool) -> None:
    """The template's own webhook delivery now goes to ``integration``: say so in its config and title."""
    integ = ent.BY_ID[integration]
    for node in d.of_type("tool"):
        args = node.config.arguments
        if node.config.tool != "webhook" or args.get("url") != integ.hook_url:
            continue
        payload = args.get("payload")
        payload = {"integration": integration, **payload} if isinstance(payload, dict) else {"integration": integration, "data": payload}
        config = msgspec.structs.replace(node.config, arguments={**args, "payload": payload})
        title = f"{'发送到' if zh else 'Send to'} {integ.name}"
        d.replace(msgspec.structs.replace(node, config=config, title=title))


def add_node(d: Draft, node) -> str:
    d.add(node)
    return node.id


def tool_key(node) -> str:
    cfg = node.config
    integ = (cfg.arguments.get("payload") or {}).get("integration") if isinstance(cfg.arguments.get("payload"), dict) else None
    return integ or cfg.tool


def dest_key(dest: str) -> str:
    tool = ent.BY_ID[dest].tool
    return tool if tool in ("slack", "email") else dest


def text_ref(d: Draft, producers: list[str]) -> str:
    """An expression for "the result so far": the nearest LLM node that runs before *every*
    producer of the output (so it is never on a skipped branch), else the first producer."""
    preds: dict[str, list[str]] = {}
    for e in d.edges:
        preds.setdefault(e.target, []).append(e.source)

    def ancestors(nid: str) -> set[str]:
        seen, stack = set(), [nid]
        while stack:
            for p in preds.get(stack.pop(), []):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    if not producers:
        return "inputs"
    common = set.intersection(*({p} | ancestors(p) for p in producers))
    frontier, seen = list(producers), set()
    while frontier:  # breadth first, backwards from the output
        nxt = []
        for nid in frontier:
            if nid in seen:
                continue
            seen.add(nid)
            if nid in common and node_type(d.node(nid)) == "llm":
                return f"nodes.{nid}.output"
            nxt.extend(preds.get(nid, []))
        frontier = nxt
    return f"nodes.{producers[0]}.output"


def _keyword(term: str) -> str:
    """The word a condition tests for: the last content word ("the sentiment is negative" → "negative")."""
    term = re.sub(r"[{}<>%#'\"\\]", " ", term).strip()
    if re.search(r"[\u4e00-\u9fff]", term):
        return re.sub(r"^(是|为|有|出现)", "", term)[:12] or term[:12]
    words = [w for w in re.findall(r"[a-z0-9$.%-]+", term) if w not in {"is", "are", "the", "a", "an", "it", "its", "was"}]
    return words[-1] if words else "yes"


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "").replace("'", "") + "'"


def safe_text(text: str) -> str:
    """User text placed in a prompt template must not be template syntax itself."""
    return re.sub(r"[{}]|\{%|%\}", " ", text).replace("{#", " ").replace("#}", " ")
