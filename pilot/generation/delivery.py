"""Delivery and branching for the generator: a tool node per destination (``slack``, ``email``,
a group bot ``feishu``/``dingtalk``/``wecom``, or ``webhook`` naming the service), the request's own condition with real ``match``/``else``
branches, and the expression for "the result so far" they act on."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from pilot.generation import conditions as cond
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
# Group-bot connectors (pilot/tools/chatbots.py): ``webhook_url`` + ``text``, their own JSON shape.
BOT_TOOLS = frozenset({"feishu", "dingtalk", "wecom"})
# Hosts a bot's webhook URL lives on: a URL in the request on one of them is that bot's address.
BOT_HOSTS = {
    "feishu": ("open.feishu.cn", "open.larksuite.com"),
    "dingtalk": ("oapi.dingtalk.com",),
    "wecom": ("qyapi.weixin.qq.com",),
}
URL_RE = re.compile(r"https?://[^\s\"'<>，。；、）)]+")


def is_bot_url(url: str) -> bool:
    """Whether ``url`` is a group bot's webhook (a delivery address, never a page to fetch)."""
    host = url.split("/", 3)[2].split(":")[0].lower() if "://" in url else ""
    return any(host in hosts for hosts in BOT_HOSTS.values())


def bot_url(tool: str, prompt: str) -> str | None:
    """The bot's webhook URL when the request gives one (on the bot's own host), else None."""
    for url in URL_RE.findall(prompt):
        host = url.split("/", 3)[2].split(":")[0].lower()
        if host in BOT_HOSTS.get(tool, ()):
            return url
    return None


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
    elif integ.tool in BOT_TOOLS:
        url = bot_url(integ.tool, prompt) or "{{ " + d.add_input_field(
            webhook_field(dest), required=True, description=hook_description(integ)) + " }}"
        args = {"webhook_url": url, "text": body}
    else:
        url_ref = d.add_input_field(webhook_field(dest), required=True, description=hook_description(integ))
        args = {"url": f"{{{{ {url_ref} }}}}", "payload": {"integration": dest, "text": body}}
    verb = "发送到" if zh else "Send to"
    return add_node(d, ToolNode(id=d.unique(f"notify_{dest}"), title=f"{verb} {integ.name}",
                            config=ToolConfig(tool=integ.tool, arguments=args)))

def add_condition(d: Draft, bp: WorkflowBlueprint, out: str, tool_ids: list[str], text_ref: str, prompt: str, zh: bool,
                  gate: list[str] | None = None) -> str:
    """The request's "if …" as a condition node with real ``match``/``else`` branches.

    With ``gate`` (delivery nodes already in the graph, e.g. the template's own), the condition
    sits right before them: their inputs now feed the condition, ``match`` leads to each of them
    (and to the new ``tool_ids``), ``else`` goes straight on to the output (the engine skips the
    untaken deliveries; the output joins whichever branch ran). Without it, the condition sits
    before the output and ``match`` leads to the new tools, or to an LLM step when there are none."""
    raw = cond.keyword(bp.entities.condition_terms[0]) if bp.entities.condition_terms else ("urgent" if not zh else "紧急")
    term = cond.display(raw, prompt)
    cid = d.unique("check_condition")
    d.add(ConditionNode(id=cid, title=(f"判断：{term}" if zh else f"Check: {term}"),
                        config=ConditionConfig(cases=[ConditionCase(id="match", when=cond.match_expression(raw, text_ref))])))
    if gate:
        _gate(d, cid, gate)
    else:
        d.splice_before(out, [cid])
        # the branch edges: remove the plain cid→out edge and wire real branches
        d.edges = [x for x in d.edges if not (x.source == cid and x.target == out)]
    then_ids = tool_ids or ([] if gate else [add_node(d, LlmNode(
        id=d.unique("handle_match"), title="满足条件时处理" if zh else "When it matches",
        config=LlmConfig(prompt=f"{'条件成立' if zh else 'The condition holds'} ({safe_text(term)}). "
                                f"{safe_text(prompt[:300])}\n\n{{{{ {text_ref} }}}}")))])
    for tid in then_ids:
        d.connect(cid, tid, "match")
        d.connect(tid, out)
    # An "otherwise" step only when the request says what to do otherwise (or nothing else hangs
    # off the condition); a gated delivery's else branch simply goes on to the output.
    if has_else(prompt.lower()) or not (tool_ids or gate):
        other = add_node(d, LlmNode(
            id=d.unique("handle_otherwise"), title="否则" if zh else "Otherwise",
            config=LlmConfig(prompt=f"{'条件不成立' if zh else 'The condition does not hold'}. "
                                    f"{safe_text(prompt[:300])}\n\n{{{{ {text_ref} }}}}")))
        d.connect(cid, other, "else")
        d.connect(other, out)
    else:
        d.connect(cid, out, "else")
    return cid


def _gate(d: Draft, cid: str, gate: list[str]) -> None:
    """X → delivery becomes X → condition ─match→ delivery (same source handles, once each)."""
    members = set(gate)
    into = [e for e in d.edges if e.target in members and e.source not in members]
    d.edges = [e for e in d.edges if e not in into]
    seen: set[tuple[str, str | None]] = set()
    for e in into:
        if (e.source, e.source_handle) not in seen:
            seen.add((e.source, e.source_handle))
            d.connect(e.source, cid, e.source_handle)
    for tid in dict.fromkeys(e.target for e in into):  # a delivery chained after another stays after it
        d.connect(cid, tid, "match")


def delivery_nodes(d: Draft, destinations: list[str]) -> list[str]:
    """The graph's tool nodes that deliver to one of ``destinations`` (template-provided ones included)."""
    keys = {dest_key(x) for x in destinations}
    return [n.id for n in d.of_type("tool") if tool_key(n) in keys]


def webhook_field(dest: str | None) -> str:
    """The run input holding a service's webhook URL: ``feishu_webhook_url``; plain ``webhook_url``."""
    return "webhook_url" if dest in (None, "", "webhook") else f"{dest}_webhook_url"


def hook_description(integ: ent.Integration | None) -> str:
    """"Feishu / Lark (飞书) webhook URL, like https://open.feishu.cn/open-apis/bot/v2/hook/<token>":
    the shape of the URL, with no token-like placeholder anyone could mistake for a value."""
    if integ is None:
        return "Webhook URL"
    shape = re.sub(r"YOUR_[A-Z]+", "<token>", integ.hook_url)
    return f"{integ.name} webhook URL" + (f", like {shape}" if shape else "")


# Template parameters must be plain text (no runtime jinja), so a delivery target the request
# does not give goes into the template as this marker, then becomes ``{{ inputs.<field> }}``.
RUN_INPUT = "pilot-run-input:"


def ask_delivery_inputs(d: Draft, covered: str | None) -> None:
    """Delivery arguments marked :data:`RUN_INPUT` (no URL or address in the request) become
    ``{{ inputs.<field> }}`` and the field a required run input: a delivery target is asked for
    when the run starts, never shipped as a placeholder (``…/hook/YOUR_TOKEN``)."""
    integ = ent.BY_ID.get(covered or "")
    for node in d.of_type("tool"):
        args = dict(node.config.arguments)
        marked = {k: v[len(RUN_INPUT):] for k, v in args.items() if isinstance(v, str) and v.startswith(RUN_INPUT)}
        if not marked:
            continue
        for key, name in marked.items():
            if node.config.tool == "email":
                description = "Recipient address"
            else:
                description = hook_description(integ)
            args[key] = f"{{{{ {d.add_input_field(name, required=True, description=description)} }}}}"
        d.replace(msgspec.structs.replace(node, config=msgspec.structs.replace(node.config, arguments=args)))


def name_integration(d: Draft, integration: str, zh: bool) -> None:
    """The template's own webhook delivery now goes to ``integration``: say so in its config and title."""
    integ = ent.BY_ID[integration]
    for node in d.of_type("tool"):
        args = node.config.arguments
        if node.config.tool != "webhook" or args.get("url") not in (integ.hook_url, f"{{{{ inputs.{webhook_field(integration)} }}}}"):
            continue
        payload = args.get("payload")
        payload = {"integration": integration, **payload} if isinstance(payload, dict) else {"integration": integration, "data": payload}
        config = msgspec.structs.replace(node.config, arguments={**args, "payload": payload})
        title = f"{'发送到' if zh else 'Send to'} {integ.name}"
        d.replace(msgspec.structs.replace(node, config=config, title=title))


def to_group_bot(d: Draft, integration: str, zh: bool) -> None:
    """The template's own webhook delivery now goes to a group bot: it becomes a ``feishu`` /
    ``dingtalk`` / ``wecom`` node posting the text the payload carried to the same URL."""
    integ = ent.BY_ID[integration]
    for node in d.of_type("tool"):
        args = node.config.arguments
        if node.config.tool != "webhook" or not isinstance(args.get("url"), str):
            continue
        config = msgspec.structs.replace(node.config, tool=integ.tool,
                                         arguments={"webhook_url": args["url"], "text": payload_text(args.get("payload"))})
        d.replace(msgspec.structs.replace(node, config=config, title=f"{'发送到' if zh else 'Send to'} {integ.name}"))


_TEXT_KEYS = ("text", "content", "digest", "summary", "body", "answer")  # a payload's main text


def payload_text(payload: Any) -> str:
    """The text a webhook payload delivers: its main templated string (``digest``, ``text`` …),
    else one ``key: value`` line per field (nested keys dotted), so a bot shows what the payload said."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        for key in _TEXT_KEYS:
            if isinstance(payload.get(key), str) and "{{" in payload[key]:
                return payload[key]
        return "\n".join(f"{key}: {value}" for key, value in _flat(payload))
    return msgspec.json.encode(payload).decode()


def _flat(payload: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in payload.items():
        if isinstance(value, dict):
            rows.extend(_flat(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value if isinstance(value, str) else msgspec.json.encode(value).decode()))
    return rows


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


_keyword, _quote = cond.keyword, cond.quote  # kept for callers of the old names


def safe_text(text: str) -> str:
    """User text placed in a prompt template must not be template syntax itself."""
    return re.sub(r"[{}]|\{%|%\}", " ", text).replace("{#", " ").replace("#}", " ")
