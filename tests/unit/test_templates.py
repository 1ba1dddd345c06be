"""The template library: every template loads, validates, is bilingual, has good graphs, instantiates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from pilot.core.errors import NotFoundError, UnprocessableError
from pilot.core.templating import (
    TemplateError,
    TemplateSecurityError,
    evaluate,
    render,
    render_params,
    resolve,
)
from pilot.settings import Settings
from pilot.templates.catalog import (
    TemplateCatalog,
    TemplateLoadError,
    catalog_for,
    default_catalog,
    package_templates_dir,
)
from pilot.tools.email import EmailTool
from pilot.tools.slack import SlackTool
from pilot.tools.webhook import WebhookTool
from pilot.workflows.model import (
    CORE_NODE_TYPES,
    ApiNode,
    ConditionNode,
    InputNode,
    KnowledgeNode,
    LlmNode,
    LoopNode,
    ToolNode,
    WorkflowGraph,
    node_type,
)
from pilot.workflows.validation import iter_all_nodes, validate_graph

EXPECTED_IDS = sorted([
    "customer_support", "rag_qa", "content_generation", "summarization", "translation",
    "classification_routing", "data_extraction", "data_analysis", "web_research",
    "scheduled_digest", "code_review", "sentiment_analysis", "lead_qualification", "tool_agent",
])  # fmt: skip
CJK = re.compile(r"[\u4e00-\u9fff]")
TOOLS = {tool.name: tool for tool in (SlackTool, EmailTool, WebhookTool)}


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return TemplateCatalog.load(package_templates_dir())


def by_id(graph: WorkflowGraph | Any) -> dict[str, Any]:
    return {n.id: n for n in iter_all_nodes(graph)}


# ---------------------------------------------------------------- the library as a whole


def test_library_has_exactly_the_design_templates(catalog: TemplateCatalog) -> None:
    assert sorted(catalog.ids()) == EXPECTED_IDS
    assert len(catalog) == 14


@pytest.mark.parametrize("template_id", EXPECTED_IDS)
def test_template_is_bilingual_with_diverse_examples(catalog: TemplateCatalog, template_id: str) -> None:
    t = catalog.get(template_id)
    for text in (t.name, t.description):
        assert text.en.strip() and not CJK.search(text.en)
        assert CJK.search(text.zh)
    assert t.tags and len(set(t.tags)) == len(t.tags)
    assert len(t.examples.en) >= 5 and len(t.examples.zh) >= 5
    assert all(not CJK.search(e) for e in t.examples.en)
    assert all(CJK.search(e) for e in t.examples.zh)
    for examples in (t.examples.en, t.examples.zh):
        assert len({e.lower() for e in examples}) == len(examples), "duplicate example"
    for p in t.parameters:
        assert p.description.en and CJK.search(p.description.zh)


def test_examples_do_not_repeat_across_templates(catalog: TemplateCatalog) -> None:
    seen: dict[str, str] = {}
    for t in catalog.all():
        for example in [*t.examples.en, *t.examples.zh]:
            assert example not in seen, f"{example!r} is in {seen.get(example)} and {t.id}"
            seen[example] = t.id


@pytest.mark.parametrize("template_id", EXPECTED_IDS)
def test_template_graph_validates_and_is_laid_out(catalog: TemplateCatalog, template_id: str) -> None:
    graph = catalog.get(template_id).graph
    report = validate_graph(graph)
    assert report.valid, report.problems
    assert {node_type(n) for n in iter_all_nodes(graph)} <= set(CORE_NODE_TYPES)
    assert sum(isinstance(n, InputNode) for n in graph.nodes) == 1
    positions = [(n.position.x, n.position.y) for n in graph.nodes]
    assert len(set(positions)) == len(positions), "nodes overlap"
    # Round trip: what the API returns decodes back into the same graph.
    assert msgspec.json.decode(msgspec.json.encode(graph), type=WorkflowGraph) == graph
    # No template placeholder survives rendering.
    assert "[[" not in msgspec.json.encode(graph).decode() or template_id == "never"


@pytest.mark.parametrize("template_id", EXPECTED_IDS)
def test_template_nodes_are_real_work(catalog: TemplateCatalog, template_id: str) -> None:
    graph = catalog.get(template_id).graph
    nodes = list(iter_all_nodes(graph))
    llms = [n for n in nodes if isinstance(n, LlmNode)]
    assert llms, "every template uses a model"
    for n in llms:
        assert len(n.config.system) >= 60, f"{n.id}: system prompt too thin"
        assert "{{" in n.config.prompt, f"{n.id}: prompt does not use the run's data"
        assert n.retry is None or n.retry.max_attempts >= 2
    assert sum(n.retry is not None for n in llms) >= len(llms) - 1, (
        "llm nodes should retry transient failures"
    )
    for n in nodes:
        if isinstance(n, ApiNode):
            assert n.retry is not None and n.config.url.startswith("http") or "{{" in n.config.url
        if isinstance(n, ToolNode):
            assert n.config.tool in TOOLS, f"{n.id}: unknown tool {n.config.tool}"
            fields = msgspec.structs.fields(TOOLS[n.config.tool].arguments)
            names = {f.encode_name for f in fields}
            required = {f.encode_name for f in fields if f.required}
            assert set(n.config.arguments) <= names, f"{n.id}: unknown arguments"
            assert required <= set(n.config.arguments), f"{n.id}: missing required arguments"
        if isinstance(n, ConditionNode):
            handles = {e.source_handle for e in _edges_from(graph, n.id)}
            assert handles == {c.id for c in n.config.cases} | {n.config.else_}, (
                f"{n.id}: a branch leads nowhere"
            )


def _edges_from(graph: Any, node_id: str) -> list:
    edges = list(graph.edges)
    for n in graph.nodes:
        if isinstance(n, LoopNode):
            edges += n.config.body.edges
    return [e for e in edges if e.source == node_id]


def test_library_covers_the_node_vocabulary(catalog: TemplateCatalog) -> None:
    def kinds(tid: str) -> set[str]:
        return {node_type(n) for n in iter_all_nodes(catalog.get(tid).graph)}

    assert {"knowledge", "condition"} <= kinds("customer_support")
    assert {"knowledge", "condition"} <= kinds("rag_qa")
    assert {"api", "loop"} <= kinds("web_research")
    assert {"api", "loop", "tool"} <= kinds("scheduled_digest")
    assert "loop" in kinds("data_extraction") and "loop" in kinds("sentiment_analysis")
    assert "tool" in kinds("tool_agent") and "condition" in kinds("tool_agent")
    used = set().union(*(kinds(t) for t in EXPECTED_IDS))
    assert used == set(CORE_NODE_TYPES)  # v2 types come from requests that ask for them
    fallbacks = [
        n
        for t in catalog.all()
        for n in iter_all_nodes(t.graph)
        if isinstance(n, LlmNode) and n.config.fallback_models
    ]
    assert len(fallbacks) >= 10
    assert catalog.get("scheduled_digest").graph.settings.schedule == "0 8 * * *"


def _sample(name: str, field_type: str) -> Any:
    if "url" in name or name == "website":
        return "https://example.com/data.csv"
    if "email" in name:
        return "ann@example.com"
    return {"string": "Hello, I was charged twice for order 42.", "array": ["first doc", "second doc"],
            "integer": 3, "number": 1.5, "boolean": True, "object": {"a": 1}}[field_type]  # fmt: skip


@pytest.mark.parametrize("template_id", EXPECTED_IDS)
def test_run_time_templates_render_with_realistic_scope(catalog: TemplateCatalog, template_id: str) -> None:
    """Every prompt, url and query renders (the engine's lenient render) with plausible outputs."""
    graph = catalog.get(template_id).graph
    start = next(n for n in graph.nodes if isinstance(n, InputNode))
    outputs = {"api": {"status": 200, "headers": {}, "body": [1, 2, 3]},
               "knowledge": [{"text": "Refunds take 5 days.", "score": 1.0, "document_id": "d1", "title": "Refunds"}],
               "loop": ["summary one", "summary two"], "llm": {"summary": "s", "queries": ["q"]}}  # fmt: skip
    scope = {
        "inputs": {f.name: _sample(f.name, f.type) for f in start.config.fields},
        "nodes": {n.id: {"output": outputs.get(node_type(n), "text")} for n in iter_all_nodes(graph)},
        "item": "an item",
        "loop": {"index": 1, "length": 2},
    }
    for n in iter_all_nodes(graph):
        if isinstance(n, LoopNode):
            scope[n.config.item_var] = "an item"
    for n in iter_all_nodes(graph):
        if isinstance(n, LlmNode):
            assert render(n.config.prompt, scope).strip()
            render(n.config.system, scope)
        elif isinstance(n, ApiNode):
            assert render(n.config.url, scope).startswith("https://")
        elif isinstance(n, KnowledgeNode):
            assert render(n.config.query, scope).strip()


# ---------------------------------------------------------------- branches behave as intended


def _case(graph: WorkflowGraph, node_id: str, scope: dict[str, Any]) -> str:
    cond = by_id(graph)[node_id]
    for case in cond.config.cases:
        if evaluate(case.when, scope):
            return case.id
    return cond.config.else_


def test_customer_support_routes_urgent_tickets_to_escalation(catalog: TemplateCatalog) -> None:
    graph = catalog.get("customer_support").graph
    urgent = {"nodes": {"classify": {"output": {"intent": "technical", "urgency": "high"}}}}
    complaint = {"nodes": {"classify": {"output": {"intent": "complaint", "urgency": "normal"}}}}
    routine = {"nodes": {"classify": {"output": {"intent": "billing", "urgency": "low"}}}}
    unparsed = {"nodes": {"classify": {"output": "[offline] not json"}}}
    assert _case(graph, "triage", urgent) == "escalate"
    assert _case(graph, "triage", complaint) == "escalate"
    assert _case(graph, "triage", routine) == "answer"
    assert _case(graph, "triage", unparsed) == "answer"
    targets = {e.target for e in graph.edges if e.source == "triage" and e.source_handle == "escalate"}
    assert targets == {"notify_slack", "holding_reply"}
    assert [e.target for e in graph.edges if e.source == "triage" and e.source_handle == "answer"] == [
        "lookup"
    ]
    outputs = by_id(graph)["result"].config.outputs
    answered = {"nodes": {"draft_reply": {"output": "Here is how"}, "classify": {"output": {}}}}
    escalated = {"nodes": {"holding_reply": {"output": "A human will call"}, "classify": {"output": {}}}}
    skipped_as_none = {
        "nodes": {
            "draft_reply": {"output": None},
            "holding_reply": {"output": "A human"},
            "classify": {"output": {}},
        }
    }
    assert resolve(outputs["reply"], answered) == "Here is how"
    assert resolve(outputs["escalated"], answered) is False
    assert resolve(outputs["reply"], escalated) == "A human will call"
    assert resolve(outputs["escalated"], escalated) is True
    assert resolve(outputs["reply"], skipped_as_none) == "A human"


def test_lead_tiers_follow_thresholds(catalog: TemplateCatalog) -> None:
    graph = catalog.get("lead_qualification").graph
    tier = lambda score: _case(graph, "tier", {"nodes": {"score": {"output": {"score": score}}}})
    assert (tier(90), tier(75), tier(60), tier(10)) == ("hot", "hot", "warm", "cold")
    graph = catalog.instantiate("lead_qualification", {"hot_threshold": 95})
    assert _case(graph, "tier", {"nodes": {"score": {"output": {"score": 90}}}}) == "warm"


def test_classification_confidence_gate(catalog: TemplateCatalog) -> None:
    graph = catalog.get("classification_routing").graph
    scope = lambda cat, conf: {"nodes": {"classify": {"output": {"category": cat, "confidence": conf}}}}
    assert _case(graph, "confident", scope("billing", 0.9)) == "route"
    assert _case(graph, "confident", scope("billing", 0.4)) == "review"
    assert _case(graph, "confident", scope("made-up", 0.99)) == "review"


def test_loop_items_expressions(catalog: TemplateCatalog) -> None:
    digest = catalog.get("scheduled_digest").graph
    items = by_id(digest)["stories"].config.items
    top = {"nodes": {"fetch_top": {"output": {"status": 200, "body": list(range(500))}}}}
    assert evaluate(items, top) == list(range(10))
    assert evaluate(
        by_id(catalog.instantiate("scheduled_digest", {"story_count": 3}))["stories"].config.items, top
    ) == [0, 1, 2]
    summ = catalog.instantiate("summarization", {"paragraphs_per_chunk": 2})
    text = "\n\n".join(f"p{i}" for i in range(5))
    assert evaluate(by_id(summ)["chunks"].config.items, {"inputs": {"text": text}}) == [
        "p0\n\np1",
        "p2\n\np3",
        "p4",
    ]


# ---------------------------------------------------------------- instantiation


def test_instantiate_defaults_is_the_template_graph(catalog: TemplateCatalog) -> None:
    for t in catalog.all():
        assert catalog.instantiate(t.id) == t.graph
        assert catalog.instantiate(t.id, {p.name: p.default for p in t.parameters}) == t.graph


def test_translation_target_language_changes_the_prompt(catalog: TemplateCatalog) -> None:
    default = by_id(catalog.instantiate("translation"))["translate"].config
    japanese = by_id(catalog.instantiate("translation", {"target_language": "Japanese", "tone": "formal"}))[
        "translate"
    ]
    assert "into English" in default.system and "Japanese" not in default.system
    assert "into Japanese" in japanese.config.system and "Target language: Japanese" in japanese.config.prompt
    assert "formal forms of address" in japanese.config.system
    assert japanese.title == "Translate to Japanese"
    assert "{{ inputs.text }}" in japanese.config.prompt  # run-time jinja2 untouched


def test_boolean_parameter_removes_a_step(catalog: TemplateCatalog) -> None:
    graph = catalog.instantiate("translation", {"review": False})
    assert "review" not in by_id(graph)
    assert by_id(graph)["result"].config.outputs["translation"] == "{{ nodes.translate.output }}"
    assert validate_graph(graph).valid


def test_channel_parameter_swaps_the_delivery_tool(catalog: TemplateCatalog) -> None:
    graph = catalog.instantiate(
        "scheduled_digest", {"channel": "email", "destination": "team@example.com", "schedule": "0 7 * * 1-5"}
    )
    tools = [n for n in graph.nodes if isinstance(n, ToolNode)]
    assert [(t.config.tool, t.config.arguments["to"]) for t in tools] == [("email", "team@example.com")]
    assert graph.settings.schedule == "0 7 * * 1-5"
    assert validate_graph(graph).valid
    assert any(p.x > 0 for p in (n.position for n in graph.nodes))


def test_native_and_list_parameters(catalog: TemplateCatalog) -> None:
    rag = catalog.instantiate("rag_qa", {"top_k": 3, "cite_sources": False})
    assert by_id(rag)["retrieve"].config.top_k == 3
    assert "cite the passage numbers" not in by_id(rag)["answer"].config.system
    routing = catalog.instantiate(
        "classification_routing", {"categories": ["bug", "feature"], "min_confidence": 0.5}
    )
    classify = by_id(routing)["classify"].config
    assert classify.output_schema["properties"]["category"]["enum"] == ["bug", "feature"]
    assert "- bug\n- feature\n" in classify.system
    scope = {"nodes": {"classify": {"output": {"category": "feature", "confidence": 0.6}}}}
    assert _case(routing, "confident", scope) == "route"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"target_lang": "French"}, "unknown parameter 'target_lang'"),
        ({"target_language": 3}, "'target_language' must be a string"),
        ({"review": "yes"}, "'review' must be true or false"),
        ({"tone": "angry"}, "'tone' must be one of: neutral, formal, casual, marketing"),
        ({"target_language": "{{ inputs.secret }}"}, "'target_language' must be plain text"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(
    catalog: TemplateCatalog, params: dict, needle: str
) -> None:
    with pytest.raises(UnprocessableError) as exc:
        catalog.instantiate("translation", params)
    assert needle in exc.value.detail
    assert exc.value.status_code == 422


def test_numeric_bounds_and_types(catalog: TemplateCatalog) -> None:
    with pytest.raises(UnprocessableError, match="'top_k' must be <= 20"):
        catalog.instantiate("rag_qa", {"top_k": 99})
    with pytest.raises(UnprocessableError, match="'top_k' must be an integer"):
        catalog.instantiate("rag_qa", {"top_k": True})
    with pytest.raises(UnprocessableError, match="'categories' must be a list of strings"):
        catalog.instantiate("classification_routing", {"categories": "bug"})
    with pytest.raises(NotFoundError, match="nope"):
        catalog.instantiate("nope")


def test_parameter_values_cannot_break_expressions(catalog: TemplateCatalog) -> None:
    graph = catalog.instantiate(
        "tool_agent", {"slack_channel": '#it\'s "quoted"', "allowed_email_domain": "acme.com"}
    )
    channel = by_id(graph)["send_slack"].config.arguments["channel"]
    assert resolve(channel, {"nodes": {"plan": {"output": {}}}}) == '#it\'s "quoted"'
    scope = {"nodes": {"plan": {"output": {"action": "email", "to": "bob@evil.com"}}}}
    assert _case(graph, "dispatch", scope) == "answer"
    scope["nodes"]["plan"]["output"]["to"] = "bob@acme.com"
    assert _case(graph, "dispatch", scope) == "email"


# ---------------------------------------------------------------- loading and refusing broken files

GOOD = Path(package_templates_dir() / "translation.yaml").read_text(encoding="utf-8")


def _with_examples(text: str, en: int) -> str:
    data = yaml.safe_load(text)
    data["examples"]["en"] = data["examples"]["en"][:en]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "mutate", "needle"),
    [
        (
            "broken.yaml",
            lambda s: s.replace("id: translation", "id: broken") + "\n  nodes: [oops",
            "is not valid YAML",
        ),
        (
            "translation.yaml",
            lambda s: s.replace("name:\n  en: Document translation with review\n  zh: 文档翻译与审校\n", ""),
            "missing required field `name`",
        ),
        ("renamed.yaml", lambda s: s, "does not match the file name"),
        (
            "translation.yaml",
            lambda s: _with_examples(s, en=4),
            "at least 5 example requests in 'en'",
        ),
        (
            "translation.yaml",
            lambda s: s.replace("default: neutral", "default: 7"),
            "default of parameter 'tone' must be a string",
        ),
        (
            "translation.yaml",
            lambda s: s.replace(
                "Target language: [[ params.target_language ]]", "Target language: [[ params.target_lang ]]"
            ),
            "params.target_lang",
        ),
        (
            "translation.yaml",
            lambda s: s.replace("Register: [[ params.tone ]].", "Register: neutral.").replace(
                "[% if params.tone == 'formal' %]Use polite, formal forms of address.[% elif params.tone == 'casual' %]Use natural, conversational phrasing.[% elif params.tone == 'marketing' %]Adapt idioms so the copy sounds persuasive and native, but do not invent claims.[% endif %]",
                "",
            ),
            "parameter 'tone' is declared but never used",
        ),
        (
            "translation.yaml",
            lambda s: s.replace(
                '{{ nodes.translate.output }}\n          """', '{{ nodes.result.output }}\n          """'
            ),
            "references nodes.result, which is not upstream of 'review'",
        ),
        (
            "translation.yaml",
            lambda s: s.replace(
                "- {id: e_start_translate, source: start, target: translate}",
                "- {id: e_start_translate, source: start, target: translate}\n    - {id: e_back, source: result, target: translate}",
            ),
            "cycle",
        ),
        (
            "translation.yaml",
            lambda s: s.replace("type: llm\n      title: Translate", "type: chatgpt\n      title: Translate"),
            "unknown type 'chatgpt'",
        ),
        (
            "translation.yaml",
            lambda s: s.replace(
                "{{ inputs.source_language or 'auto-detect' }}", "{{ inputs.source_language or }}"
            ),
            "jinja2 syntax error",
        ),
    ],
)
def test_broken_template_is_refused_naming_file_and_problem(
    tmp_path: Path, name: str, mutate, needle: str
) -> None:
    mutated = mutate(GOOD)
    assert mutated != GOOD or name != "translation.yaml"
    _write(tmp_path, name, mutated)
    with pytest.raises(TemplateLoadError) as exc:
        TemplateCatalog.load(tmp_path)
    assert f"template file {name}" in exc.value.detail
    assert needle in exc.value.detail


def test_duplicate_ids_and_empty_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="does not exist"):
        TemplateCatalog.load(tmp_path / "missing")
    with pytest.raises(TemplateLoadError, match="holds no"):
        TemplateCatalog.load(tmp_path)
    _write(tmp_path, "translation.yaml", GOOD)
    _write(tmp_path, "translation.yml", GOOD)
    with pytest.raises(TemplateLoadError, match="already defined"):
        TemplateCatalog.load(tmp_path)


def test_custom_directory_and_cached_default(tmp_path: Path) -> None:
    _write(tmp_path, "translation.yaml", GOOD)
    custom = catalog_for(tmp_path)
    assert custom.ids() == ["translation"]
    assert catalog_for(tmp_path) is custom  # loaded once per process
    assert default_catalog() is default_catalog()
    assert sorted(default_catalog().ids()) == EXPECTED_IDS
    settings = Settings.from_env({"PILOT_TEMPLATES_DIR": str(tmp_path)})
    assert settings.app.templates_dir == tmp_path
    assert Settings.from_env({}).app.templates_dir is None


def test_summaries_and_filters(catalog: TemplateCatalog) -> None:
    summaries = catalog.summaries()
    assert [s.id for s in summaries] == catalog.ids()
    digest = next(s for s in summaries if s.id == "scheduled_digest")
    assert {"api", "loop", "llm", "tool"} <= set(digest.node_types)
    assert [s.id for s in catalog.summaries(tag="rag")] == ["rag_qa"]
    assert [s.id for s in catalog.summaries(q="客服")] == ["customer_support"]


# ---------------------------------------------------------------- the parameter renderer


def test_render_params_delimiters_and_native_values() -> None:
    params = {"n": 5, "lang": "French", "items": ["a", "b"], "flag": False}
    assert render_params("[[ params.n ]]", params) == 5
    assert render_params(" [[ params.items ]] ", params) == ["a", "b"]
    assert render_params("no placeholders {{ inputs.x }}", params) == "no placeholders {{ inputs.x }}"
    src = "To [[ params.lang ]]: {{ inputs.text }} {# keep #} {% if x %}y{% endif %}[% if params.flag %] never[% endif %]"
    assert render_params(src, params) == "To French: {{ inputs.text }} {# keep #} {% if x %}y{% endif %}"
    with pytest.raises(TemplateError, match="missing"):
        render_params("x [[ params.missing ]]", params)
    with pytest.raises(TemplateSecurityError):
        render_params("[[ params.__class__.__mro__ ]]", params)
    with pytest.raises(TemplateError):
        render_params("[% if %]", params)


def test_instantiation_is_cached_but_returns_fresh_objects(catalog: TemplateCatalog) -> None:
    first = catalog.instantiate("customer_support", {"tone": "concise"})
    second = catalog.instantiate("customer_support", {"tone": "concise"})
    assert first == second and first is not second and first.nodes[0] is not second.nodes[0]
    other = catalog.instantiate("customer_support", {"tone": "empathetic"})
    assert "Tone: empathetic" in by_id(other)["draft_reply"].config.system
    assert "Tone: concise" in by_id(catalog.instantiate("customer_support", {"tone": "concise"}))["draft_reply"].config.system
