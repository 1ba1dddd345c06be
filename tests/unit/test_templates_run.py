"""Every template RUNS in the real engine (GraphRunner + the real llm/condition/loop/tool/output
runners), not only validates: no I/O — the LLM is the offline provider or a scripted one, ``api``
nodes answer canned bodies, the knowledge retriever and the tool registry are in-memory fakes
(tool arguments are still validated by the real registry, so a bad email address or URL fails)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from pilot.engine.nodes import RUNNERS
from pilot.engine.nodes.base import EngineServices
from pilot.engine.nodes.rendering import render_field
from pilot.engine.runner import GraphRunner, RunEnv
from pilot.knowledge.schemas import Passage
from pilot.llm import LLMUsage, OfflineProvider
from pilot.settings import Settings
from pilot.templates.catalog import TemplateCatalog, package_templates_dir
from pilot.tools.registry import default_registry
from pilot.workflows.model import InputNode, node_type


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return TemplateCatalog.load(package_templates_dir())


# ---------------------------------------------------------------- fakes


def _canned(url: str, params: dict[str, str]) -> Any:
    if url.endswith("/topstories.json"):
        return list(range(100, 140))
    if "/v0/item/" in url:
        sid = int(url.rsplit("/", 1)[1].split(".")[0])
        return {
            "id": sid,
            "title": f"Story {sid}",
            "url": f"https://example.org/{sid}",
            "score": sid,
            "by": "pg",
            "descendants": 7,
        }
    if "duckduckgo" in url:
        return {"AbstractText": f"About {params.get('q')}", "AbstractURL": "https://example.org/ddg"}
    if "wikipedia.org" in url:
        return {"query": {"search": [{"title": params.get("srsearch"), "snippet": "..."}]}}
    if url.endswith(".csv"):
        return "region,revenue\nnorth,10\nsouth,7\n"
    return "<html><body><h1>Acme builds logistics software for 300 employees</h1></body></html>"


class FakeApiRunner:
    """Renders the node like the real runner, answers a canned body, records the call."""

    node_type = "api"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def run(self, ctx) -> dict[str, Any]:
        config = ctx.node.config
        url = (await render_field(config.url, ctx.scope, "url")).strip()
        params = {k: await render_field(v, ctx.scope, f"query.{k}") for k, v in config.query.items()}
        assert url.startswith("https://"), url
        self.calls.append((url, params))
        return {"status": 200, "headers": {}, "body": _canned(url, params)}


class FakeKnowledge:
    def __init__(self, passages: int = 2) -> None:
        self.passages = passages
        self.queries: list[tuple[str, str, int]] = []

    async def search(self, workspace_id: str, kb: str, query: str, top_k: int) -> list[Passage]:
        self.queries.append((kb, query, top_k))
        return [
            Passage(
                text=f"Refunds are issued within {i + 5} days.",
                score=1.0 / (i + 1),
                document_id=f"doc{i}",
                title=f"Refund policy {i}",
            )
            for i in range(min(self.passages, top_k))
        ]


class RecordingTools:
    """The real registry's argument validation, without sending anything."""

    def __init__(self) -> None:
        self.registry = default_registry()
        self.calls: list[tuple[str, Any]] = []

    async def invoke(self, name: str, arguments: dict[str, Any], ctx: Any) -> Any:
        args = self.registry.validate(name, arguments)
        self.calls.append((name, args))
        return {"ok": True, "tool": name}


class ScriptedLLM:
    """Replies with fixed JSON/text when the prompt contains a marker; otherwise the offline provider."""

    name = "offline"  # the llm runner then asks for schema-shaped JSON, as with the real offline provider

    def __init__(self, rules: dict[str, Any] | None = None) -> None:
        self.rules = rules or {}
        self.offline = OfflineProvider()
        self.prompts: list[str] = []

    async def stream_chat(self, *, model, messages, temperature=0.7, max_tokens=None, response_format=None):
        text = "\n".join(m.content if hasattr(m, "content") else m["content"] for m in messages)
        self.prompts.append(text)
        for marker, reply in self.rules.items():
            if marker in text:
                yield reply if isinstance(reply, str) else json.dumps(reply)
                yield LLMUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
                return
        async for chunk in self.offline.stream_chat(
            model=model,
            messages=messages,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        ):
            yield chunk


class Harness:
    def __init__(self, llm: ScriptedLLM | None = None, passages: int = 2) -> None:
        self.api = FakeApiRunner()
        self.knowledge = FakeKnowledge(passages)
        self.tools = RecordingTools()
        self.llm = llm or ScriptedLLM()
        self.events: list[tuple[str, dict]] = []

    async def run(self, graph, inputs: dict[str, Any]) -> dict[str, Any]:
        services = EngineServices(
            settings=Settings.from_env({}), llm=self.llm, knowledge=self.knowledge, tools=self.tools
        )
        env = RunEnv(
            execution_id="exe_templates", workspace_id="ws_templates", services=services,
            emit=lambda event, data: self.events.append((event, data)),
            semaphore=asyncio.Semaphore(8), default_timeout_s=30.0, runners={**RUNNERS, "api": self.api},
        )  # fmt: skip
        start = next(n for n in graph.nodes if isinstance(n, InputNode))
        full = {f.name: f.default for f in start.config.fields if not f.required} | inputs
        return await asyncio.wait_for(
            GraphRunner(env, graph.nodes, graph.edges, {"inputs": full, "nodes": {}}).run(), 30
        )

    def statuses(self) -> dict[str, str]:
        return {d["node_id"]: d["status"] for e, d in self.events if e == "node.finished"}


SAMPLE_INPUTS: dict[str, dict[str, Any]] = {
    "customer_support": {"message": "I was charged twice for order 1042, please refund one.", "customer_name": "Lena"},
    "rag_qa": {"question": "How long do refunds take?"},
    "content_generation": {"topic": "Why small shops should offer same-day pickup", "keywords": "same-day pickup, local retail"},
    "summarization": {"text": "\n\n".join(f"Paragraph {i}: revenue grew in region {i}." for i in range(8))},
    "translation": {"text": "Our office is closed on Friday.", "glossary": "office = 办公室"},
    "classification_routing": {"content": "Can I get a quote for 40 seats?", "subject": "Pricing", "sender": "ann@acme.com",
                               "webhook_url": "https://hooks.example.org/route"},
    "data_extraction": {"documents": ["Invoice 17 from Acme, 2024-03-02, total 120 EUR", "Invoice 18 from Beta, total 80 EUR"]},
    "data_analysis": {"question": "Which region sells most?", "data_url": "https://example.org/sales.csv"},
    "web_research": {"topic": "solid-state batteries"},
    "scheduled_digest": {},
    "code_review": {"diff": "--- a/app.py\n+++ b/app.py\n+query = f\"SELECT * FROM t WHERE id={uid}\"", "title": "Add lookup"},
    "sentiment_analysis": {"reviews": ["Love it!", "Terrible support, waited 3 weeks.", "It's fine."], "product": "Acme app"},
    "lead_qualification": {"name": "Ann Lee", "email": "ann@acme.com", "company": "Acme", "website": "acme.com", "message": "Need this for 200 people next quarter",
                           "webhook_url": "https://hooks.example.org/crm"},
    "tool_agent": {"task": "What is the capital of France?", "webhook_url": "https://hooks.example.org/agent"},
}  # fmt: skip


# ---------------------------------------------------------------- every template runs offline


async def test_sample_inputs_cover_every_template(catalog: TemplateCatalog) -> None:
    assert sorted(SAMPLE_INPUTS) == sorted(catalog.ids())


@pytest.mark.parametrize("template_id", sorted(SAMPLE_INPUTS))
async def test_template_runs_offline_end_to_end(catalog: TemplateCatalog, template_id: str) -> None:
    graph = catalog.get(template_id).graph
    h = Harness()
    outputs = await h.run(graph, SAMPLE_INPUTS[template_id])
    output_node = next(n for n in graph.nodes if n.__struct_config__.tag == "output")
    assert set(outputs) == set(output_node.config.outputs), outputs
    assert not [d for e, d in h.events if e == "node.failed"]
    assert any(isinstance(v, (str, list, dict)) and v for v in outputs.values())
    assert h.llm.prompts, "the template used its llm nodes"


# ---------------------------------------------------------------- branches, loops and tools for real


async def test_customer_support_answers_routine_questions_from_the_knowledge_base(
    catalog: TemplateCatalog,
) -> None:
    h = Harness(ScriptedLLM({"You triage customer-support messages": {
        "intent": "refund", "urgency": "normal", "sentiment": "negative", "language": "English", "summary": "double charge"}}))  # fmt: skip
    outputs = await h.run(catalog.get("customer_support").graph, SAMPLE_INPUTS["customer_support"])
    assert outputs["escalated"] is False
    assert (
        h.knowledge.queries and h.knowledge.queries[0][0] == "support-docs" and h.knowledge.queries[0][2] == 5
    )
    assert "Refunds are issued within 5 days." in h.llm.prompts[-1]  # passages reach the reply writer
    assert h.statuses()["holding_reply"] == "skipped" and not h.tools.calls


async def test_customer_support_escalates_urgent_tickets_by_email(catalog: TemplateCatalog) -> None:
    graph = catalog.instantiate(
        "customer_support",
        {"channel": "email", "destination": "oncall@example.com", "response_time": "30 minutes"},
    )
    h = Harness(ScriptedLLM({"You triage customer-support messages": {
        "intent": "technical", "urgency": "high", "sentiment": "negative", "language": "English", "summary": "site down"}}))  # fmt: skip
    outputs = await h.run(
        graph, {"message": "Your whole site is down and we lose money!", "customer_email": "bob@shop.io"}
    )
    assert outputs["escalated"] is True
    [(tool, args)] = h.tools.calls
    assert tool == "email" and args.to == ["oncall@example.com"] and "site down" in args.body
    assert "Customer: unknown <bob@shop.io>" in args.body
    assert "[Escalation] technical" in args.subject
    assert any("30 minutes" in p for p in h.llm.prompts)
    assert h.statuses()["lookup"] == "skipped" and h.statuses()["draft_reply"] == "skipped"


async def test_rag_qa_says_so_when_nothing_is_found(catalog: TemplateCatalog) -> None:
    h = Harness(passages=0)
    outputs = await h.run(catalog.get("rag_qa").graph, {"question": "What is our parental leave policy?"})
    assert h.statuses()["answer"] == "skipped" and h.statuses()["no_answer"] == "succeeded"
    assert outputs["passages"] == [] and outputs["answer"]


async def test_scheduled_digest_fetches_and_summarises_each_story(catalog: TemplateCatalog) -> None:
    graph = catalog.instantiate(
        "scheduled_digest",
        {"story_count": 3, "channel": "webhook", "destination": "https://hooks.example.org/digest"},
    )
    h = Harness()
    outputs = await h.run(graph, {})
    urls = [url for url, _ in h.api.calls]
    assert urls[0].endswith("/topstories.json")
    assert sorted(urls[1:]) == [
        f"https://hacker-news.firebaseio.com/v0/item/{i}.json" for i in (100, 101, 102)
    ]
    assert len(outputs["stories"]) == 3
    assert any("Title: Story 101" in p for p in h.llm.prompts)
    [(tool, args)] = h.tools.calls
    assert tool == "webhook" and args.payload["stories"] == outputs["stories"]


async def test_lead_qualification_routes_hot_leads_to_sales_and_crm(catalog: TemplateCatalog) -> None:
    h = Harness(
        ScriptedLLM({"sales-development analyst": {"score": 88, "reasoning": "Budget and timeline stated."}})
    )
    outputs = await h.run(catalog.get("lead_qualification").graph, SAMPLE_INPUTS["lead_qualification"])
    assert outputs["tier"] == "hot" and outputs["score"] == 88
    assert sorted(tool for tool, _ in h.tools.calls) == ["slack", "webhook"]
    assert [str(a.url) for t, a in h.tools.calls if t == "webhook"] == ["https://hooks.example.org/crm"]  # the run input
    assert h.api.calls[0][0] == "https://acme.com"
    h = Harness(ScriptedLLM({"sales-development analyst": {"score": 50, "reasoning": "Need unclear."}}))
    outputs = await h.run(catalog.get("lead_qualification").graph, SAMPLE_INPUTS["lead_qualification"])
    assert outputs["tier"] == "warm" and outputs["follow_up_email"] and not h.tools.calls


@pytest.mark.parametrize("template_id", ["lead_qualification", "classification_routing", "tool_agent"])
async def test_webhook_url_is_a_required_run_input_unless_given(catalog: TemplateCatalog, template_id: str) -> None:
    """No placeholder endpoint (hooks.example.com) ships as if it were real: without a
    ``webhook_url`` parameter the URL is a required input; with one, it is used as is."""
    def parts(graph):
        start = next(n for n in graph.nodes if node_type(n) == "input")
        [hook] = [n for n in graph.nodes if node_type(n) == "tool" and n.config.tool == "webhook"]
        return {f.name: f.required for f in start.config.fields}, hook.config.arguments["url"]

    fields, url = parts(catalog.instantiate(template_id, None))
    assert url == "{{ inputs.webhook_url }}" and fields["webhook_url"] is True
    fields, url = parts(catalog.instantiate(template_id, {"webhook_url": "https://crm.acme.io/hook"}))
    assert url == "https://crm.acme.io/hook" and "webhook_url" not in fields


async def test_tool_agent_executes_the_chosen_tool(catalog: TemplateCatalog) -> None:
    plan = {"action": "slack", "reason": "team notice", "text": "Release moved to Monday"}
    h = Harness(ScriptedLLM({"You are an assistant that can use exactly one of these tools": plan}))
    outputs = await h.run(
        catalog.get("tool_agent").graph,
        {"task": "Tell the team the release moved to Monday", "webhook_url": "https://hooks.example.org/agent"},
    )
    [(tool, args)] = h.tools.calls
    assert tool == "slack" and args.channel == "#general" and args.text == "Release moved to Monday"
    assert outputs["action"] == "slack"


async def test_sentiment_alert_fires_above_threshold(catalog: TemplateCatalog) -> None:
    aggregate = {
        "negative_share": 0.67,
        "average_score": -0.3,
        "report": "Mostly negative",
        "top_complaints": ["support"],
    }
    h = Harness(ScriptedLLM({"voice-of-customer analyst": aggregate}))
    outputs = await h.run(catalog.get("sentiment_analysis").graph, SAMPLE_INPUTS["sentiment_analysis"])
    assert len(outputs["per_review"]) == 3 and outputs["negative_share"] == 0.67
    [(tool, args)] = h.tools.calls
    assert tool == "slack" and "67%" in args.text
