"""``WorkflowGenerator``: blueprint → a valid, laid-out workflow graph.

1. Instantiate the chosen template with parameters derived from the blueprint (schedule,
   languages, delivery channel, destination); a parameter the template refuses is dropped.
2. Compose what the request asks for and the template lacks:
   - an ``api`` node per data-source integration / URL (after the input), and a ``knowledge``
     node when it answers from documents; downstream LLM prompts get the new data as context;
   - a ``loop`` over the items when it works item by item;
   - a ``condition`` with real branches (case → the action, else → straight on or an
     "otherwise" step) when it says if / otherwise; "if X, send it to Y" puts it right before
     the delivery to Y, the template's own included (see :mod:`pilot.generation.conditions`);
   - a ``tool`` node per destination integration (``slack``, ``email``; other services use the
     ``webhook`` tool with the integration named in its arguments);
   - the schedule into ``settings.schedule``;
   - a delivery target the request does not give (webhook URL, recipient) as a required run input.
3. ``ensure_valid`` + ``apply_layout``. A composition bug that yields an invalid graph raises
   :class:`GenerationError` (500) with the validator's report logged, never a silent bad graph.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec

from pilot.core.errors import GraphValidationError, UnprocessableError
from pilot.generation import entities as ent
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compiler import GenerationError
from pilot.generation.compose import Draft
from pilot.generation.conditions import gates_delivery
from pilot.generation.delivery import (
    BOT_TOOLS,
    CHANNEL_RE,
    EMAIL_RE,
    RUN_INPUT,
    add_condition,
    add_tool,
    ask_delivery_inputs,
    bot_url,
    delivery_nodes,
    dest_key,
    is_bot_url,
    name_integration,
    safe_text,
    text_ref,
    to_group_bot,
    tool_key,
    webhook_field,
)
from pilot.workflows.layout import apply_layout
from pilot.workflows.model import (
    ApiConfig,
    ApiNode,
    KnowledgeConfig,
    KnowledgeNode,
    LlmConfig,
    LlmNode,
    LoopConfig,
    LoopNode,
    SubGraph,
    WorkflowGraph,
    WorkflowSettings,
    node_type,
)
from pilot.workflows.validation import ensure_valid

log = logging.getLogger("pilot.generation")

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French", "de": "German",
                  "es": "Spanish", "pt": "Portuguese", "it": "Italian", "ru": "Russian", "ar": "Arabic", "vi": "Vietnamese",
                  "th": "Thai", "id": "Indonesian"}


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
        emails = EMAIL_RE.findall(prompt)
        channels = CHANNEL_RE.findall(prompt)
        urls = e.urls
        if "channel" in declared:
            choices = declared["channel"].choices or []
            for dest in e.destinations:
                tool = ent.BY_ID[dest].tool
                tool = "webhook" if tool in BOT_TOOLS else tool  # the template's webhook node becomes the bot
                if tool in choices:
                    params["channel"] = tool
                    covered = dest
                    break
            if "channel" in params and "destination" in declared:
                # A recipient or webhook URL the request does not give is asked for when the run
                # starts (a required input, see ask_delivery_inputs), never a placeholder shipped as real.
                if params["channel"] == "email":
                    params["destination"] = emails[0] if emails else RUN_INPUT + "email_to"
                elif params["channel"] == "webhook":
                    bot = ent.BY_ID[covered].tool
                    hook = bot_url(bot, prompt) if bot in BOT_TOOLS else (urls[0] if urls else None)
                    params["destination"] = hook or RUN_INPUT + webhook_field(covered)
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
        ask_delivery_inputs(d, covered)
        if covered and ent.BY_ID[covered].tool == "webhook":
            name_integration(d, covered, zh)
        elif covered and ent.BY_ID[covered].tool in BOT_TOOLS:
            to_group_bot(d, covered, zh)
        tools_present = {tool_key(n) for n in d.of_type("tool")}
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
        pages = [u for u in e.urls if not is_bot_url(u)]  # a bot's webhook is where to send, not a page
        if pages and not d.of_type("api"):
            fetched.append(self._api(d, "fetch_page", pages[0], "抓取网页" if zh else "Fetch the page", "web"))
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
                config=LlmConfig(prompt=f"{safe_text(instruction)}\n\n{'条目' if zh else 'Item'}:\n{{{{ item }}}}", system=""),
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
        # "if X, send to Y" where the graph already delivers to Y (the template's own channel):
        # the condition goes right before that delivery rather than after it.
        gate = delivery_nodes(d, e.destinations) if gated and gates_delivery(prompt) else []
        gate_keys = {tool_key(d.node(t)) for t in gate}
        dests = [x for x in e.destinations
                 if x != covered and dest_key(x) not in gate_keys and (gated or dest_key(x) not in tools_present)]
        if f.notification and not e.destinations and not tools_present:
            dests = ["webhook"]  # "notify the team" with no channel named: a webhook the user points anywhere
        out = d.output_id
        # the text being delivered: what feeds the gated deliveries, else what feeds the output
        producers = sorted({edge.source for edge in d.edges if edge.target in (set(gate) or {out})})
        ref = text_ref(d, producers)
        tool_ids = [add_tool(d, x, ref, prompt, zh) for x in dests]
        # A template's own conditions serve its logic; the user's "if …" gates what they asked for.
        if f.condition and (tool_ids or gate or not d.of_type("condition")):
            add_condition(d, bp, out, tool_ids, ref, prompt, zh, gate=gate)
        elif tool_ids:
            d.splice_before(out, tool_ids)

    def _api(self, d: Draft, base: str, url: str, title: str, source: str) -> str:
        for name in re.findall(r"\{\{\s*inputs\.(\w+)\s*\}\}", url):  # declare what the URL needs
            d.add_input_field(name, required=False, default="", description=f"{source}: {name.replace('_', ' ')}")
        nid = d.unique(base)
        d.add(ApiNode(id=nid, title=title, description=f"integration: {source}",
                      config=ApiConfig(url=url, method="GET", headers={"Accept": "application/json"}, timeout_s=30.0)))
        return nid


def _data_ref(d: Draft, nid: str) -> str:
    """The data a source node produced: an api node's output is {status, headers, body}."""
    return f"nodes.{nid}.output.body" if node_type(d.node(nid)) == "api" else f"nodes.{nid}.output"
