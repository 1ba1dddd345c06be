"""The non-AI work of one clause's actions (offline planner, pure): a transform step that
reshapes data without an LLM (dedupe, group and total, keep only some fields) and the patterns of
a sub-workflow run ("run our onboarding workflow", "调用「报销审批」工作流")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pilot.generation.plan import TransformStep
from pilot.generation.prefilter import compile_filtered

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


_TRANSFORM = compile_filtered(
    r"\b(?:reshape|remap|re-?format|format(?:s|ted)? (?:the|it|them|each|all|dates?|phone|numbers?)|normali[sz]e|rename|convert(?:s)? (?:the|it|them|each|all|its|their|\w+ fields?)"
    r"|map (?:its |the |their )?fields|dedupe|de-?duplicate|remove (?:the )?duplicates|drop (?:the )?(?:empty|duplicate|blank)|"
    r"group (?:them |it |the \w+ |everything )?by|compute (?:the )?(?:total|sum|average|count)|total \w+ per|total (?:them |it |up )?by|sum (?:up )?(?:the )?\w+ (?:per|by)|"
    r"only keep|keep only|flatten|camel ?case)\b"
    r"|格式化|格式转换|转换一下|转换成|转成|统一成|统一格式|换算成|去重|去掉重复|删除重复|字段名|改成驼峰|只保留|按.{1,8}?(?:分组|汇总|统计)|求和|合计|汇总每|统计每")
_GROUP_BY = compile_filtered(r"\b(?:group|total|sum) (?:them |it |the \w+ |everything |up )?by (?:the )?(?P<f>[a-z_]+)|\bper (?P<f2>[a-z_]+)\b|按(?P<f3>[\u4e00-\u9fffa-z_]{1,8}?)(?:分组|汇总|统计)|每个?(?P<f4>[\u4e00-\u9fff]{1,4})的")
_DEDUPE_BY = compile_filtered(r"\b(?:dedupe|de-?duplicate|remove (?:the )?duplicates)(?: \w+)?(?: by| on| using)? (?:the |their |its )?(?P<f>[a-z_ ]{2,20}?)(?:\s+address)?(?=[,.;]|\band\b|$)")
_KEEP = compile_filtered(r"(?:只保留|keep only|only keep)\s*(?:the )?(?P<list>[\w\u4e00-\u9fff ,、和]+)|\{(?P<list2>[\w ,]+)\}")
# "找出迟到超过3次的员工", "把逾期超过30天的客户挑出来", a bare "逾期超过30天的客户，" after a read: those rows
ZH_PICK = compile_filtered(r"(?:找出|挑出|筛出|筛选出|选出|把(?=[^,，。；;]{2,24}?(?:挑|找|筛|拎|选)出来)|^(?=[\u4e00-\u9fff]{1,6}?(?:超过|大于|多于|高于|少于|低于|不足)\s*\d+\s*(?:次|天|个|单|元|分)?的[\u4e00-\u9fff]{1,4}$))(?:本月|本周|今天|昨天|上周|上个?月|今年|当天|当月)?(?P<f>[\u4e00-\u9fff]{1,6}?)(?P<op>超过|大于|多于|高于|少于|低于|不足)\s*(?P<n>\d+)\s*(?P<u>次|天|个|单|元|分)?的")
_DAYS_OVER = compile_filtered(r"\b(?:anything|everything|all|those|the ones|any|ones|invoices|bills)\s+(?:that(?:'s| is| are)\s+)?(?P<op>more than|over|at least|older than)\s+"
                              r"(?P<n>\d+)\s+days?\s+(?:overdue|late|past due)\b")
# "find the ones that are still unpaid", "keep only those which are overdue": a filter on a state
THE_ONES = compile_filtered(r"^(?:and\s+|then\s+)*(?:find|pick|keep|filter|select|get|take|grab)\s+(?:out\s+)?(?:only\s+)?(?:the ones|those|the \w+)\s+"
                            r"(?:that|which|who)\s+(?:are|is|were|was)\s+(?:still\s+|already\s+)?(?P<state>(?:not\s+)?[a-z][\w-]*)\s*$")
_SUBFLOW = compile_filtered(r"(?<![\w-])(?:run|trigger|call|start|kick off)s? (?:our |the |my )?(?P<name>(?!(?:the|a|that|this)\b)[\w' -]{2,30}?) (?:workflow|flow|sub-?workflow)\b"
                      r"|(?:运行|调用|执行|触发)(?:一下)?(?:我们的|已有的)?[「“\"]?(?P<name2>[\u4e00-\u9fffa-z0-9_ -]{1,16}?)[」”\"]?(?:工作流|子流程|流程)")
_NO_SUBFLOW = compile_filtered(r"\b(?:this|a|new|ci|github)\s+(?:workflow|flow)|^(?:运行|执行)(?:这个|本)")


def _kept(state: _State, test: str, quote: str) -> TransformStep:
    """A filter transform keeping the items for which the jinja2 ``test`` holds."""
    return TransformStep(id=state.uid("filter"), mode="filter", where="{{ " + test + " }}", quote=quote)


def _transform_step(clause: str, state: _State, quote: str) -> TransformStep | None:
    """"remove duplicates by email", "group them by team", "只保留订单号、金额", "compute total
    sales per region": reshaping without an LLM."""
    pick = ZH_PICK.search(clause) if state.last_source is not None else None
    if pick:  # "找出迟到超过3次的员工": those rows of what was read
        op = {"超过": ">", "大于": ">", "多于": ">", "高于": ">", "少于": "<", "低于": "<", "不足": "<"}[pick.group("op")]
        field = pick.group("f") + ("次数" if pick.group("u") == "次" else "天数" if pick.group("u") == "天" else "")
        return _kept(state, f"item['{field}'] {op} {pick.group('n')}", quote)
    late = _DAYS_OVER.search(clause) if state.last_source is not None else None
    if late:  # "email me a list of anything more than 30 days overdue": those items of what was read
        op = ">=" if late.group("op") == "at least" else ">"
        return _kept(state, f"item.days_overdue {op} {late.group('n')}", quote)
    picked = THE_ONES.search(clause) if state.last_source is not None or state.trigger_kind != "manual" else None
    if picked:  # "find the ones that are still unpaid": those items of what was read, no LLM
        return _kept(state, f"item.status == '{picked.group('state')}'", quote)
    if not _TRANSFORM.search(clause):
        return None
    dedupe = _DEDUPE_BY.search(clause)
    if dedupe:
        return TransformStep(id=state.uid("dedupe"), dedupe_by=re.sub(r"\W+", "_", dedupe.group("f").strip()) or "id", quote=quote)
    group = _GROUP_BY.search(clause)
    if group and re.search(r"group|per|分组|每|total|sum|汇总|统计|合计|求和", clause):
        field = re.sub(r"\W+", "_", next(g for g in group.groups() if g).strip())
        total = re.search(r"\b(?:total|sum of|sum)\s+(?:the\s+)?(?!(?:them|it|up|by)\b)(?P<f>[a-z_]+)|\btotal\b|(?:求和|合计|汇总)(?P<f2>[\u4e00-\u9fff]{1,6})?", clause)
        aggs = {"total": "sum:" + (total.group("f") or "amount")} if total and total.group("f") else (
            {"total": "sum:amount"} if total else {"items": "list"})
        return TransformStep(id=state.uid("group"), mode="aggregate", group_by=field, aggregates={**aggs, "count": "count"}, quote=quote)
    keep = _KEEP.search(clause)
    if keep:
        names = [n.strip() for n in re.split(r"[,、和]|\band\b", keep.group("list") or keep.group("list2")) if n.strip()]
        fields = {re.sub(r"\W+", "_", n): re.sub(r"\W+", "_", n) for n in names[:12]}
        return TransformStep(id=state.uid("reshape"), fields=fields, quote=quote)
    return TransformStep(id=state.uid("transform"), quote=quote)
