"""Shared pieces of the rule-based edit planner: notes, the rule context, cue words, step matching."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from msgspec import Struct

from pilot.chat import builders as b
from pilot.chat.edits import EditOp
from pilot.chat.phrases import INTEGRATIONS, find_integrations, has_any
from pilot.generation import entities as analyzer_entities
from pilot.generation.text import normalize as gen_normalize
from pilot.workflows.model import LlmNode, ToolNode, WorkflowGraph


class Note(Struct, frozen=True):
    """One sentence for the user, in both languages (the reply picks one)."""

    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Unable(Exception):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.note = Note(en, zh)


@dataclass(frozen=True)
class KnownWorkflow:
    """A workflow of the workspace a ``workflow`` step may run: its id, name and required inputs."""

    id: str
    name: str
    inputs: tuple[str, ...] = ()


@dataclass
class Ctx:
    raw: str
    t: str  # normalized
    graph: WorkflowGraph
    consumed: set[str] = field(default_factory=set)  # entity kinds a rule already used
    workflows: list[KnownWorkflow] = field(default_factory=list)  # the workspace's, when the caller knows them
    advice: list | None = None  # pilot.analytics.advice.Advice from the workflow's runs, for "make it cheaper"


Step = tuple[list[EditOp], Note]
REMOVE_CUES = ("remove", "delete", "drop", "get rid of", "skip the", "no need for", "don't need", "do not need",
               "without the", "take out", "stop sending", "stop posting", "stop emailing", "stop alerting",
               "stop notifying", "don't send", "don't alert", "don't notify", "don't post", "don't email", "no more",
               "no longer", "删除", "去掉",
               "删掉", "移除", "不要", "不需要", "取消", "拿掉", "去除")
INSTEAD_CUES = ("instead", "rather than", "switch to", "swap", "replace", "change to", "换成", "改成", "改为", "改用",
                "替换", "换到", "改发", "而不是")
ADD_CUES = ("also", "send", "post", "notify", "email me", "mail me", "add", "push", "forward", "deliver", "alert",
            "同时", "发送", "发到", "发给", "发邮件", "推送", "通知", "加", "添加", "再", "并")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "approval": ("approv", "human", "review", "sign-off", "manual", "审批", "审核", "人工", "确认"),
    "review": ("review", "proofread", "check", "审校", "校对", "审核", "检查", "复核"),
    "translate": ("translat", "翻译"),
    "summar": ("summar", "digest", "摘要", "总结", "汇总"),
    "classify": ("classif", "categor", "分类"),
    "draft": ("draft", "草稿", "起草"),
    "condition": ("condition", "branch", "if ", "判断", "条件", "分支"),
    "knowledge": ("knowledge", "retriev", "docs", "知识库", "检索"),
    "api": ("api", "http", "request", "请求", "接口"),
    "fetch": ("fetch", "scrape", "crawl", "抓取", "获取", "爬取"),
    "download": ("download", "下载"),
    "notify": ("notif", "alert", "通知", "提醒", "告警", "消息"),
    "loop": ("loop", "each", "循环", "逐"),
    # common step words, so a Chinese instruction finds an English-titled step (and vice versa)
    "social": ("social", "社交", "社媒"),
    "email": ("email", "mail", "邮件", "邮箱"),
    "outline": ("outline", "大纲", "提纲"),
    "edit": ("edit", "polish", "编辑", "润色"),
    "security": ("security", "安全"),
    "quality": ("quality", "readab", "质量", "可读性"),
    "correct": ("correct", "bug", "正确", "缺陷"),
    "score": ("score", "scoring", "打分", "评分"),
    "follow": ("follow", "跟进"),
    "crm": ("crm", "客户管理"),
    "report": ("report", "报告", "报表"),
    "profile": ("profile", "概况", "画像"),
    "compose": ("compose", "撰写", "编写"),
    "aggregate": ("aggregat", "汇总", "聚合"),
    "answer": ("answer", "reply", "回答", "答复", "回复"),
    "rewrite": ("rewrite", "rephrase", "改写"),
    "plan": ("plan", "规划", "计划"),
    "holding": ("holding", "安抚"),
    "website": ("website", "site", "网站", "官网"),
    "webhook": ("webhook", "回调"),
    "wait": ("wait", "delay", "pause", "等待", "延迟", "暂停"),
    "code": ("code", "python", "script", "代码", "脚本"),
    "dedupe": ("dedup", "duplicate", "去重", "重复"),
}


def phrase_after_cue(t: str, cues) -> str | None:
    best = None
    for cue in cues:
        i = t.find(cue)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, cue)
    if best is None:
        return None
    rest = re.split(r"[,.;!?，。；！？]| and | then |然后|并且", t[best[0] + len(best[1]):])[0].strip()
    if not rest:  # Chinese puts the object first: "把审校步骤去掉"
        before = re.split(r"[,.;!?，。；！？]|然后|并且", t[:best[0]])[-1].strip()
        rest = re.sub(r"^(请|帮我|把|将)+", "", before).strip()
    return rest


def score_node(node, phrase: str) -> int:
    text = f"{node.id.replace('_', ' ')} {node.title} {b.type_of(node)}".lower()
    if isinstance(node, ToolNode):
        text += f" {node.config.tool} {b.tool_integration(node) or ''} notify"
    score = 0
    for _, key in find_integrations(phrase):
        if b.tool_integration(node) == key:
            score += 5
    for words in SYNONYMS.values():
        if has_any(phrase, words) and has_any(text, words):
            score += 2
    head = (node.title or node.id).lower().split(" ")[0]
    for word in re.findall(r"[a-z]{3,}", phrase):
        if word in {"the", "step", "node", "and", "from", "this", "that", "workflow", "please", "stage"}:
            continue
        stem = word[:6]  # crude stemming: translation ~ translate, reviewer ~ review
        if stem in text:
            score += 1
            if node.id.lower().startswith(stem) or head.startswith(stem):
                score += 1  # what the step *is*, not just what it mentions
    return score


def clause(t: str, needle: str) -> str:
    """The clause of ``t`` that mentions ``needle`` (the whole text if none does)."""
    for part in re.split(r"[,;!?，。；！？]| and | then |然后|并且|同时", t):
        if needle in part:
            return part
    return t


def named_llms(c: Ctx, needle: str = "") -> list[LlmNode]:
    """LLM steps the message singles out ("for the summary step"), else all of them."""
    llms = b.llm_nodes(c.graph)
    m = re.search(r"(?:for|in|on) the ([\w\s-]+?) (?:step|node|stage)|(?:给|把)?([\u4e00-\u9fff]{2,6})(?:步骤|环节|节点)", clause(c.t, needle))
    if m:
        phrase = m.group(1) or m.group(2)
        picked = [n for n in llms if score_node(n, phrase) > 0]
        if picked:
            return picked
    return llms


def integrations(t: str) -> list[tuple[int, str]]:
    """Integrations named in ``t``: the planner's vocabulary, plus those only the prompt
    analyzer's entity extractor knows (appended, as it gives no position)."""
    found = find_integrations(t)
    known = {key for _, key in found}
    extra = [key for key in analyzer_entities.find_integrations(gen_normalize(t))[0] if key in INTEGRATIONS and key not in known]
    return found + [(len(t), key) for key in extra]

