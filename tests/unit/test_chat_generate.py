"""The chat's creation path: requests are built from their plan; only a vague request asks."""

from __future__ import annotations

import msgspec
import pytest

from pilot.chat.generate import analyze_offline, build, generate_offline, too_vague
from pilot.chat.ops import AddNode, SetSetting
from pilot.generation.compiler import compile_ops


@pytest.mark.parametrize("prompt", ["help me", "帮我弄一个", "help me with something"])
def test_a_vague_request_is_asked_about(prompt):
    assert too_vague(analyze_offline(prompt))


@pytest.mark.parametrize("prompt", [
    "write me a haiku",  # generic, but a template recognises it
    "summarize long documents",  # a specific AI task
    "every morning summarise Hacker News and post it to Slack",
    "创建一个客户支持聊天机器人",  # a chat trigger
    "每天早上8点抓取36氪的新闻，总结后发到飞书",
])
def test_a_clear_request_is_built(prompt):
    assert not too_vague(analyze_offline(prompt))


def test_the_build_is_the_compiled_plan_and_its_ops():
    blueprint = analyze_offline("every morning summarise Hacker News and post it to Slack")
    graph, ops = build(blueprint, "every morning summarise Hacker News and post it to Slack")
    assert msgspec.to_builtins(ops) == msgspec.to_builtins(compile_ops(blueprint.plan))
    assert [op.node["id"] for op in ops if isinstance(op, AddNode)] == [n.id for n in graph.nodes]
    assert any(isinstance(op, SetSetting) and op.value == graph.settings.schedule for op in ops)
    assert generate_offline("every morning summarise Hacker News and post it to Slack")[1] == graph


def test_a_picked_template_is_built_from_its_recipe_op_by_op():
    blueprint = msgspec.structs.replace(analyze_offline("help me"), template_id="translation", plan=None)
    graph, ops = build(blueprint, "help me")
    assert {"translate", "review"} <= {n.id for n in graph.nodes}
    assert [o.node["id"] for o in ops if hasattr(o, "node")] == [n.id for n in graph.nodes]  # streamed like any plan
