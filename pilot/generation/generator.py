"""``WorkflowGenerator``: blueprint → a valid, laid-out workflow graph.

1. Instantiate the chosen template with parameters derived from the blueprint (schedule,
   languages, delivery channel, destination); a parameter the template refuses is dropped.
2. Compose what the request asks for and the template lacks:
   - an ``api`` node per data-source integration / URL (after the input), and a ``knowledge``
     node when it answers from documents; downstream LLM prompts get the new data as context;
   - a ``loop`` over the items when it works item by item;
   - a ``condition`` with real branches (case → the action, else → straight on or an
     "otherwise" step) when it says if / otherwise;
   - a ``tool`` node per destination integration (``slack``, ``email``; other services use the
     ``webhook`` tool with the integration named in its arguments);
   - the schedule into ``settings.schedule``.
3. ``ensure_valid`` + ``apply_layout``. A composition bug that yields an invalid graph raises
   :class:`GenerationError` (500) with the validator's report logged, never a silent bad graph.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec

from pilot.core.errors import GraphValidationError, PilotError, UnprocessableError
from pilot.generation import entities as ent
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compose import Draft
from pilot.generation.features import has_else
from pilot.workflows.layout import apply_layout
from pilot.workflows.model import (
    ApiConfig,
    ApiNode,
    ConditionCase,
    ConditionConfig,
    ConditionNode,
    KnowledgeConfig,
    KnowledgeNode,
    LlmConfig,
    LlmNode,
    LoopConfig,
    LoopNode,
    SubGraph,
    ToolConfig,
    ToolNode,
    WorkflowGraph,
    WorkflowSettings,
    node_type,
)
from pilot.workflows.validation import ensure_valid

log = logging.getLogger("pilot.generation")

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French", "de": "German",
                  "es": "Spanish", "pt": "Portuguese", "it": "Italian", "ru": "Russian", "ar": "Arabic", "vi": "Vietnamese",
                  "th": "Thai", "id": "Indonesian"}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CHANNEL = re.compile(r"(?<![\w&])#[A-Za-z0-9][\w-]{0,79}")


class GenerationError(PilotError):
    """The generator produced a graph that does not validate: a bug on our side, not bad input."""

    status_code = 500
    default_detail = "workflow generation failed"


class WorkflowGenerator:
    """Builds workflows from blueprints over a template catalog (``runtime.templates``)."""

    def __init__(self, catalog: Any) -> None:
        self.catalog = catalog

    def generate(self, blueprint: WorkflowBlueprint, prompt: str = "") -> WorkflowGraph:
        template_id = blueprint.template_id if blueprint.template_id in self.catalog else self.catalog.ids()[0]
        params, covered = self._derive_params(template_id, blueprint, prompt)
        base = self._instantiate(template_id, params)
        draft = Draft(base.nodes, base.edges)
        try:
            self._compose(draft, blueprint, prompt, covered if params.get("channel") else None)
        except (KeyError, StopIteration, ValueError, msgspec.ValidationError) as exc:
            log.error("generation: composing %s failed: %r", template_id, exc)
            raise GenerationError(f"workflow generation failed while composing template {template_id!r}") from exc
        schedule = blueprint.entities.schedule.cron if blueprint.entities.schedule else base.settings.schedule
        settings = msgspec.structs.replace(base.settings, schedule=schedule) if base.settings else WorkflowSettings(schedule=schedule)
        graph = WorkflowGraph(nodes=draft.nodes, edges=draft.edges, settings=settings)
        try:
            return apply_layout(ensure_valid(graph))
        except GraphValidationError as exc:
            log.error(
                "generation produced an invalid graph (template %s, blueprint %s): %s",
                template_id, msgspec.json.encode(blueprint).decode()[:2000], exc.extra,
            )
            raise GenerationError("workflow generation produced an invalid graph", extra={"problems": exc.extra}) from exc

    # ---------------------------------------------------------------- parameters

    def params_for(self, template_id: str, bp: WorkflowBlueprint, prompt: str) -> dict[str, Any]:
        """Template parameters the request determines (only those the template declares)."""
        return self._derive_params(template_id, bp, prompt)[0]

    def _derive_params(self, template_id: str, bp: WorkflowBlueprint, prompt: str) -> tuple[dict[str, Any], str | None]:
        """(parameters, the destination integration the template's own ``channel`` now delivers to)."""
        template = self.catalog.get(template_id)
        covered: str | None = None
        declared = {p.name: p for p in template.parameters}
        params: dict[str, Any] = {}
        e = bp.entities
        lang_name = LANGUAGE_NAMES.get(e.languages[0]) if e.languages else None
        if "target_language" in declared:
            target = lang_name or ("English" if bp.language == "zh" else None)
            if target:
                params["target_language"] = target
        if "language" in declared:
            params["language"] = lang_name or ("Chinese" if bp.language == "zh" else "English")
        if "schedule" in declared and e.schedule:
            params["schedule"] = e.schedule.cron
        emails = _EMAIL.findall(prompt)
        channels = _CHANNEL.findall(prompt)
        urls = e.urls
        if "channel" in declared:
            choices = declared["channel"].choices or []
            for dest in e.destinations:
                tool = ent.BY_ID[dest].tool
                if tool in choices:
                    params["channel"] = tool
                    covered = dest
                    break
            if "channel" in params and "destination" in declared:
                if params["channel"] == "email":
                    params["destination"] = emails[0] if emails else "team@example.com"
                elif params["channel"] == "webhook":
                    hook = ent.BY_ID[covered].hook_url if covered else ""
                    params["destination"] = urls[0] if urls else hook or "https://example.com/webhook"
                elif channels:
                    params["destination"] = channels[0]
        if "slack_channel" in declared and channels:
            params["slack_channel"] = channels[0]
        if "email_report_to" in declared and emails:
            params["email_report_to"] = emails[0]
        if "webhook_url" in declared and urls:
            params["webhook_url"] = urls[0]
        return params, covered

    def _instantiate(self, template_id: str, params: dict[str, Any]) -> WorkflowGraph:
        params = dict(params)
        for _ in range(len(params) + 1):
            try:
                return self.catalog.instantiate(template_id, params or None)
            except UnprocessableError as exc:
                bad = (exc.extra or {}).get("param") if isinstance(exc.extra, dict) else None
                if not bad or bad not in params:
                    log.warning("template %s refused params %s: %s; using defaults", template_id, params, exc.detail)
                    return self.catalog.instantiate(template_id, None)
                params.pop(bad)
        return self.catalog.instantiate(template_id, None)

    # ---------------------------------------------------------------- composition

    def _compose(self, d: Draft, bp: WorkflowBlueprint, prompt: str, covered: str | None = None) -> None:
        f, e = bp.features, bp.entities
        zh = bp.language == "zh"
        start = d.input.id if d.input else None
        if start is None or d.output_id is None:
            return
        query = d.first_input_field() or "text"
        if covered and ent.BY_ID[covered].tool == "webhook":
            _name_integration(d, covered, zh)
        tools_present = {_tool_key(n) for n in d.of_type("tool")}
        # 1. sources: one api node per source integration / URL, then documents
        fetched: list[str] = []
        for sid in e.sources:
            integ = ent.BY_ID[sid]
            if any(integ.name.split()[0].lower() in (n.title or "").lower() for n in d.of_type("api")):
                continue
            # Services without a well-known endpoint read from a URL the user supplies at run time.
            url = integ.api_url or "{{ " + d.add_input_field(
                f"{sid}_api_url", required=False, default="", description=f"{integ.name} API endpoint to read from") + " }}"
            fetched.append(self._api(d, f"fetch_{sid}", url, ("从 %s 获取数据" if zh else "Fetch from %s") % integ.name, sid))
        if e.urls and not d.of_type("api"):
            fetched.append(self._api(d, "fetch_page", e.urls[0], "抓取网页" if zh else "Fetch the page", "web"))
        elif f.web_fetch and not d.of_type("api") and not fetched and "hacker_news" in e.data_sources:
            fetched.append(self._api(d, "fetch_news", "https://hacker-news.firebaseio.com/v0/topstories.json",
                                     "获取 Hacker News" if zh else "Fetch Hacker News", "hacker_news"))
        if f.knowledge and not d.of_type("knowledge"):
            kid = d.unique("retrieve_docs")
            d.add(KnowledgeNode(id=kid, title="检索知识库" if zh else "Search the knowledge base",
                                config=KnowledgeConfig(knowledge_base="default", query=f"{{{{ inputs.{query} }}}}", top_k=4)))
            fetched.append(kid)
        if fetched:
            d.splice_after(start, fetched)
            for nid in fetched:
                for llm in d.downstream_llms(nid):
                    d.add_context(llm, "参考数据" if zh else "Context", _data_ref(d, nid))
        # 2. loop over items
        if f.loop and not d.of_type("loop"):
            source = _data_ref(d, fetched[0]) if fetched and not d.of_type("knowledge") else d.add_input_field(
                "item_list", type_="array", required=False, default=[], description="The items to process one by one")
            body_id = d.unique("process_item")
            instruction = bp.steps[0].text if bp.steps else prompt[:200]
            body = SubGraph(nodes=[LlmNode(
                id=body_id, title="处理单个条目" if zh else "Process one item",
                config=LlmConfig(prompt=f"{_safe(instruction)}\n\n{'条目' if zh else 'Item'}:\n{{{{ item }}}}", system=""),
            )])
            lid = d.unique("for_each_item")
            d.add(LoopNode(id=lid, title="逐条处理" if zh else "For each item",
                           config=LoopConfig(items=f"{{{{ {source} }}}}", body=body, max_concurrency=4, max_items=100)))
            anchor = fetched[-1] if fetched else start
            if fetched and len(fetched) > 1:
                anchor = start  # several parallel sources: loop over the first, alongside the others
            d.splice_after(anchor, [lid])
            for llm in d.downstream_llms(lid):
                d.add_context(llm, "逐条结果" if zh else "Per-item results", f"nodes.{lid}.output")
        # 3. notifications (tool per destination) and a condition gating them
        # A destination the template already delivers to is not duplicated, unless the request
        # gates it with its own condition ("if it is a bug, notify Slack"): then it gets a gated node.
        gated = f.condition and bool(e.condition_terms)
        dests = [x for x in e.destinations if x != covered and (gated or _dest_key(x) not in tools_present)]
        if f.notification and not e.destinations and not tools_present:
            dests = ["webhook"]  # "notify the team" with no channel named: a webhook the user points anywhere
        out = d.output_id
        producers = sorted({edge.source for edge in d.edges if edge.target == out})
        text_ref = _text_ref(d, producers)
        tool_ids = [self._tool(d, x, text_ref, prompt, zh) for x in dests]
        # A template's own conditions serve its logic; the user's "if …" gates what they asked for.
        if f.condition and (tool_ids or not d.of_type("condition")):
            self._condition(d, bp, out, tool_ids, text_ref, prompt, zh)
        elif tool_ids:
            d.splice_before(out, tool_ids)

    def _api(self, d: Draft, base: str, url: str, title: str, source: str) -> str:
        for name in re.findall(r"\{\{\s*inputs\.(\w+)\s*\}\}", url):  # declare what the URL needs
            d.add_input_field(name, required=False, default="", description=f"{source}: {name.replace('_', ' ')}")
        nid = d.unique(base)
        d.add(ApiNode(id=nid, title=title, description=f"integration: {source}",
                      config=ApiConfig(url=url, method="GET", headers={"Accept": "application/json"}, timeout_s=30.0)))
        return nid

    def _tool(self, d: Draft, dest: str, text_ref: str, prompt: str, zh: bool) -> str:
        integ = ent.BY_ID[dest]
        body = f"{{{{ {text_ref} }}}}"
        if integ.tool == "slack":
            channels = _CHANNEL.findall(prompt)
            args: dict[str, Any] = {"text": body, **({"channel": channels[0]} if channels else {})}
        elif integ.tool == "email":
            # Where to deliver is asked for when the run starts (a required input), never guessed.
            emails = _EMAIL.findall(prompt)
            to = emails[0] if emails else f"{{{{ {d.add_input_field('email_to', required=True, description='Recipient address')} }}}}"
            args = {"to": to, "subject": "πlot: " + ("工作流结果" if zh else "workflow result"), "body": body}
        else:
            example = f", e.g. {integ.hook_url}" if integ.hook_url else ""
            url_ref = d.add_input_field(f"{dest}_webhook_url", required=True, description=f"{integ.name} webhook URL{example}")
            args = {"url": f"{{{{ {url_ref} }}}}", "payload": {"integration": dest, "text": body}}
        verb = "发送到" if zh else "Send to"
        return _add(d, ToolNode(id=d.unique(f"notify_{dest}"), title=f"{verb} {integ.name}",
                                config=ToolConfig(tool=integ.tool, arguments=args)))

    def _condition(self, d: Draft, bp: WorkflowBlueprint, out: str, tool_ids: list[str], text_ref: str, prompt: str, zh: bool) -> None:
        term = _keyword(bp.entities.condition_terms[0]) if bp.entities.condition_terms else ("urgent" if not zh else "紧急")
        cid = d.unique("check_condition")
        when = f"{_quote(term.lower())} in ({text_ref} | string | lower)"
        d.add(ConditionNode(id=cid, title=(f"判断：{term}" if zh else f"Check: {term}"),
                            config=ConditionConfig(cases=[ConditionCase(id="match", when=when)])))
        d.splice_before(out, [cid])
        # the branch edges: remove the plain cid→out edge and wire real branches
        d.edges = [x for x in d.edges if not (x.source == cid and x.target == out)]
        then_ids = tool_ids or [_add(d, LlmNode(
            id=d.unique("handle_match"), title="满足条件时处理" if zh else "When it matches",
            config=LlmConfig(prompt=f"{'条件成立' if zh else 'The condition holds'} ({_safe(term)}). "
                                    f"{_safe(prompt[:300])}\n\n{{{{ {text_ref} }}}}")))]
        for tid in then_ids:
            d.connect(cid, tid, "match")
            d.connect(tid, out)
        if has_else(prompt.lower()) or not tool_ids:
            other = _add(d, LlmNode(
                id=d.unique("handle_otherwise"), title="否则" if zh else "Otherwise",
                config=LlmConfig(prompt=f"{'条件不成立' if zh else 'The condition does not hold'}. "
                                        f"{_safe(prompt[:300])}\n\n{{{{ {text_ref} }}}}")))
            d.connect(cid, other, "else")
            d.connect(other, out)
        else:
            d.connect(cid, out, "else")


def _name_integration(d: Draft, integration: str, zh: bool) -> None:
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


def _data_ref(d: Draft, nid: str) -> str:
    """The data a source node produced: an api node's output is {status, headers, body}."""
    return f"nodes.{nid}.output.body" if node_type(d.node(nid)) == "api" else f"nodes.{nid}.output"


def _add(d: Draft, node) -> str:
    d.add(node)
    return node.id


def _tool_key(node) -> str:
    cfg = node.config
    integ = (cfg.arguments.get("payload") or {}).get("integration") if isinstance(cfg.arguments.get("payload"), dict) else None
    return integ or cfg.tool


def _dest_key(dest: str) -> str:
    tool = ent.BY_ID[dest].tool
    return tool if tool in ("slack", "email") else dest


def _text_ref(d: Draft, producers: list[str]) -> str:
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


def _safe(text: str) -> str:
    """User text placed in a prompt template must not be template syntax itself."""
    return re.sub(r"[{}]|\{%|%\}", " ", text).replace("{#", " ").replace("#}", " ")
