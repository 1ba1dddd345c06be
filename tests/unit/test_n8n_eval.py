"""The n8n structure eval (evals/n8n.py) on tiny hand-built n8n graphs and πlot graphs."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from evals import n8n
from pilot.workflows.model import graph_from_builtins

BASE = "n8n-nodes-base."
LC = "@n8n/n8n-nodes-langchain."


def template(nodes: list[tuple[str, str]], edges: list[tuple], ai: list[tuple[str, str, str]] = ()) -> n8n.Flow:
    """An n8n flow from (name, type) nodes, (source, target[, output_index]) main edges and
    (source, target, conn_type) sub-node connections."""
    main = [{"source": e[0], "target": e[1], "conn_type": "main", "output_index": e[2] if len(e) > 2 else 0} for e in edges]
    subs = [{"source": s, "target": t, "conn_type": c, "output_index": 0} for s, t, c in ai]
    return n8n.n8n_flow([{"name": n, "type": t} for n, t in nodes], main + subs)


def ours(nodes: list[dict], edges: list[tuple[str, str]], trigger: dict | None = None) -> n8n.Flow:
    """A πlot flow: input (with ``trigger``) → nodes in order → output, plus extra ``edges``."""
    start = {"id": "start", "type": "input", "config": {"trigger": trigger} if trigger else {}}
    end = {"id": "result", "type": "output", "config": {"outputs": {"r": "{{ inputs }}"}}}
    chain = [start, *nodes, end]
    flat = [(a["id"], b["id"]) for a, b in zip(chain, chain[1:])] if not edges else edges
    graph = graph_from_builtins({"nodes": chain, "edges": [{"id": f"e{i}", "source": a, "target": b}
                                                           for i, (a, b) in enumerate(flat)]})
    return n8n.graph_flow(graph)


def llm(nid: str) -> dict:
    return {"id": nid, "type": "llm", "config": {"prompt": "summarise {{ inputs }}"}}


def api(nid: str, service: str, method: str = "GET") -> dict:
    return {"id": nid, "type": "api", "config": {"url": "https://example.com", "method": method, "service": service}}


def tool(nid: str, name: str) -> dict:
    return {"id": nid, "type": "tool", "config": {"tool": name, "arguments": {}}}


# A scheduled fetch, a Set, an IF whose true branch posts to Slack, whose false branch does nothing.
ALERT = [("Every day", BASE + "scheduleTrigger"), ("Fetch posts", BASE + "httpRequest"), ("Edit Fields", BASE + "set"),
         ("Is urgent?", BASE + "if"), ("Send a message", BASE + "slack"), ("Nothing", BASE + "noOp")]
ALERT_EDGES = [("Every day", "Fetch posts"), ("Fetch posts", "Edit Fields"), ("Edit Fields", "Is urgent?"),
               ("Is urgent?", "Send a message", 0), ("Is urgent?", "Nothing", 1)]


def test_kinds_triggers_services_of_a_template():
    flow = template(ALERT, ALERT_EDGES)
    assert flow.kinds == {"Every day": "trigger", "Fetch posts": "source", "Edit Fields": "transform",
                          "Is urgent?": "condition", "Send a message": "deliver", "Nothing": None}
    assert flow.triggers == {"schedule"} and flow.services == {"slack"} and flow.deliveries == ["slack"]
    assert flow.kind_set() == {"source", "transform", "condition", "deliver"}
    assert flow.pairs() == Counter({("trigger", "source"): 1, ("source", "transform"): 1,
                                    ("transform", "condition"): 1, ("condition", "deliver"): 1})
    # without transform the Set node is glue: its neighbours connect through it
    assert flow.pairs(["transform"]) == Counter({("trigger", "source"): 1, ("source", "condition"): 1,
                                                 ("condition", "deliver"): 1})


def test_node_and_edge_f1_against_a_partial_build():
    theirs = template(ALERT, ALERT_EDGES)
    mine = ours([api("fetch", "web"), tool("send_slack", "slack")], [], {"kind": "schedule", "cron": "0 8 * * *"})
    m = n8n.compare(mine, theirs)
    # kinds: ours {source, deliver} vs theirs {source, transform, condition, deliver}: P 1, R 1/2
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["f1_no_transform"] == pytest.approx(0.8)  # R 2/3
    # pairs: ours {t→s, s→d} vs theirs {t→s, s→x, x→c, c→d}: one in common → 2·1 / (2 + 4)
    assert m["edge_f1"] == pytest.approx(1 / 3)
    assert m["edge_f1_no_transform"] == pytest.approx(2 / 5)
    assert m["trigger_ok"] is True and m["side_effect"] is False and m["service_recall"] == 1.0


def test_loop_back_edge_glue_and_agent_sub_nodes():
    theirs = template(
        [("Start", BASE + "manualTrigger"), ("Get row(s) in sheet", BASE + "googleSheets"), ("Merge", BASE + "merge"),
         ("Loop Over Items", BASE + "splitInBatches"), ("AI Agent", LC + "agent"), ("Model", LC + "lmChatOpenAi"),
         ("Web search", LC + "toolSerpApi"), ("Send a text message", BASE + "telegram"), ("Done", BASE + "noOp")],
        [("Start", "Get row(s) in sheet"), ("Get row(s) in sheet", "Merge"), ("Merge", "Loop Over Items"),
         ("Loop Over Items", "Done", 0), ("Loop Over Items", "AI Agent", 1), ("AI Agent", "Send a text message"),
         ("Send a text message", "Loop Over Items")],  # n8n closes the loop with an edge back
        ai=[("Model", "AI Agent", "ai_languageModel"), ("Web search", "AI Agent", "ai_tool")])
    assert ("Send a text message", "Loop Over Items") not in theirs.edges  # the back edge is dropped
    assert theirs.pairs() == Counter({("trigger", "source"): 1, ("source", "loop"): 1, ("loop", "llm"): 1,
                                      ("llm", "deliver"): 1})
    assert theirs.kinds["Web search"] == "source" and theirs.services == {"google_sheets", "telegram", "serpapi"}
    body = {"nodes": [llm("summarise"), api("send_telegram", "telegram", "POST")],
            "edges": [{"id": "b0", "source": "summarise", "target": "send_telegram"}]}
    loop = {"id": "each", "type": "loop", "config": {"items": "{{ nodes.rows.output.body }}", "body": body}}
    mine = ours([api("rows", "google_sheets"), loop], [])
    assert mine.pairs() == Counter({("trigger", "source"): 1, ("source", "loop"): 1, ("loop", "llm"): 1,
                                    ("llm", "deliver"): 1})
    m = n8n.compare(mine, theirs)
    assert m["edge_f1"] == 1.0 and m["f1"] == 1.0 and m["trigger_ok"] is True
    assert m["service_recall"] == pytest.approx(2 / 3)  # google_sheets and telegram of three


def test_unrequested_side_effects_resolve_services_through_the_lexicon():
    theirs = template([("Gmail Trigger", BASE + "gmailTrigger"), ("Reply", BASE + "gmail"),
                       ("Post result", BASE + "httpRequest")],
                      [("Gmail Trigger", "Reply"), ("Reply", "Post result")])
    assert theirs.services == {"email", n8n.GENERIC}  # gmail → email; an unnamed HTTP delivery → webhook
    assert theirs.triggers == {"app_event"}
    fine = ours([tool("send_email", "email"), tool("post", "webhook")], [],
                {"kind": "app_event", "service": "gmail", "event": "new email"})
    assert n8n.unrequested(fine, theirs) == [] and n8n.compare(fine, theirs)["trigger_ok"] is True
    extra = ours([llm("draft"), tool("send_email", "email"), api("send_slack", "slack", "POST")], [])
    assert n8n.unrequested(extra, theirs) == ["slack"]
    m = n8n.compare(extra, theirs)
    assert m["side_effect"] is True and m["trigger_ok"] is False and m["service_recall"] == 1.0
    # reading a service is not a side effect, even an unrequested one
    reader = ours([api("fetch_slack", "slack")], [])
    assert n8n.unrequested(reader, theirs) == []


@pytest.mark.parametrize(("types", "expected"), [
    ([BASE + "manualTrigger", BASE + "scheduleTrigger"], {"schedule"}),  # manual only when alone
    ([BASE + "manualTrigger"], {"manual"}),
    ([BASE + "telegramTrigger"], {"app_event", "chat"}),  # a messaging bot may read as chat
    ([BASE + "gmailTrigger"], {"app_event"}),
    ([LC + "chatTrigger"], {"chat"}),
    ([BASE + "formTrigger", BASE + "webhook"], {"form", "webhook"}),
    ([LC + "mcpTrigger"], set()),  # no πlot counterpart: not scored
])
def test_trigger_kinds(types, expected):
    flow = template([(f"t{i}", t) for i, t in enumerate(types)], [])
    assert flow.triggers == expected


def test_operation_from_the_node_name_and_position():
    flow = template([("Webhook", BASE + "webhook"), ("Get many rows", BASE + "supabase"),
                     ("Append row in sheet", BASE + "googleSheets"), ("Google Sheets1", BASE + "googleSheets"),
                     ("Postgres", BASE + "postgres"), ("Think", LC + "toolThink"), ("Ask OpenAI", BASE + "httpRequest")],
                    [("Webhook", "Get many rows"), ("Get many rows", "Postgres"), ("Postgres", "Ask OpenAI"),
                     ("Ask OpenAI", "Append row in sheet"), ("Append row in sheet", "Google Sheets1")])
    assert flow.kinds["Get many rows"] == "source" and flow.kinds["Append row in sheet"] == "deliver"
    assert flow.kinds["Postgres"] == "source"  # no verb, something follows it
    assert flow.kinds["Google Sheets1"] == "deliver"  # no verb, a sink
    assert flow.kinds["Ask OpenAI"] == "llm" and flow.kinds["Think"] is None
    # multisets: two a→b pairs match two, not one
    assert n8n.multiset_f1(Counter({("a", "b"): 2}), Counter({("a", "b"): 2, ("b", "c"): 1})) == pytest.approx(0.8)
    assert n8n.multiset_f1(Counter({("a", "b"): 2}), Counter({("a", "b"): 1})) == pytest.approx(2 / 3)
    assert n8n.multiset_f1(Counter(), Counter()) == 1.0 and n8n.multiset_f1(Counter(), Counter({("a", "b"): 1})) == 0.0


def test_score_groups_by_language(tmp_path):
    rows = [{"template_id": "a-1", "title": "Daily alert", "title_is_chinese": False,
             "nodes": [{"name": n, "type": t} for n, t in ALERT],
             "edges": [{"source": e[0], "target": e[1], "conn_type": "main", "output_index": 0} for e in ALERT_EDGES]},
            {"template_id": "b-2", "title": "每日提醒", "title_is_chinese": True,
             "nodes": [{"name": "Start", "type": BASE + "manualTrigger"}, {"name": "Send", "type": BASE + "emailSend"}],
             "edges": [{"source": "Start", "target": "Send", "conn_type": "main", "output_index": 0}]},
            {"template_id": "c-3", "title": "broken", "parse_error": "x"}]
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    slack = graph_from_builtins({"nodes": [{"id": "start", "type": "input"}, tool("send_slack", "slack")],
                                 "edges": [{"id": "e0", "source": "start", "target": "send_slack"}]})
    report = n8n.score(lambda _title: slack, path=path)
    g = report["groups"]
    assert g["all"]["n"] == 2 and g["en"]["n"] == 1 and g["zh"]["n"] == 1
    assert g["en"]["side_effect_rate"] == 0.0 and g["zh"]["side_effect_rate"] == 1.0  # slack vs an email template
    assert g["en"]["trigger_acc"] == 0.0 and g["zh"]["trigger_acc"] == 1.0
    assert g["zh"]["f1"] == 1.0 and g["zh"]["edge_f1"] == 1.0  # both: trigger → deliver
    assert report["per_kind"]["deliver"] == {"precision": 1.0, "recall": 1.0, "predicted": 2, "expected": 2}
    assert any(line.startswith("n8n zh") for line in n8n.render_lines(report))
    assert n8n.score(path=tmp_path / "missing.jsonl") == {"groups": {}, "skipped": f"{tmp_path / 'missing.jsonl'} not found"}
