"""The structure-eval scorer (evals/structure.py) on hand-built graphs: it accepts the graph a
request describes and rejects each specific way of getting it wrong."""

from __future__ import annotations

import json

import msgspec
import pytest

from evals.structure import Case, Expect, lint, lint_file, load_cases, score_cases, score_graph
from evals.structure_graph import comparisons
from pilot.workflows.model import graph_from_builtins


def node(nid: str, ntype: str, **config) -> dict:
    return {"id": nid, "type": ntype, "config": config}


def inp(trigger: dict | None = None) -> dict:
    return node("start", "input", fields=[{"name": "text"}], **({"trigger": trigger} if trigger else {}))


def llm(nid: str, schema: dict | None = None) -> dict:
    return node(nid, "llm", prompt="{{ inputs.text }}", **({"output_schema": schema} if schema else {}))


def tool(nid: str, name: str = "slack", **arguments) -> dict:
    return node(nid, "tool", tool=name, arguments={"text": "hi", **arguments})


def out(ref: str = "start") -> dict:
    return node("done", "output", outputs={"result": f"{{{{ nodes.{ref}.output }}}}"})


def chain(*pairs: str, handles: dict[str, str] | None = None) -> list[dict]:
    """Edges ``a>b`` with optional source handles keyed by the same ``a>b`` string."""
    handles = handles or {}
    return [{"id": f"e{i}", "source": p.split(">")[0], "target": p.split(">")[1], "source_handle": handles.get(p)}
            for i, p in enumerate(pairs)]


def graph(nodes: list[dict], edges: list[dict]):
    return graph_from_builtins({"nodes": nodes, "edges": edges})


def expect(**data) -> Expect:
    return msgspec.convert({"trigger": "manual", **data}, Expect)


def failed(verdict) -> set[str]:
    return {c.kind for c in verdict.checks if not c.ok}


CATEGORY = {"type": "object", "properties": {"category": {"type": "string", "enum": ["billing", "bug"]}}}


def routed(finance_on: str) -> object:
    """webhook → classify → switch(billing | bug | else); ``finance_on`` = where the finance
    post hangs: ``billing`` (its own branch) or ``merge`` (on billing, but also after bug and else)."""
    nodes = [
        inp({"kind": "webhook"}),
        llm("cls", CATEGORY),
        node("route", "condition", cases=[{"id": "billing", "when": "nodes.cls.output.category == 'billing'"},
                                          {"id": "bug", "when": "nodes.cls.output.category == 'bug'"}]),
        tool("finance", "email"),
        tool("jira", "webhook", service="jira"),
        tool("inbox", "email"),
        out(),
    ]
    pairs = ["start>cls", "cls>route", "route>finance", "route>jira", "route>inbox", "finance>done", "jira>done", "inbox>done"]
    handles = {"route>finance": "billing", "route>jira": "bug", "route>inbox": "else"}
    if finance_on == "merge":  # finance is reachable from every branch, not only billing
        pairs = [p for p in pairs if p not in ("jira>done", "inbox>done")] + ["jira>finance", "inbox>finance"]
    return graph(nodes, chain(*pairs, handles=handles))


ROUTE_EXPECT = {
    "trigger": "webhook",
    "steps": [{"as": "cls", "kind": "ai", "task": "classify"},
              {"as": "finance", "kind": "deliver", "branch": "billing"},
              {"as": "jira", "kind": "deliver", "service": "jira", "branch": "bug"},
              {"as": "inbox", "kind": "deliver", "branch": "else"}],
    "paths": [["cls", "jira"], ["cls", "inbox"]],
    "forbid": ["knowledge"],
}


def test_spec_example_is_accepted():
    verdict = score_graph(expect(**ROUTE_EXPECT), routed("billing"))
    assert verdict.accepted, verdict.failed()
    assert verdict.assignment == {"cls": "cls", "finance": "finance", "jira": "jira", "inbox": "inbox"}


def test_wrong_trigger_is_rejected():
    verdict = score_graph(expect(**{**ROUTE_EXPECT, "trigger": "form"}), routed("billing"))
    assert not verdict.accepted and failed(verdict) == {"trigger"}


def test_delivery_reachable_from_every_branch_is_not_on_its_branch():
    verdict = score_graph(expect(**ROUTE_EXPECT), routed("merge"))
    assert not verdict.accepted
    assert [c.name for c in verdict.failed()] == ["finance on 'billing'"]


def test_branch_label_matches_a_literal_of_the_case_and_then_is_the_first_case():
    g = graph([inp(), llm("cls", CATEGORY),
               node("route", "condition", cases=[{"id": "c1", "when": "nodes.cls.output.category == 'Billing'"}]),
               tool("a"), tool("b"), out()],
              chain("start>cls", "cls>route", "route>a", "route>b", "a>done", "b>done", handles={"route>a": "c1", "route>b": "else"}))
    steps = [{"kind": "deliver", "branch": "billing"}, {"kind": "deliver", "branch": "else"}]
    assert score_graph(expect(steps=steps), g).accepted
    assert score_graph(expect(steps=[steps[0] | {"branch": "then"}, steps[1]]), g).accepted
    assert not score_graph(expect(steps=[steps[0] | {"branch": "refund"}, steps[1]]), g).accepted


def test_missing_service_is_rejected():
    g = graph([inp(), llm("summary"), tool("post", "webhook", service="discord"), out()],
              chain("start>summary", "summary>post", "post>done"))
    want = {"steps": [{"kind": "ai"}, {"kind": "deliver", "service": "slack"}]}
    verdict = score_graph(expect(**want), g)
    assert not verdict.accepted and failed(verdict) == {"steps"}
    assert score_graph(expect(steps=[{"kind": "ai"}, {"kind": "deliver", "service": "Discord"}]), g).accepted


def test_service_aliases_match_the_service_id():
    g = graph([inp(), tool("save", "webhook", service="google_sheets"), out()], chain("start>save", "save>done"))
    for name in ("google_sheets", "Google Sheets", "google-sheets", "谷歌表格"):
        assert score_graph(expect(steps=[{"kind": "deliver", "service": name}]), g).accepted, name


def test_extra_unrequested_tool_node_is_rejected():
    g = graph([inp(), llm("summary"), tool("post"), tool("mail", "email"), out()],
              chain("start>summary", "summary>post", "summary>mail", "post>done", "mail>done"))
    verdict = score_graph(expect(steps=[{"kind": "ai"}, {"kind": "deliver", "service": "slack"}]), g)
    assert not verdict.accepted and failed(verdict) == {"side_effects"}
    assert "mail" in next(c.reason for c in verdict.checks if c.kind == "side_effects")
    both = [{"kind": "ai"}, {"kind": "deliver", "service": "slack"}, {"kind": "deliver", "service": "email"}]
    assert score_graph(expect(steps=both), g).accepted


def test_post_api_is_a_side_effect_and_get_api_is_a_source():
    g = graph([inp(), node("fetch", "api", url="https://x.test/a"), node("save", "api", url="https://x.test/b", method="POST"), out()],
              chain("start>fetch", "fetch>save", "save>done"))
    assert failed(score_graph(expect(steps=[{"kind": "source"}]), g)) == {"side_effects"}
    assert score_graph(expect(steps=[{"kind": "source"}, {"kind": "deliver"}]), g).accepted


def scored(when: str) -> object:
    schema = {"type": "object", "properties": {"score": {"type": "number"}}}
    return graph([inp(), llm("x", schema), node("gate", "condition", cases=[{"id": "high", "when": when}]), tool("post"), out()],
                 chain("start>x", "x>gate", "gate>post", "post>done", "gate>done", handles={"gate>post": "high", "gate>done": "else"}))


@pytest.mark.parametrize(("when", "ok"), [
    ("'7' in nodes.x.output", False),
    ("nodes.x.output.score > 7", True),
    ("nodes.x.output.score > 7.0", True),
    ("(nodes.x.output.score | float) > 7", True),
    ("7 < nodes.x.output.score", True),
    ("nodes.x.output.score >= 7", False),
    ("nodes.x.output.score > 70", False),
])
def test_compare_needs_a_real_comparison(when, ok):
    want = expect(steps=[{"kind": "ai", "task": "score"}, {"kind": "condition"}, {"kind": "deliver", "branch": "high"}],
                  compare=[{"op": ">", "value": 7}])
    verdict = score_graph(want, scored(when))
    assert verdict.accepted is ok
    assert failed(verdict) == (set() if ok else {"compare"})


def test_string_comparisons_and_substring_tests():
    assert comparisons("nodes.x.output.status == '已付款'") == [("==", "已付款")]
    assert comparisons("'paid' in nodes.x.output.status") == []
    assert comparisons("nodes.a.output != \"x\" and nodes.b.output.n <= -2") == [("!=", "x"), ("<=", -2.0)]


def fan(chained: bool) -> object:
    nodes = [inp(), llm("a"), llm("b"), llm("c"), out()]
    if chained:
        return graph(nodes, chain("start>a", "a>b", "b>c", "c>done"))
    return graph(nodes, chain("start>a", "start>b", "start>c", "a>done", "b>done", "c>done"))


def test_parallel_fails_when_the_nodes_are_chained():
    want = expect(steps=[{"as": n, "kind": "ai"} for n in "abc"], parallel=[["a", "b", "c"]])
    assert score_graph(want, fan(chained=False)).accepted
    verdict = score_graph(want, fan(chained=True))
    assert not verdict.accepted and failed(verdict) == {"parallel"}


def looped(body_in_loop: bool) -> object:
    body = {"nodes": [llm("summary")], "edges": []}
    each = node("each", "loop", items="{{ inputs.text | batch(10) | list }}", body=body if body_in_loop else {"nodes": [node("fetch", "api", url="https://x.test/{{ item }}")]})
    nodes = [inp(), each, out()] if body_in_loop else [inp(), each, llm("summary"), out()]
    pairs = ["start>each", "each>done"] if body_in_loop else ["start>each", "each>summary", "summary>done"]
    return graph(nodes, chain(*pairs))


def test_node_in_a_loop_body_satisfies_in_loop():
    want = expect(steps=[{"as": "loop", "kind": "loop", "batch": 10}, {"as": "s", "kind": "ai", "in_loop": True}],
                  paths=[["loop", "s"]])
    verdict = score_graph(want, looped(body_in_loop=True))
    assert verdict.accepted, verdict.failed()
    assert verdict.assignment["s"] == "summary"
    assert failed(score_graph(want, looped(body_in_loop=False))) == {"steps"}


def test_loop_batch_size_is_checked():
    want = expect(steps=[{"kind": "loop", "batch": 20}])
    assert failed(score_graph(want, looped(body_in_loop=True))) == {"steps"}


def test_reachability_treats_a_body_node_as_its_loop():
    body = {"nodes": [tool("post")], "edges": []}
    g = graph([inp(), llm("prep"), node("each", "loop", items="{{ nodes.prep.output }}", body=body), llm("after"), out()],
              chain("start>prep", "prep>each", "each>after", "after>done"))
    steps = [{"as": "p", "kind": "ai"}, {"as": "d", "kind": "deliver", "in_loop": True}, {"as": "z", "kind": "ai"}]
    assert score_graph(expect(steps=steps, paths=[["p", "d"], ["d", "z"]]), g).accepted
    assert failed(score_graph(expect(steps=steps, parallel=[["p", "d"]]), g)) == {"parallel"}


@pytest.mark.parametrize(("schema", "ok"), [
    (CATEGORY, True),
    ({"type": "object", "properties": {"category": {"type": "string"}}}, False),
    ({"type": "object", "properties": {"category": {"type": "string", "enum": ["only"]}}}, False),
    (None, False),
])
def test_classify_needs_an_enum_of_two_or_more(schema, ok):
    g = graph([inp(), llm("cls", schema), out()], chain("start>cls", "cls>done"))
    assert score_graph(expect(steps=[{"kind": "ai", "task": "classify"}]), g).accepted is ok
    assert score_graph(expect(steps=[{"kind": "ai", "task": "summarize"}]), g).accepted


def test_forbid_and_cron_and_trigger_service():
    g = graph([inp({"kind": "schedule", "cron": "0 17 * * 5"}), node("kb", "knowledge", knowledge_base="docs", query="q"), out()],
              chain("start>kb", "kb>done"))
    assert score_graph(expect(trigger="schedule", cron="0 17 * * 5", steps=[{"kind": "source", "service": "knowledge"}]), g).accepted
    assert failed(score_graph(expect(trigger="schedule", cron="0 9 * * *", steps=[]), g)) == {"trigger"}
    assert failed(score_graph(expect(trigger="schedule", steps=[], forbid=["knowledge"]), g)) == {"forbid"}
    app = graph([inp({"kind": "app_event", "service": "google_sheets", "event": "new_row"}), out()], chain("start>done"))
    assert score_graph(expect(trigger="app_event", trigger_service="Google Sheets", steps=[]), app).accepted
    assert not score_graph(expect(trigger="app_event", trigger_service="airtable", steps=[]), app).accepted


def test_invalid_graph_is_rejected():
    g = graph([inp(), llm("a")], chain("start>a"))  # no output node
    assert failed(score_graph(expect(steps=[{"kind": "ai"}]), g)) == {"valid"}


CASE = {"id": "en-001", "lang": "en", "tags": ["trigger-manual", "simple"], "prompt": "summarise this text",
        "expect": {"trigger": "manual", "steps": [{"as": "s", "kind": "ai", "task": "summarize"}]}}


def test_load_cases_is_strict_about_keys(tmp_path):
    path = tmp_path / "cases.jsonl"
    bad = {**CASE, "expect": {**CASE["expect"], "steps": [{"kind": "ai", "colour": "red"}]}}
    path.write_text(json.dumps(CASE) + "\n" + json.dumps(bad | {"id": "en-002"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en-002.*colour"):
        load_cases(path)
    assert any("en-002" in p and "colour" in p for p in lint_file(path))


def test_lint_finds_malformed_cases(tmp_path):
    path = tmp_path / "cases.jsonl"
    wrong = {"id": "en-001", "lang": "fr", "tags": ["webhook"], "prompt": "x",
             "expect": {"trigger": "cron", "steps": [{"as": "a", "kind": "ai", "task": "dance"}, {"kind": "sing"}],
                        "paths": [["a", "b"]], "parallel": [["a"]], "compare": [{"op": "=~", "value": 1}], "forbid": ["ai"]}}
    path.write_text(json.dumps(CASE) + "\n" + json.dumps(wrong) + "\n", encoding="utf-8")
    problems = lint(load_cases(path))
    text = "\n".join(problems)
    for needle in ("duplicate", "lang 'fr'", "'trigger-webhook'", "trigger 'cron'", "task 'dance'", "kind 'sing'",
                   "'b' is not", "parallel ['a']", "op '=~'", "forbid: 'ai'"):
        assert needle in text, needle
    assert lint(load_cases(path)[:1]) == []


def test_score_cases_reports_rates_and_build_failures():
    good = graph([inp(), llm("s"), out("s")], chain("start>s", "s>done"))
    cases = [msgspec.convert(CASE | {"id": i, "lang": lang}, Case) for i, lang in (("en-1", "en"), ("zh-1", "zh"))]

    def build(prompt_: str):
        if build.calls:
            raise RuntimeError("boom")
        build.calls += 1
        return good

    build.calls = 0
    report = score_cases(cases, build)
    assert (report.accepted["all"].n, report.accepted["all"].passed) == (2, 1)
    assert report.accepted["en"].rate == 1.0 and report.accepted["zh"].rate == 0.0
    assert report.accepted["tag:simple"].n == 2
    assert report.by_check["steps"].passed == 1 and report.valid.rate == 0.5
    assert "boom" in report.cases[1].error
    assert report.p95_ms >= report.p50_ms >= 0
