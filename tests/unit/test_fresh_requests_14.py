"""Fresh requests read as a user would (fourteenth session): a bot's cases said as what the user
asks about ("用户问物流的，…；问退换货的，…；其他问题…") are a classification and its branches; a record
made in an app the lexicon does not know ("在旺店通里创建一个售后单") is a write to that app under its
own name; "连同AI建议的回复一起存到…" keeps a loop's cases together, and "小红书笔记下面的评论" is read
from Xiaohongshu (笔记 there is what is read, and 笔记下 is not 记下, "note down")."""

from __future__ import annotations

from pilot.generation.offline_result import generate_offline
from pilot.generation.pipeline import plan_offline
from pilot.generation.plan import BranchStep, DeliverStep, LoopStep, SourceStep, walk
from pilot.templates.catalog import catalog_for
from pilot.workflows.model import ApiNode, ConditionNode, LoopNode


def _graph(prompt: str):
    return generate_offline(catalog_for(None), prompt, None).graph


def _branches(prompt: str) -> list[BranchStep]:
    return [s for s in walk(plan_offline(prompt).steps) if isinstance(s, BranchStep)]


def test_a_bots_cases_said_as_what_the_user_asks_about() -> None:
    prompt = ("做个电商客服机器人：用户问物流的，去快递100查一下物流信息再回复；问退换货的，在旺店通里创建一个售后单；"
              "其他问题就用商品知识库来回答")
    plan = plan_offline(prompt)
    assert type(plan.trigger).__name__ == "ChatTrigger"
    [branch] = _branches(prompt)
    assert [c.label for c in branch.cases] == ["物流", "退换货"]
    first, second = branch.cases
    assert any(isinstance(s, SourceStep) and s.service == "kuaidi100" for s in walk(first.steps))
    assert [s.service for s in walk(second.steps) if isinstance(s, DeliverStep)] == ["旺店通"]
    assert branch.otherwise  # 其他问题: answered from the knowledge base
    graph = _graph(prompt)
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert len(cond.config.cases) == 2


def test_a_case_after_a_named_intent_classification() -> None:
    [branch] = _branches("做一个售前聊天机器人，先判断客户意图：问价格的，把报价单链接发给他并在HubSpot里记录这个客户；"
                         "想预约演示的，在飞书日历上建一个会议；其他问题用产品文档知识库来回答")
    assert [c.label for c in branch.cases] == ["价格", "预约演示"]
    assert [s.service for s in walk(branch.cases[1].steps) if isinstance(s, DeliverStep)] == ["feishu_calendar"]


def test_asking_about_something_when_is_not_a_case() -> None:
    # "客户问房源的时候": when the customer asks, not the case of a classification
    assert not any(c.label == "房源" for b in _branches(
        "帮我做个房产咨询聊天机器人：客户问房源的时候，从我们的房源知识库里找合适的房子推荐给他；"
        "如果客户留了手机号，就把手机号和购房需求记到 HubSpot 里。") for c in b.cases)


def test_a_record_in_an_unknown_app_is_written_there_under_its_name() -> None:
    graph = _graph("表单提交后，在旺店通里创建一个售后单")
    [api] = [n for n in graph.nodes if isinstance(n, ApiNode)]
    assert api.config.method == "POST" and api.config.service == "旺店通"


def test_the_loops_cases_stay_in_the_loop_with_what_is_read_first() -> None:
    prompt = ("每天下午6点拉一下我们小红书笔记下面的新评论，逐条让AI分成好评、差评、咨询三类：差评的发到飞书运营群提醒处理，"
              "咨询的连同AI建议的回复一起存到飞书多维表格等人工回复，好评不用处理")
    plan = plan_offline(prompt)
    assert isinstance(plan.steps[0], SourceStep) and plan.steps[0].service == "xiaohongshu"
    [loop] = [s for s in plan.steps if isinstance(s, LoopStep)]
    assert loop.over == plan.steps[0].id
    [branch] = [s for s in loop.steps if isinstance(s, BranchStep)]  # one switch, inside the loop
    assert {c.label for c in branch.cases} >= {"差评", "咨询"}
    assert not any(isinstance(s, BranchStep) for s in plan.steps)
    graph = _graph(prompt)  # valid: the switch reads the classification upstream of it
    assert any(isinstance(n, LoopNode) for n in graph.nodes)
