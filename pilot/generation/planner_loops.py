"""Loop helpers of the offline planner (pure): what a loop goes over (a read filtered to the
rows it wants, a table named in Chinese, a source fetched once before the loop rather than per
item), one fetch of an item's page, batching remarks ("25 products at a time", "按100人一批发"),
and "each one" that means one item per run. The loop itself is read by
:meth:`pilot.generation.planner_state._State.assemble`."""

from __future__ import annotations

import re

import msgspec

from pilot.generation.plan import Comparison, ParallelStep, SourceStep, Step
from pilot.generation.prefilter import compile_filtered


_PAGES = compile_filtered(r"\b(?:pages?|urls?|links?|sites?|websites?|homepages?|articles?)\b|页面|链接|网址|网页|文章")
_TABLE_NAMED = compile_filtered(r"(?:把|从|将|对)(?P<t>[\u4e00-\u9fffa-z0-9]{2,10}?表)格?(?:里|中|上)?的")
_READ_FILTER = compile_filtered(r"(?:读出|查出|拉出|找出|筛出|取出|获取|读取|拉取|导出|把)[^,，。；;]{0,16}?(?:所有|全部)[^,，。；;]{0,12}?(?:是|为|等于|大于|小于|超过)[^,，。；;]{1,12}的")
_FILTER_VALUE = compile_filtered(r"(?:所有|全部)(?P<c>[^,，。；;]{0,12}?(?:是|为|等于|大于|小于|超过)[^,，。；;]{1,12})的")
_THE_ONE = compile_filtered(r"\b(?:each|every) one\b|\beach of them\b"
                      r"|\b(?:classify|tag|label|score|grade|review|evaluate|assess|sort|categori[sz]e|route|triage|rate|summari[sz]e|translate)\s+(?:each|every)\s+[a-z]+\b"
                      r"|\b(?:store|save|log|record|add|send|forward|post|reply to|answer)\s+(?:each|every)\s+(?:new\s+)?"
                      r"(?:response|submission|entry|email|message|order|lead|ticket|review|comment|signup|application|request|question|conversation|chat)\b"
                      # "every claim then gets recorded in Xero": each submission, one per run
                      r"|^(?:and\s+)?(?:each|every)\s+(?:new\s+)?(?:claim|response|submission|entry|request|application|signup|lead|order|ticket)s?\s+"
                      r"(?:then\s+)?(?:gets?|is|are|goes?|should)\b"
                      r"|^(?:each|every)\s+(?:new\s+)?(?:claim|response|submission|entry|request|application|signup|lead|order|ticket)s?$")


def _filtered_read(step: Step, wanted: Comparison) -> Step:
    """A service read asked for only the rows that pass ``wanted`` (a query parameter of the read)."""
    if not isinstance(step, SourceStep) or step.from_ != "service":
        return step
    op = {"eq": "", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}.get(wanted.op, wanted.op)
    param = {wanted.field: str(wanted.value)} if not op else {"filter": f"{wanted.field} {op} {wanted.value}"}
    return msgspec.structs.replace(step, params={**step.params, **param})


def _one_page_fetch(steps: list[Step]) -> list[Step]:
    """"For each URL in this list, fetch the page": the loop's head and its first step name one
    fetch of the item's page (side by side or in a row), not two."""

    def page(s: Step) -> bool:
        return isinstance(s, SourceStep) and s.from_ == "url" and s.url == "{{ inputs.url }}"

    if steps and isinstance(steps[0], ParallelStep) and all(len(b) == 1 and page(b[0]) for b in steps[0].branches):
        return [steps[0].branches[0][0], *steps[1:]]
    if len(steps) > 1 and page(steps[0]) and page(steps[1]):
        return [steps[0], *steps[2:]]
    return steps


def _iterable_source(clause: str, step: Step, loop_text: str = "") -> bool:
    """Whether a source found in a loop's clauses is what the loop goes over (fetched once,
    before it) rather than a per-item fetch: "for each URL, fetch the page", "for each lead,
    search the web", "对每个关键词去知乎搜" stay inside."""
    if isinstance(step, SourceStep) and (step.from_ in ("url", "web_search") or step.service in (None, "web_search")) and re.search(
            r"\b(?:urls?|links?|pages?|domains?|websites?|sites?|leads?|guests?|companies|company|keywords?|terms?|names?)\b|链接|网址|页面|官网|关键词|网页",
            loop_text or clause):
        return False
    if isinstance(step, ParallelStep):  # sources read side by side: iterated only if each of them is
        return all(_iterable_source(clause, x, loop_text) for branch in step.branches for x in branch)
    if not isinstance(step, SourceStep) or not step.service:
        return True
    if loop_text and re.search(r"(?:每个|每一个|对每)\S{0,6}(?:关键词|词|公司|客户|链接)|\bfor each (?:keyword|term|company|lead|domain|url|link)\b", loop_text):
        return False  # "对每个关键词去知乎搜": a search per item
    # "look each one up on Clearbit", "逐个去企查查查一下注册资本": a lookup per item
    return not re.search(r"\b(?:look (?:each|every|it|them)(?: one)? up|enrich|each one up)\b|(?:逐个|挨个|一个个|逐条|逐一)(?:去|到|在)\S{1,8}?(?:查|搜|看)", clause)


def _batching_remark(clause: str) -> bool:
    return bool(re.fullmatch(r"(?:(?:do|run|process|handle) (?:it|this|that|them|these|all)\s*)?(?:in batches of \d+|\d+\s+(?:\w+\s+)?at a time)"
                             r"(?:\s*(?:so|to|because).*)?|(?:每\s*\d+\s*(?:条|个|行)?\s*一批|分批)(?:处理|执行|跑)?", clause.strip(" ,.-—"))
                or re.search(r"(?:^|,)\s*(?:按|每)\s*\d+\s*(?:人|条|个|行|份|封)?\s*一批(?:发|发送|处理|执行|跑)?$", clause.strip(" ,.。")))
