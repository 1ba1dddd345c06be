"""The plan → graph compiler, pure (no server): every structure of the plan IR compiles honestly."""

from __future__ import annotations

import msgspec
import pytest

from pilot.chat.ops import AddEdge, AddNode, SetSetting
from pilot.generation.compiler import GenerationError, build_graph, compile_ops, compile_plan
from pilot.generation.plan import plan_from_builtins
from pilot.workflows.validation import iter_all_nodes, validate_graph


def plan(*steps, trigger=None, language="en"):
    return plan_from_builtins({"title": "t", "language": language, "trigger": trigger or {"kind": "manual"},
                               "steps": list(steps)})


def by_id(graph):
    return {n.id: n for n in iter_all_nodes(graph)}


def test_compile_emits_chat_edit_ops_and_mirrors_the_schedule():
    p = plan({"kind": "ai", "id": "write", "task": "generate"}, trigger={"kind": "schedule", "cron": "0 8 * * 1"})
    ops = compile_ops(p)
    assert [type(o) for o in ops] == [AddNode, AddNode, AddEdge, AddNode, AddEdge, SetSetting]
    graph = compile_plan(p)
    assert graph.settings.schedule == "0 8 * * 1" and graph.nodes[0].config.trigger.cron == "0 8 * * 1"
    assert validate_graph(graph).valid


def test_branch_cases_keep_their_own_steps_and_a_tested_field_enters_the_schema():
    graph = compile_plan(plan(
        {"kind": "ai", "id": "judge", "task": "extract"},
        {"kind": "branch", "id": "gate", "on": "judge", "field": "total",
         "cases": [{"label": "big", "when": {"subject": "judge", "field": "total", "op": "ge", "value": 100},
                    "steps": [{"kind": "deliver", "id": "a", "service": "slack"}]}],
         "otherwise": [{"kind": "deliver", "id": "b", "service": "airtable", "operation": "append"}]},
        {"kind": "deliver", "id": "c", "service": "email", "target": "ops@acme.io"}))
    n = by_id(graph)
    assert n["judge"].config.output_schema["properties"]["total"]["type"] == "number"
    assert n["gate"].config.cases[0].when == "nodes.judge.output.total >= 100"
    handles = {(e.source, e.source_handle): e.target for e in graph.edges}
    assert n[handles[("gate", "big")]].config.tool == "slack"
    airtable = n[handles[("gate", "else")]]
    assert airtable.config.service == "airtable" and airtable.config.method == "POST"
    # both branches rejoin before the step that follows them
    email = next(x for x in n.values() if x.__struct_config__.tag == "tool" and x.config.tool == "email")
    assert {e.source for e in graph.edges if e.target == email.id} == {handles[("gate", "big")], airtable.id}
    assert email.config.arguments["to"] == "ops@acme.io"


def test_unknown_service_is_a_named_api_call_with_its_endpoint_as_a_required_input():
    graph = compile_plan(plan({"kind": "deliver", "id": "q", "service": "finance queue", "operation": "create"}))
    node = by_id(graph)["create_finance_queue"]
    assert node.config.service == "finance_queue" and node.config.url == "{{ inputs.finance_queue_url }}"
    field = next(f for f in graph.nodes[0].config.fields if f.name == "finance_queue_url")
    assert field.required


def test_loop_batches_and_conditions_on_the_item():
    graph = compile_plan(plan(
        {"kind": "source", "id": "rows", "service": "google_sheets"},
        {"kind": "loop", "id": "each", "over": "rows", "batch_size": 25, "steps": [
            {"kind": "branch", "id": "big", "on": "item", "field": "size",
             "cases": [{"label": "big", "when": {"subject": "item", "field": "size", "op": "gt", "value": 200},
                        "steps": [{"kind": "deliver", "id": "deal", "service": "hubspot", "operation": "create"}]}]}]}))
    loop = by_id(graph)["each"]
    assert loop.config.items == "{{ nodes.rows.output.body | batch(25) | list }}"
    cond = next(n for n in loop.config.body.nodes if n.__struct_config__.tag == "condition")
    assert cond.config.cases[0].when == "item.size > 200"
    assert validate_graph(graph).valid


def test_parallel_branches_start_together_and_join_in_the_next_step():
    graph = compile_plan(plan(
        {"kind": "parallel", "id": "p", "branches": [[{"kind": "source", "id": "a", "service": "stripe"}],
                                                      [{"kind": "source", "id": "b", "service": "hubspot"}]]},
        {"kind": "ai", "id": "report", "task": "summarize"}))
    into = {e.target: set() for e in graph.edges}
    for e in graph.edges:
        into[e.target].add(e.source)
    assert into["a"] == into["b"] == {"start"} and into["report"] == {"a", "b"}
    assert "nodes.a.output.body" in by_id(graph)["report"].config.prompt


def test_a_plan_that_references_a_missing_step_still_compiles_and_a_broken_one_is_a_500():
    graph = compile_plan(plan({"kind": "branch", "id": "x", "on": "nowhere", "field": "f",
                               "cases": [{"label": "y", "steps": [{"kind": "deliver", "id": "d", "service": "slack"}]}]}))
    assert validate_graph(graph).valid
    with pytest.raises(msgspec.ValidationError):
        plan_from_builtins({"trigger": {"kind": "manual"}, "steps": [{"kind": "teleport", "id": "x"}]})
    bad = plan({"kind": "ai", "id": "a", "task": "generate", "instruction": "{% for x in y %}"})
    assert validate_graph(compile_plan(bad)).valid  # request words are neutralised inside prompts
    assert build_graph(plan({"kind": "ai", "id": "ok", "task": "answer"})).nodes
    assert GenerationError.status_code == 500


def test_compile_plan_equals_replaying_the_edit_ops_on_every_eval_request():
    import json
    from pathlib import Path

    from pilot.generation.compiler import compile_by_ops
    from pilot.generation.offline_planner import OfflinePlanner

    rows = Path(__file__).resolve().parents[2] / "evals" / "data" / "structure_dev.jsonl"
    planner = OfflinePlanner()
    for line in rows.read_text(encoding="utf-8").splitlines():
        p = planner.plan(json.loads(line)["prompt"])
        assert compile_plan(p) == compile_by_ops(p), json.loads(line)["id"]


def test_v2_steps_compile_to_v2_nodes_and_a_wait_never_lands_in_a_loop_body():
    graph = compile_plan(plan(
        {"kind": "source", "id": "reviews", "service": "google_business"},
        {"kind": "transform", "id": "dedupe", "dedupe_by": "email"},
        {"kind": "loop", "id": "each", "over": "reviews", "steps": [
            {"kind": "ai", "id": "draft", "task": "generate"},
            {"kind": "wait", "id": "ok", "approval": "let me approve them", "approver": "editor"},
            {"kind": "deliver", "id": "post", "service": "google_business", "operation": "post"}]},
        {"kind": "wait", "id": "later", "duration_s": 172800},
        {"kind": "workflow", "id": "cleanup", "workflow": "Nightly cleanup"}))
    assert validate_graph(graph).valid
    types = {n.id: type(n).__struct_config__.tag for n in graph.nodes}
    assert types["dedupe"] == "transform" and types["later"] == "wait" and types["cleanup"] == "workflow"
    assert graph.nodes[[n.id for n in graph.nodes].index("dedupe")].config.group_by == "item.email"
    # loop → approval → loop over the first loop's results; the approval is top level
    assert types["ok"] == "wait" and by_id(graph)["ok"].config.approval.approvers == ["editor"]
    order = [n.id for n in graph.nodes]
    assert order.index("each") < order.index("ok") < order.index("each_after")
    assert by_id(graph)["each_after"].config.items == "{{ nodes.each.output }}"
    assert by_id(graph)["later"].config.duration_s == 172800
    assert by_id(graph)["cleanup"].config.workflow_id == "nightly_cleanup"


def test_an_agent_step_is_an_agent_node_and_generic_storage_a_data_table():
    graph = compile_plan(plan(
        {"kind": "ai", "id": "research", "task": "agent", "tools": ["web_search", "currency conversion api"]},
        {"kind": "deliver", "id": "keep", "service": "database", "operation": "upsert",
         "quote": "sync the answers to our database"}))
    n = by_id(graph)
    assert n["research"].__struct_config__.tag == "agent"
    assert n["research"].config.tools == ["tool:web_search", "tool:currency_conversion_api"]
    save = next(x for x in n.values() if x.__struct_config__.tag == "tool")
    assert save.config.tool == "table" and save.config.arguments["table"] == "answers"
    assert save.config.arguments["op"] == "upsert" and set(save.config.arguments["row"]) == {"key", "data"}
    assert validate_graph(graph).valid


def test_a_status_code_test_reads_the_requests_http_status_not_its_body():
    # the api node returns {status, headers, body}: "if the status code isn't 200" is about status
    graph = compile_plan(plan(
        {"kind": "source", "id": "ping", "from": "url", "url": "https://api.example.com/health"},
        {"kind": "branch", "id": "down", "on": "ping", "field": "status_code",
         "cases": [{"label": "down", "when": {"subject": "ping", "field": "status_code", "op": "ne", "value": 200},
                    "steps": [{"kind": "deliver", "id": "page", "service": "pagerduty", "operation": "create"}]},
                   ]},
        {"kind": "branch", "id": "slow", "on": "ping", "field": "latency_ms",
         "cases": [{"label": "slow", "when": {"subject": "ping", "field": "latency_ms", "op": "gt", "value": 500}}]}))
    conds = [n for n in iter_all_nodes(graph) if n.__struct_config__.tag == "condition"]
    assert [c.config.cases[0].when for c in conds] == ["nodes.ping.output.status != 200", "nodes.ping.output.body.latency_ms > 500"]
    assert validate_graph(graph).valid


def test_a_wait_inside_a_case_of_a_loop_body_splits_the_loop_instead_of_failing_the_generation():
    # "逐条看：低于3星的让AI写回复，等我审批通过后再发": the wait was left in the case, and the graph
    # failed validation (a wait pauses the whole run), so the request got no workflow at all
    graph = compile_plan(plan(
        {"kind": "source", "id": "reviews", "from": "service", "service": "trustpilot"},
        {"kind": "loop", "id": "each", "over": "reviews", "steps": [
            {"kind": "branch", "id": "low", "on": "reviews", "field": "stars",
             "cases": [{"label": "low", "when": {"subject": "reviews", "field": "stars", "op": "lt", "value": 3},
                        "steps": [{"kind": "ai", "id": "draft", "task": "generate"},
                                  {"kind": "wait", "id": "ok", "approval": "let me approve it"},
                                  {"kind": "deliver", "id": "post", "service": "slack"}]}]}]}))
    assert validate_graph(graph).valid
    top = [n.id for n in graph.nodes]
    assert "ok" in top and top.index("each") < top.index("ok")  # the approval runs once the drafts exist
    loops = [n for n in graph.nodes if n.__struct_config__.tag == "loop"]
    kinds = [[m.__struct_config__.tag for m in loop.config.body.nodes] for loop in loops]
    assert len(loops) == 2 and "llm" in kinds[0] and "tool" not in kinds[0]  # drafts first
    assert kinds[1] == ["tool"]  # and the post comes after the approval
