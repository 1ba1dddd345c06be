"""A threshold asked as a yes/no question ("看看是不是超过48小时还没发货，超时的就…") is a comparison on
each item, not a read of a service named "是不是超过48小时还没发货" and a category "超"."""

from __future__ import annotations

import pytest

from pilot.generation.pipeline import plan_offline
from pilot.generation.plan import BranchStep, DeliverStep, LoopStep, SourceStep, walk


@pytest.mark.parametrize(("prompt", "op", "value", "service"), [
    ("每小时从WMS接口拉一次待发货订单，逐个看看是不是超过48小时还没发货，超时的就推送到仓库主管的企业微信。", "gt", 48, "wecom"),
    ("每天把有赞的订单拉下来，逐条检查金额是否超过5000元，超过的就发到财务的钉钉群。", "gt", 5000, "dingtalk"),
    ("看看库存是不是低于10件，低于的话就在钉钉群里提醒采购。", "lt", 10, "dingtalk"),
])
def test_a_threshold_asked_as_a_question_is_compared(prompt: str, op: str, value: int, service: str) -> None:
    plan = plan_offline(prompt)
    steps = list(walk(plan.steps))
    branches = [s for s in steps if isinstance(s, BranchStep)]
    assert len(branches) == 1 and len(branches[0].cases) == 1 and branches[0].otherwise is None
    when = branches[0].cases[0].when
    assert when is not None and (when.op, when.value) == (op, value)
    assert [d.service for d in walk(branches[0].cases[0].steps) if isinstance(d, DeliverStep)] == [service]
    # the question is not a read, and no AI step guesses a category
    assert all(s.service is None or "是不是" not in s.service and "是否" not in s.service for s in steps if isinstance(s, SourceStep))
    assert len([s for s in steps if isinstance(s, SourceStep)]) <= 1
    if "逐" in prompt:
        loop = next(s for s in plan.steps if isinstance(s, LoopStep))
        assert branches[0] in loop.steps


@pytest.mark.parametrize(("prompt", "field", "value", "services"), [
    ("When a bug with severity 1 is created in Jira, notify the dev lead on Slack right away.", "payload.severity", 1, ["slack"]),
    ("When a ticket with priority urgent is created in Zendesk, page the on-call engineer via PagerDuty and post it to #support.",
     "payload.priority", "urgent", ["pagerduty", "slack"]),
    ("Jira里新建了优先级为最高的bug时，发钉钉通知开发负责人。", "payload.priority", "最高", ["dingtalk"]),
])
def test_an_event_for_records_with_a_field_value_runs_only_for_them(prompt: str, field: str, value: object,
                                                                    services: list[str]) -> None:
    plan = plan_offline(prompt)
    assert len(plan.steps) == 1 and isinstance(plan.steps[0], BranchStep), plan.steps  # every step is on the branch
    branch = plan.steps[0]
    when = branch.cases[0].when
    assert when is not None and (when.subject, when.field, when.op, when.value) == ("inputs", field, "eq", value)
    assert [d.service for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)] == services
    assert branch.otherwise is None  # the other records: nothing

