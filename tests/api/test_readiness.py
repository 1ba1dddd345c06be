"""Readiness (``GET /api/workflows/{id}/readiness``, ``generate``'s ``readiness``, publish refusal),
on SQLite and PostgreSQL via the ``api`` fixture: each kind appears, and disappears once supplied."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.readiness import KINDS
from pilot.settings import Settings
from tests.conftest import Api, new_workspace_key
from tests.support.runs import edge

SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/xq7Zk2Lm9Pw4Rt6Yv8Nb"


@pytest.fixture(scope="module")
async def configured_client(settings: Settings):
    """The app on the same database with the email and Slack tools configured and ``localhost``
    allow-listed (what an operator supplies for ``tool_config`` and ``outbound_host`` items)."""
    tools = msgspec.structs.replace(settings.tools, smtp_host="smtp.example.com", slack_webhook_url=SLACK_URL)
    engine = msgspec.structs.replace(settings.engine, http_allowlist=["localhost"])
    app = create_app(msgspec.structs.replace(settings, tools=tools, engine=engine))
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
async def configured_api(configured_client: AsyncTestClient) -> Api:
    return Api(configured_client, await new_workspace_key(configured_client.app))


def start(fields: list[dict] | None = None, trigger: dict | None = None, node_id: str = "start") -> dict:
    config: dict[str, Any] = {"fields": fields or []}
    if trigger:
        config["trigger"] = trigger
    return {"id": node_id, "type": "input", "config": config}


def llm(node_id: str, prompt: str) -> dict:
    return {"id": node_id, "type": "llm", "config": {"model": "offline", "prompt": prompt}}


def tool(node_id: str, name: str, **arguments: Any) -> dict:
    return {"id": node_id, "type": "tool", "config": {"tool": name, "arguments": arguments}}


def chain(*nodes: dict) -> tuple[list[dict], list[dict]]:
    """``nodes`` in a line, ended by an output node."""
    nodes = (*nodes, {"id": "end", "type": "output", "config": {"outputs": {"done": "yes"}}})
    return list(nodes), [edge(a["id"], b["id"]) for a, b in zip(nodes, nodes[1:])]


async def create(api: Api, *nodes: dict, name: str = "readiness") -> str:
    all_nodes, edges = chain(*nodes)
    response = await api.post("/api/workflows", json={"name": name, "nodes": all_nodes, "edges": edges})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def replace(api: Api, workflow_id: str, *nodes: dict) -> None:
    all_nodes, edges = chain(*nodes)
    response = await api.put(f"/api/workflows/{workflow_id}", json={"nodes": all_nodes, "edges": edges})
    assert response.status_code == 200, response.text


async def readiness(api: Api, workflow_id: str, **kw: Any) -> dict:
    response = await api.get(f"/api/workflows/{workflow_id}/readiness", **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] == (not body["items"])
    assert body["publishable"] == all(item["kind"] == "input" for item in body["items"])
    assert all(item["kind"] in KINDS and item["message"] for item in body["items"])
    return body


def found(body: dict, kind: str | None = None) -> list[tuple[str, str | None, str | None]]:
    return [(i["kind"], i.get("node_id"), i.get("name")) for i in body["items"] if kind in (None, i["kind"])]


async def add_credential(api: Api, name: str, value: str = "xq7-Zk2-Lm9-value") -> None:
    response = await api.post("/api/credentials", json={"name": name, "type": "secret", "value": value})
    assert response.status_code == 201, response.text


async def add_knowledge_base(api: Api, name: str, *, document: bool = True) -> None:
    response = await api.post("/api/knowledge-bases", json={"name": name})
    assert response.status_code in (201, 409), response.text
    if document:
        response = await api.post(f"/api/knowledge-bases/{quote(name, safe='')}/documents",
                                  json={"title": "Handbook", "content": "Refunds take five business days."})
        assert response.status_code == 201, response.text


# ---------------------------------------------------------------- each kind


async def test_credentials_referred_anywhere_are_listed_until_created(api: Api) -> None:
    body_nodes = [llm("inner", "Sign with {{ credentials.loop_secret }} for {{ item }}")]
    wid = await create(
        api,
        start(),
        llm("write", "Use {{ credentials.api_token }} and {{ credentials.api_token }}; see credentials.json. "
                     "{% if 'maybe' in credentials %}{{ credentials.maybe }}{% endif %}"),
        {"id": "call", "type": "api", "config": {
            "url": "https://api.example.com/v1/items", "headers": {"Authorization": "Bearer {{ credentials['crm_token'] }}"}}},
        {"id": "each", "type": "loop", "config": {"items": "[1, 2]", "body": {"nodes": body_nodes, "edges": []}}},
    )
    body = await readiness(api, wid)
    assert found(body) == [("credential", "write", "api_token"), ("credential", "call", "crm_token"),
                           ("credential", "inner", "loop_secret")]
    assert "api_token" in body["items"][0]["message"] and "POST /api/credentials" in body["items"][0]["message"]
    assert not body["ready"] and not body["publishable"]

    await add_credential(api, "api_token")
    assert [name for _, _, name in found(await readiness(api, wid))] == ["crm_token", "loop_secret"]
    await add_credential(api, "crm_token")
    await add_credential(api, "loop_secret")
    body = await readiness(api, wid)
    assert body == {"ready": True, "items": [], "publishable": True}


async def test_knowledge_bases_missing_or_empty_are_listed(api: Api) -> None:
    wid = await create(api, start(), {"id": "lookup", "type": "knowledge", "config": {
        "knowledge_base": "support-docs", "query": "refunds"}}, {"id": "dynamic", "type": "knowledge", "config": {
        "knowledge_base": "{{ inputs.kb }}", "query": "refunds"}})
    body = await readiness(api, wid)
    assert found(body) == [("knowledge_base", "lookup", "support-docs")]
    assert "does not exist" in body["items"][0]["message"]

    await add_knowledge_base(api, "support-docs", document=False)
    body = await readiness(api, wid)
    assert found(body) == [("knowledge_base", "lookup", "support-docs")]
    assert "no documents" in body["items"][0]["message"]

    await add_knowledge_base(api, "support-docs")
    assert (await readiness(api, wid))["ready"] is True


async def test_required_inputs_one_item_per_field_saying_what_supplies_it(api: Api) -> None:
    fields = [{"name": "topic"}, {"name": "tone", "default": "friendly"}, {"name": "notes", "required": False},
              {"name": "count", "type": "integer"}]
    manual = await create(api, start(fields))
    body = await readiness(api, manual)
    assert found(body) == [("input", "start", "topic"), ("input", "start", "count")]
    assert "input_data.topic" in body["items"][0]["message"]
    assert body["publishable"] is True and body["ready"] is False

    expected = {"webhook": "webhook trigger", "form": "form trigger", "schedule": "scheduled runs start without inputs",
                "chat": "chat hook"}
    for kind, words in expected.items():
        trigger: dict[str, Any] = {"kind": kind}
        if kind == "schedule":
            trigger.update(cron="0 9 * * 1", timezone="UTC")
        wid = await create(api, start([{"name": "topic"}], trigger))
        (item,) = (await readiness(api, wid))["items"]
        assert (item["kind"], item["name"]) == ("input", "topic") and words in item["message"], item

    chat = await create(api, start([{"name": "message"}], {"kind": "chat"}))
    (item,) = (await readiness(api, chat))["items"]
    assert item["name"] == "message" and "with each chat message" in item["message"]

    # Supplying the input means giving it a default (or a run giving it): then nothing is missing.
    await replace(api, manual, start([{"name": "topic", "default": "news"}, {"name": "count", "required": False}]))
    assert (await readiness(api, manual))["ready"] is True


async def test_tools_without_configuration_are_listed(api: Api) -> None:
    wid = await create(
        api, start(),
        tool("mail", "email", to="ops@example.com", subject="Report", body="hi"),
        tool("post", "slack", text="hi"),
        tool("bot", "feishu", text="hi"),
        tool("hook", "webhook", payload={"a": 1}),
        tool("later", "wait", duration_s=60),
        tool("ok_bot", "dingtalk", text="hi", webhook_url="https://oapi.dingtalk.com/robot/send?access_token=abc"),
    )
    body = await readiness(api, wid)
    assert found(body) == [("tool_config", "mail", "email"), ("tool_config", "post", "slack"),
                           ("tool_config", "bot", "feishu"), ("tool_config", "hook", "webhook"),
                           ("tool_config", "later", "wait")]
    messages = [item["message"] for item in body["items"]]
    assert "SMTP_HOST" in messages[0] and "SLACK_WEBHOOK_URL" in messages[1] and "webhook_url" in messages[2]
    assert "'url'" in messages[3] and "does not have" in messages[4]

    # A bot's webhook URL from a credential counts once the credential exists.
    await replace(api, wid, start(), tool("bot", "feishu", text="hi", webhook_url="{{ credentials.feishu_hook }}"),
                  tool("post", "slack", text="hi", webhook_url="{{ inputs.slack_url }}"))
    body = await readiness(api, wid)
    assert found(body) == [("credential", "bot", "feishu_hook"), ("tool_config", "bot", "feishu")]
    assert "feishu_hook" in body["items"][1]["message"]
    await add_credential(api, "feishu_hook", "https://open.feishu.cn/open-apis/bot/v2/hook/xq7Zk2Lm9Pw4Rt6Yv8Nb")
    assert (await readiness(api, wid))["ready"] is True


async def test_configured_tools_are_not_listed(configured_api: Api) -> None:
    wid = await create(configured_api, start(), tool("mail", "email", to="ops@example.com", subject="Report", body="hi"),
                       tool("post", "slack", text="hi"), tool("post2", "slack", text="hi", webhook_url="{{ credentials.hook }}"))
    body = await readiness(configured_api, wid)
    # SMTP_HOST and SLACK_WEBHOOK_URL are set: only the missing credential is left.
    assert found(body) == [("credential", "post2", "hook")]
    await add_credential(configured_api, "hook", SLACK_URL)
    assert (await readiness(configured_api, wid))["ready"] is True


async def test_outbound_hosts_the_guard_refuses_are_listed(api: Api, configured_api: Api) -> None:
    def api_node(node_id: str, url: str) -> dict:
        return {"id": node_id, "type": "api", "config": {"url": url}}

    nodes = [
        start(),
        api_node("loopback", "http://127.0.0.1:9/x"), api_node("local_name", "http://localhost:8080/health"),
        api_node("metadata", "http://169.254.169.254/latest/meta-data"), api_node("octal", "http://0177.0.0.1/"),
        api_node("v6", "http://[::1]/"), api_node("public", "https://example.com/api"),
        api_node("templated", "http://{{ inputs.host }}/x"),
        tool("hook", "webhook", url="http://10.1.2.3/hook", payload={}),
    ]
    wid = await create(api, *nodes)
    body = await readiness(api, wid)
    assert found(body) == [("outbound_host", "loopback", "127.0.0.1"), ("outbound_host", "local_name", "localhost"),
                           ("outbound_host", "metadata", "169.254.169.254"), ("outbound_host", "octal", "0177.0.0.1"),
                           ("outbound_host", "v6", "::1"), ("outbound_host", "hook", "10.1.2.3")]
    messages = {item["node_id"]: item["message"] for item in body["items"]}
    assert "loopback" in messages["loopback"] and "PILOT_HTTP_ALLOWLIST" in messages["loopback"]
    assert "link-local" in messages["metadata"] and "private" in messages["hook"]
    zh = {item["node_id"]: item["message"] for item in (await readiness(api, wid, params={"lang": "zh"}))["items"]}
    assert "回环地址" in zh["loopback"] and "私有网络地址" in zh["hook"]

    # Fixed: public URLs (or an allow-listed host on a server that allows it).
    await replace(api, wid, start(), api_node("loopback", "https://example.com/x"),
                  tool("hook", "webhook", url="https://hooks.example.com/in", payload={}))
    assert (await readiness(api, wid))["ready"] is True
    allowed = await create(configured_api, start(), api_node("local_name", "http://localhost:8080/health"),
                           api_node("loopback", "http://127.0.0.1:9/x"))
    assert found(await readiness(configured_api, allowed)) == [("outbound_host", "loopback", "127.0.0.1")]


# ---------------------------------------------------------------- language, tenancy, generate


async def test_messages_follow_the_requested_language(api: Api) -> None:
    wid = await create(api, start([{"name": "topic"}]), llm("write", "{{ credentials.token }}"),
                       {"id": "lookup", "type": "knowledge", "config": {"knowledge_base": "手册", "query": "退款"}},
                       tool("mail", "email", to="a@example.com", subject="s", body="b"))
    english = await readiness(api, wid)
    chinese = await readiness(api, wid, params={"lang": "zh"})
    by_header = await readiness(api, wid, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    explicit_en = await readiness(api, wid, params={"lang": "en"}, headers={"Accept-Language": "zh-CN"})
    assert found(english) == found(chinese) == found(by_header)
    assert chinese["items"] == by_header["items"] and explicit_en["items"] == english["items"]
    assert [i["message"] for i in chinese["items"]] == [
        "必填输入“topic”没有默认值：启动运行时请提供（input_data.topic）。",
        "节点“write”需要凭据“token”，但此工作区没有：请通过 POST /api/credentials 创建。",
        "节点“lookup”检索知识库“手册”，但此工作区中没有这个知识库：请创建它（POST /api/knowledge-bases）并添加文档。",
        "节点“mail”要发送邮件，但服务器没有配置 SMTP：请在服务器上设置 SMTP_HOST（以及 SMTP_PORT、SMTP_USER、SMTP_PASSWORD）。",
    ]
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in i["message"].replace("手册", "")) for i in english["items"])


async def test_readiness_of_another_workspace_is_404(api: Api, other_api: Api) -> None:
    wid = await create(api, start(), llm("write", "{{ credentials.token }}"))
    theirs = await other_api.get(f"/api/workflows/{wid}/readiness")
    missing = await api.get("/api/workflows/wf_missing/readiness")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == {"status_code": 404, "detail": f"workflow '{wid}' not found"}
    # The other workspace's credential of that name does not make it ready.
    await add_credential(other_api, "token")
    assert found(await readiness(api, wid)) == [("credential", "write", "token")]
    assert (await other_api.post(f"/api/workflows/{wid}/publish?force=true")).status_code == 404


async def test_generate_returns_readiness_in_the_request_language(api: Api) -> None:
    english = await api.post("/api/workflows/generate", json={"prompt": "Answer questions from our company-docs "
                                                                        "knowledge base and email the answer"})
    assert english.status_code == 201, english.text
    body = english.json()
    stored = await readiness(api, body["workflow_id"])
    assert body["readiness"] == stored and stored["items"]
    chinese = await api.post("/api/workflows/generate", json={"prompt": "每天早上9点总结36氪的新闻并发到飞书群"})
    assert chinese.status_code == 201, chinese.text
    items = chinese.json()["readiness"]["items"]
    assert items and all(any("\u4e00" <= ch <= "\u9fff" for ch in item["message"]) for item in items)
    unsaved = await api.post("/api/workflows/generate", json={"prompt": "email me a joke", "save": False})
    assert unsaved.status_code == 201 and unsaved.json()["workflow_id"] is None
    assert "tool_config" in [i["kind"] for i in unsaved.json()["readiness"]["items"]]


async def test_chat_workflow_ready_carries_readiness(api: Api) -> None:
    chat = (await api.post("/api/chat/sessions", json={})).json()
    reply = await api.post(f"/api/chat/sessions/{chat['id']}/messages", json={"content": "email me a summary of this article"})
    assert reply.status_code == 200, reply.text
    events, name = [], None
    for line in reply.text.splitlines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events.append((name, line[5:].strip()))
    ready = [data for name, data in events if name == "workflow.ready"]
    assert ready, reply.text
    data = msgspec.json.decode(ready[-1])
    assert data["readiness"] == await readiness(api, data["workflow"]["id"])
    assert "tool_config" in [i["kind"] for i in data["readiness"]["items"]]


# ---------------------------------------------------------------- publishing


async def test_publish_is_refused_until_ready_unless_forced(api: Api) -> None:
    nodes = (start([{"name": "topic"}], {"kind": "webhook"}), llm("write", "{{ credentials.token }} {{ inputs.topic }}"),
             {"id": "lookup", "type": "knowledge", "config": {"knowledge_base": "faq", "query": "{{ inputs.topic }}"}})
    wid = await create(api, *nodes)
    refused = await api.post(f"/api/workflows/{wid}/publish")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert [(i["kind"], i["name"]) for i in body["extra"]] == [("credential", "token"), ("knowledge_base", "faq")]
    assert "?force=true" in body["detail"] and "token" in body["detail"]
    # Nothing changed: still a draft, its webhook not active.
    assert (await api.get(f"/api/workflows/{wid}")).json()["status"] == "draft"
    assert not any(t["active"] for t in (await api.get(f"/api/workflows/{wid}/triggers")).json()["items"])
    zh = await api.post(f"/api/workflows/{wid}/publish", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 409 and "强制发布" in zh.json()["detail"] and "凭据“token”" in zh.json()["extra"][0]["message"]

    forced = await api.post(f"/api/workflows/{wid}/publish", params={"force": "true"})
    assert forced.status_code == 200 and forced.json()["status"] == "published"
    assert [t["active"] for t in (await api.get(f"/api/workflows/{wid}/triggers")).json()["items"]] == [True]
    again = await api.post(f"/api/workflows/{wid}/publish")  # already published: idempotent, not re-checked
    assert again.status_code == 200 and again.json() == forced.json()

    fixed = await create(api, *nodes, name="fixed")
    await add_credential(api, "token")
    await add_knowledge_base(api, "faq")
    body = await readiness(api, fixed)
    assert found(body) == [("input", "start", "topic")] and body["publishable"] is True  # inputs never block
    published = await api.post(f"/api/workflows/{fixed}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"


async def test_an_invalid_graph_is_still_a_422_not_a_readiness_refusal(api: Api) -> None:
    wid = await create(api, start([], {"kind": "schedule", "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}),
                       llm("write", "{{ credentials.token }}"))
    refused = await api.post(f"/api/workflows/{wid}/publish")
    assert refused.status_code == 422 and "unknown timezone" in refused.text


# ---------------------------------------------------------------- every template, 20 generated workflows

PROMPTS = [
    "every morning summarise Hacker News and post it to Slack",
    "Answer customer questions from our support-docs knowledge base and email the answer to support@example.com",
    "When a webhook arrives with a new lead, score it and post hot leads to Slack",
    "Every Monday at 9 fetch https://api.example.com/orders and email a summary to ops@example.com",
    "Classify incoming support tickets: billing goes to finance by email, bugs are posted in #bugs on Slack",
    "Translate each row of the uploaded sheet into French and send the result to a webhook",
    "Use the product-faq knowledge base to answer questions in the chat",
    "Every hour check the GitHub API for new issues and post a digest to Slack",
    "If the sentiment score is below 3, email the customer success team at cs@example.com, otherwise post to Slack",
    "Summarise this article in three bullet points and send it to my Slack",
    "每天早上9点总结36氪的新闻并发到飞书群",
    "用知识库回答员工的问题",
    "收到 webhook 后给线索打分，高分的发到钉钉群",
    "每周一早上8点抓取 https://api.example.com/sales 的数据，生成周报发邮件给 boss@example.com",
    "如果金额大于1000就发到钉钉群，否则发到企业微信",
    "把这篇文章翻译成英文然后发到 Slack",
    "根据产品手册知识库回答客户的问题，答不出的转给人工并发邮件通知",
    "每天晚上总结 GitHub 上的新 issue 并发到企业微信",
    "同时从HubSpot和Stripe拉数据，汇总后发邮件给 finance@example.com",
    "对每条评论做情感分析，负面的发到飞书",
]


def expected_for(graph: dict) -> set[tuple[str, str, str]]:
    """What an unconfigured server must list for a template graph, read independently from its
    JSON: required inputs without a default, Slack/email tools, knowledge bases, credentials."""
    expected: set[tuple[str, str, str]] = set()

    def walk(nodes: list[dict]):
        for node in nodes:
            yield node
            if node["type"] == "loop":
                yield from walk(node["config"]["body"]["nodes"])

    for node in walk(graph["nodes"]):
        config = node["config"]
        for name in re.findall(r"credentials(?:\.|\[')(\w+)", json.dumps(config)):
            expected.add(("credential", node["id"], name))
        if node["type"] == "input":
            expected |= {("input", node["id"], f["name"]) for f in config.get("fields", [])
                         if f.get("required", True) and f.get("default") is None}
        elif node["type"] == "knowledge" and "{{" not in config["knowledge_base"]:
            expected.add(("knowledge_base", node["id"], config["knowledge_base"]))
        elif node["type"] == "tool" and config["tool"] in ("slack", "email"):
            if config["tool"] == "email" or "webhook_url" not in config.get("arguments", {}) or "credentials" in json.dumps(config):
                expected.add(("tool_config", node["id"], config["tool"]))
    return expected


async def test_each_template_lists_exactly_what_is_missing(api: Api) -> None:
    templates = (await api.get("/api/templates")).json()["items"]
    assert len(templates) == 14
    for summary in templates:
        graph = (await api.get(f"/api/templates/{summary['id']}")).json()["graph"]
        response = await api.post("/api/workflows", json={"name": summary["id"], "nodes": graph["nodes"],
                                                          "edges": graph["edges"], "settings": graph.get("settings")})
        assert response.status_code == 201, response.text
        body = await readiness(api, response.json()["id"])
        assert set(found(body)) == expected_for(graph), summary["id"]
        assert len(found(body)) == len(set(found(body))), summary["id"]


async def supply(api: Api, body: dict, made: set[tuple[str, str]]) -> None:
    """Create every credential and knowledge base (with a document) the readiness list asks for."""
    for item in body["items"]:
        key = (item["kind"], item["name"])
        if key in made:
            continue
        if item["kind"] == "credential":
            await add_credential(api, item["name"], f"https://hooks.example.com/{item['name']}/xq7Zk2Lm9Pw4Rt6")
            made.add(key)
        elif item["kind"] == "knowledge_base":
            await add_knowledge_base(api, item["name"])
            made.add(key)


async def test_every_template_and_generated_workflow_is_ready_once_supplied(configured_api: Api) -> None:
    api = configured_api
    workflow_ids: list[str] = []
    templates = (await api.get("/api/templates")).json()["items"]
    assert len(templates) == 14
    for summary in templates:
        template = (await api.get(f"/api/templates/{summary['id']}")).json()
        graph = template["graph"]
        response = await api.post("/api/workflows", json={"name": summary["id"], "template_id": summary["id"],
                                                          "nodes": graph["nodes"], "edges": graph["edges"],
                                                          "settings": graph.get("settings")})
        assert response.status_code == 201, response.text
        workflow_ids.append(response.json()["id"])
    assert len(PROMPTS) == 20
    for prompt in PROMPTS:
        response = await api.post("/api/workflows/generate", json={"prompt": prompt})
        assert response.status_code == 201, (prompt, response.text)
        body = response.json()
        lang = body["blueprint"]["language"]
        assert body["readiness"] == await readiness(api, body["workflow_id"], params={"lang": lang}), prompt
        workflow_ids.append(body["workflow_id"])

    made: set[tuple[str, str]] = set()
    listed: set[str] = set()
    for wid in workflow_ids:
        body = await readiness(api, wid)
        listed.update(item["kind"] for item in body["items"])
        await supply(api, body, made)
    assert {"credential", "knowledge_base", "input"} <= listed
    for wid in workflow_ids:
        body = await readiness(api, wid)
        assert all(item["kind"] == "input" for item in body["items"]), (wid, body)
        assert body["publishable"] is True


async def test_generate_sees_a_credential_as_soon_as_it_is_added_or_deleted(api: Api) -> None:
    """generate's readiness reads credential names through a per-process cache
    (pilot.credentials.names): a credential created or deleted through the API counts at once."""
    prompt = {"prompt": "每天早上9点总结36氪的新闻并发到飞书群", "save": False}

    async def missing_credentials() -> list[str]:
        response = await api.post("/api/workflows/generate", json=prompt)
        assert response.status_code == 201, response.text
        return [i["name"] for i in response.json()["readiness"]["items"] if i["kind"] == "credential"]

    before = await missing_credentials()
    assert before, "the Feishu delivery needs a credential"
    assert await missing_credentials() == before  # a second read (cached) answers the same
    await add_credential(api, before[0])
    assert before[0] not in await missing_credentials()
    listed = (await api.get("/api/credentials")).json()
    ids = [c["id"] for c in listed["items"] if c["name"] == before[0]]
    assert (await api.delete(f"/api/credentials/{ids[0]}")).status_code == 204
    assert before[0] in await missing_credentials()
