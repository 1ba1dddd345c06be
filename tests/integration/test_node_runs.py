"""llm / api / knowledge / tool nodes inside real runs (engine + runs API + SSE over a socket), with
the fake OpenAI server, a loopback HTTP receiver allow-listed by exact host:port, and a local SMTP
server: deltas, retries on 500, fallback events, SSRF refusals and sandbox escapes end the run
with clear node errors."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pilot.app import create_app
from tests.conftest import build_settings
from tests.support.echo_server import echo_server
from tests.support.fake_openai import fail, reply
from tests.support.runs import RunClient, edge, finished, node
from tests.support.servers import serve_in_thread
from tests.support.smtp_server import smtp_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fake_openai_server):
    with echo_server() as (echo_url, echo_app), smtp_server() as smtp:
        settings = build_settings(
            tmp_path_factory.mktemp("node-runs") / ".pilot",
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=fake_openai_server.base_url,
            PILOT_LLM_TIMEOUT_S="5",
            PILOT_HTTP_ALLOWLIST=urlsplit(echo_url).netloc,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp.server_address[1]),
            SMTP_STARTTLS="false",
        )
        app = create_app(settings)
        with serve_in_thread(app) as url:
            yield {"url": url, "app": app, "echo_url": echo_url, "echo": echo_app, "smtp": smtp}


@pytest.fixture
async def rc(stack, fake_openai):
    from tests.conftest import new_workspace_key

    client = RunClient(stack["url"], await new_workspace_key(stack["app"]))
    yield client
    await client.aclose()


def _names(events):
    return [e for _, e, _ in events]


def _with_input(nodes: list[dict], edges: list[dict]) -> tuple[list[dict], list[dict]]:
    """Workflows need an input node: put one in front of every root."""
    targets = {e["target"] for e in edges}
    roots = [n["id"] for n in nodes if n["id"] not in targets]
    return [node("start", "input", fields=[]), *nodes], [*(edge("start", r) for r in roots), *edges]


async def test_rag_pipeline_end_to_end(rc: RunClient, stack, fake_openai) -> None:
    kb = (await rc.http.post("/api/knowledge-bases", json={"name": "faq"})).json()
    for title, content in (("Refunds", "Refunds are issued within 30 days of delivery."),
                           ("退款", "收到商品后三十天内可以申请退款。")):
        assert (await rc.http.post(f"/api/knowledge-bases/{kb['id']}/documents",
                                   json={"title": title, "content": content})).status_code == 201
    fake_openai.script(reply("You can get a refund within 30 days."))
    echo = stack["echo_url"]
    nodes = [
        node("start", "input", fields=[{"name": "question"}]),
        node("lookup", "knowledge", knowledge_base="faq", query="{{ inputs.question }}", top_k=2),
        node("answer", "llm", model="gpt-4o-mini",
             prompt="Context: {% for p in nodes.lookup.output %}{{ p.text }} {% endfor %}\nQ: {{ inputs.question }}"),
        node("post", "api", method="POST", url=echo + "/echo", body='{"answer": {{ nodes.answer.output | tojson }}}'),
        node("notify", "tool", tool="slack", arguments={"text": "{{ nodes.answer.output }}", "webhook_url": echo + "/echo"}),
        node("mail", "tool", tool="email", arguments={"to": "ops@example.com", "subject": "Answer", "body": "{{ nodes.answer.output }}"}),
        node("out", "output", outputs={"answer": "{{ nodes.answer.output }}", "sources": "{{ nodes.lookup.output | map(attribute='title') | list }}",
                                       "echoed": "{{ nodes.post.output.body.json.answer }}"}),
    ]
    edges = [edge("start", "lookup"), edge("lookup", "answer"), edge("answer", "post"), edge("answer", "notify"),
             edge("answer", "mail"), edge("post", "out"), edge("notify", "out"), edge("mail", "out")]
    execution_id, events = await rc.run(nodes, edges, {"question": "how long do refunds take?"})
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-1]
    outputs = events[-1][2]["outputs"]
    assert outputs["answer"] == outputs["echoed"] == "You can get a refund within 30 days."
    assert outputs["sources"][0] == "Refunds"
    deltas = [d["text"] for _, e, d in events if e == "node.delta" and d["node_id"] == "answer"]
    assert len(deltas) > 1 and "".join(deltas) == outputs["answer"]
    assert "Refunds are issued within 30 days" in fake_openai.chat_requests()[-1].messages[-1]["content"]
    # slack ran too; "post" and "notify" run side by side, so their two requests arrive in either order
    assert {"text": outputs["answer"]} in [r["json"] for r in stack["echo"].received[-2:]]
    assert stack["smtp"].messages[-1]["message"]["Subject"] == "Answer"
    usage = finished(events)["answer"]["usage"]
    assert usage["total_tokens"] > 0 and usage["cost_usd"] > 0
    detail = await rc.execution(execution_id)
    assert detail["usage"]["total_tokens"] >= usage["total_tokens"]


async def test_flaky_llm_retries_then_succeeds(rc: RunClient, fake_openai) -> None:
    fake_openai.script(fail(500), fail(500), reply("third time lucky"))
    nodes = [node("ask", "llm", prompt="hi", retry={"max_attempts": 3, "initial_delay_s": 0.05, "jitter": 0}),
             node("out", "output", outputs={"text": "{{ nodes.ask.output }}"})]
    _, events = await rc.run(*_with_input(nodes, [edge("ask", "out")]))
    retries = [d for _, e, d in events if e == "node.retry"]
    assert len(retries) == 2 and retries[1]["delay_s"] > retries[0]["delay_s"]
    assert events[-1][2]["status"] == "succeeded" and events[-1][2]["outputs"] == {"text": "third time lucky"}


async def test_dead_primary_model_falls_back_in_the_stream(rc: RunClient, fake_openai) -> None:
    fake_openai.missing_models = {"gpt-4o-mini"}
    fake_openai.script(reply("from the backup"), model="backup-model")
    nodes = [node("ask", "llm", model="gpt-4o-mini", fallback_models=["backup-model"], prompt="hi"),
             node("out", "output", outputs={"text": "{{ nodes.ask.output }}"})]
    _, events = await rc.run(*_with_input(nodes, [edge("ask", "out")]))
    fallbacks = [d for _, e, d in events if e == "node.fallback"]
    assert fallbacks == [{"node_id": "ask", "from_model": "gpt-4o-mini", "to_model": "backup-model"}]
    assert "node.retry" not in _names(events)
    assert events[-1][2]["outputs"] == {"text": "from the backup"}


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/", "http://10.0.0.1/"])
async def test_ssrf_is_refused_in_a_run(rc: RunClient, target: str) -> None:
    nodes = [node("call", "api", url=target, retry={"max_attempts": 3, "initial_delay_s": 0.01}),
             node("out", "output", outputs={"r": "{{ nodes.call.output }}"})]
    _, events = await rc.run(*_with_input(nodes, [edge("call", "out")]))
    failed = [d for _, e, d in events if e == "node.failed"]
    assert failed and failed[0]["node_id"] == "call" and "refused" in failed[0]["error"]
    assert "node.retry" not in _names(events)  # a refusal is not retried
    assert events[-1][2]["status"] == "failed"


async def test_sandbox_escape_fails_the_node(rc: RunClient, fake_openai) -> None:
    nodes = [node("ask", "llm", prompt="{{ ().__class__.__mro__[1].__subclasses__() }}"),
             node("out", "output", outputs={"r": "{{ nodes.ask.output }}"})]
    _, events = await rc.run(*_with_input(nodes, [edge("ask", "out")]))
    failed = [d for _, e, d in events if e == "node.failed"]
    assert "sandbox" in failed[0]["error"] and events[-1][2]["status"] == "failed"
    assert fake_openai.chat_requests() == []


async def test_unknown_knowledge_base_and_tool_are_named(rc: RunClient) -> None:
    nodes = [node("kb", "knowledge", knowledge_base="missing-kb", query="x", on_error="continue"),
             node("t", "tool", tool="fax", on_error="continue"),
             node("out", "output", outputs={"kb": "{{ nodes.kb.output }}"})]
    _, events = await rc.run(*_with_input(nodes, [edge("kb", "out"), edge("t", "out")]))
    # on_error=continue: the node finishes (output null) and its error is reported with it
    errors = {d["node_id"]: d.get("error") for _, e, d in events if e == "node.finished"}
    assert "knowledge base 'missing-kb' not found" in errors["kb"]
    assert "unknown tool 'fax'" in errors["t"]
    assert events[-1][2]["status"] == "succeeded" and events[-1][2]["outputs"] == {"kb": None}
