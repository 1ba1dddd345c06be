"""The request's own condition: what it tests for, the sandboxed expression that tests it, and
whether it gates a delivery ("if a story mentions AI, post to Slack" / "如果有AI相关的就发到飞书群").

A condition term comes from :func:`pilot.generation.features.condition_terms` as the raw clause
("any story mentions ai", "有ai相关的"); :func:`keyword` reduces it to the subject ("ai"), and
:func:`match_expression` tests the delivered text for it, case-insensitively.
"""

from __future__ import annotations

import re

from pilot.generation.entities import ascii_re
from pilot.generation.features import _NOTIFY_STEP_RE, CONDITION_RE, NOTIFY_RE

_CJK = re.compile(r"[\u4e00-\u9fff]")
# "mentions AI", "is about machine learning", "contains refund": the subject follows the verb.
_SUBJECT_AFTER = ascii_re(
    r"\b(?:mentions?|mentioning|mentioned|contains?|containing|includes?|including|is about|are about|talks? about|"
    r"relates? to|related to|covers?|references?|about|matches|says?)\s+(.+)$"
)
_EN_STOP = {"is", "are", "the", "a", "an", "it", "its", "was", "any", "some", "anything", "something", "there", "this",
            "that", "these", "those", "of", "them", "they", "story", "stories", "article", "articles", "post", "posts"}
# Chinese fillers around the subject: "有AI相关的" → "AI", "涉及数据库的文章" → "数据库".
_ZH_LEAD = re.compile(r"^(?:有|是|为|出现|包含|含有|提到|提及|涉及|关于|任何|任意|存在|其中)+")
_ZH_TAIL = re.compile(r"(?:的话|相关的?|有关的?|方面的?|的?(?:内容|文章|新闻|消息|帖子|报道|话题|东西|信息)|的)+$")
_ZH_COPULA = re.compile(r"^.{1,8}?(?:是|为)(?!否)")
# A clause that is both conditional and a delivery: "only post to Slack if …", "如果…就发到…".
_SENTENCE_SPLIT = re.compile(r"[.;!?。；！？\n]+")


def keyword(term: str) -> str:
    """The subject a condition tests for: "the sentiment is negative" → "negative", "any story
    mentions ai" → "ai", "有ai相关的" → "ai"; comparisons ("金额超过1000") stay whole."""
    term = re.sub(r"[{}<>%#'\"\\]", " ", term).strip()
    if _CJK.search(term):
        core = _ZH_LEAD.sub("", term)
        core = _ZH_COPULA.sub("", core) if not re.search(r"超过|低于|高于|大于|小于|等于", core) else core
        core = _ZH_TAIL.sub("", core).strip()
        return (core or term)[:12]
    m = _SUBJECT_AFTER.search(term)
    if m:
        words = [w for w in re.split(r"\s+", re.split(r"\s+(?:or|and)\s+", m.group(1))[0]) if w and w not in _EN_STOP]
        if words:
            return " ".join(words[:3])
    words = [w for w in re.findall(r"[a-z0-9$.%-]+", term.lower()) if w not in _EN_STOP]
    return words[-1] if words else "yes"


def display(term: str, prompt: str) -> str:
    """The term as the user wrote it ("AI", not "ai") for titles; the term itself if not found."""
    m = re.search(re.escape(term), prompt, re.IGNORECASE)
    return m.group(0) if m else term


def quote(s: str) -> str:
    return "'" + s.replace("\\", "").replace("'", "") + "'"


def match_expression(term: str, text_ref: str) -> str:
    """A sandboxed expression: does the text at ``text_ref`` mention ``term`` (case-insensitive)?

    A single ASCII word is matched as a whole word ("ai" must not match "said" or "maintain");
    non-ASCII characters count as separators, so "一款AI工具" mentions "ai". Phrases and
    Chinese terms are matched as substrings."""
    text = f"({text_ref} | string | lower)"
    term = term.lower()
    if re.fullmatch(r"[a-z0-9][a-z0-9+#.]*", term):
        words = (f"({text}.encode('ascii', 'replace').decode() | replace('?', ' ') | replace('-', ' ') "
                 f"| replace('/', ' ') | replace(\"'\", ' ')).split() | map('trim', '.,;:!\"()[]*') | list")
        return f"{quote(term)} in {words}"
    return f"{quote(term)} in {text}"


def gates_delivery(prompt: str) -> bool:
    """Whether the request's condition decides a delivery: a sentence that is both conditional
    and sends somewhere ("only post to Slack if a story mentions AI", "when X, email the team")."""
    for sentence in _SENTENCE_SPLIT.split(prompt.lower()):
        if CONDITION_RE.search(sentence) and (_NOTIFY_STEP_RE.search(sentence) or NOTIFY_RE.search(sentence)):
            return True
    return False
