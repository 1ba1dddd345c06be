"""The offline provider: deterministic, clearly labelled output, no network.

Used when no API key is configured (and always for the model name ``offline``). It does not
pretend to be a language model: every answer starts with ``[offline]``. It is still useful for
demos and tests: it recognises the common tasks of workflow prompts and produces a digest
derived only from the input — an extractive summary for summarise prompts, a lexicon-based label
for classify/sentiment prompts, the found emails/URLs/numbers/dates for extract prompts, a
labelled pass-through for translate prompts — in English or Chinese. With a ``json_schema``
response format it returns a deterministic instance of that schema (valid JSON; unlabelled,
since a label would break the JSON — callers know the provider is offline from its ``name``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pilot.llm.prices import count_message_tokens, count_tokens
from pilot.llm.schema_fill import example_from_schema
from pilot.llm.schemas import LLMUsage, MessageLike, to_openai_messages

LABEL = "[offline]"
AGENT_LABEL = "[offline agent]"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_SENTENCE = re.compile(r"[^。！？!?.\n]+[。！？!?.]*", re.UNICODE)
# Latin words of 3+ letters, and *overlapping* Chinese character bigrams (no spaces in Chinese).
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}|(?=([\u4e00-\u9fff]{2}))")
_STOP = {
    "the", "and", "for", "that", "with", "this", "from", "have", "are", "was", "were", "will",
    "your", "you", "our", "their", "about", "into", "what", "which", "when", "where", "who", "how",
    "please", "text", "following", "below", "above", "summarise", "summarize", "summary",
    "translate", "classify", "extract", "given", "input", "output", "answer",
    "write", "make", "also", "been", "has", "had", "its", "them", "then", "than", "there", "these",
    "those", "我们", "你们", "他们", "这个", "那个", "以及", "或者", "如果", "因为", "所以", "请将", "下面", "以下", "内容",
    "they", "一个",
}
_TASKS: list[tuple[str, re.Pattern[str]]] = [
    ("translate", re.compile(r"translat|翻译|译成|译为", re.IGNORECASE)),
    ("classify", re.compile(r"classif|categori[sz]|label|sentiment|intent|分类|类别|情感|情绪|意图|归类", re.IGNORECASE)),
    ("extract", re.compile(r"extract|pull out|parse|提取|抽取|解析", re.IGNORECASE)),
    ("summarize", re.compile(r"summar|tl;?dr|digest|recap|condense|总结|摘要|概括|归纳|简述|汇总", re.IGNORECASE)),
]
_POSITIVE = {
    "good", "great", "excellent", "love", "like", "happy", "thanks", "thank", "amazing", "awesome",
    "perfect", "fast", "helpful", "satisfied", "recommend", "好", "棒", "喜欢", "满意", "感谢", "谢谢", "优秀",
    "不错", "快", "推荐", "开心",
}
_NEGATIVE = {
    "bad", "terrible", "awful", "hate", "angry", "slow", "broken", "refund", "problem", "issue",
    "poor", "worst", "disappointed", "complaint", "bug", "error", "差", "糟糕", "讨厌", "生气", "慢", "坏",
    "退款", "问题", "投诉", "失望", "故障", "错误",
}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"https?://[^\s<>\"'）)]+")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}年\d{1,2}月\d{1,2}日")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\$?\d[\d,]*(?:\.\d+)?%?")
_LABEL_LIST = re.compile(
    r"(?:categories|labels|classes|options|one of|choose from|类别|分类为|选项|之一)\s*[:：]?\s*\[?([^\n\].;。；]+)", re.IGNORECASE
)


def is_chinese(text: str) -> bool:
    """True when at least a fifth of the letters are CJK ideographs."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk > 0 and cjk * 5 >= latin


def material_of(prompt: str) -> str:
    """The text a task operates on: after the first colon line / fence / quote, else the prompt."""
    fence = re.search(r"```(?:\w+)?\n(.*?)```", prompt, re.DOTALL)
    if fence:
        return fence.group(1).strip()
    for sep in (":\n", "：\n", ":", "："):
        head, found, tail = prompt.partition(sep)
        if found and tail.strip() and len(head) < 200:
            return tail.strip()
    return prompt.strip()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


_FUNCTION_CHARS = set("的了是在和与就都而及着过也又把被让给对从向这那个们吗呢吧啊")


def _terms(text: str) -> list[str]:
    """Content words: Latin words (3+ letters) and Chinese bigrams without function characters."""
    return [w.lower() for w in _words(text)
            if w.lower() not in _STOP and not (set(w) & _FUNCTION_CHARS)]


def _words(text: str) -> list[str]:
    return [m.group(1) or m.group(0) for m in _WORD.finditer(text)]


def _keywords(text: str, limit: int) -> list[str]:
    """Most frequent content terms; ties keep the order of first appearance (deterministic).

    Chinese has no spaces: repeated 2–4 character n-grams are candidates, and an n-gram is dropped
    when a longer one containing it occurs as often (so 服务器 wins over 服务 and 务器).
    """
    latin = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text) if w.lower() not in _STOP]
    counts = Counter(latin)
    first = {t: i for i, t in reversed(list(enumerate(latin)))}
    cjk: Counter[str] = Counter()
    for run in re.findall(r"[\u4e00-\u9fff]{2,}", text):
        for n in (2, 3, 4):
            for i in range(len(run) - n + 1):
                gram = run[i:i + n]
                if not set(gram) & _FUNCTION_CHARS and gram not in _STOP:
                    cjk[gram] += 1
    repeated = {g: c for g, c in cjk.items() if c > 1}
    for gram, c in repeated.items():
        if not any(len(o) > len(gram) and gram in o and oc == c for o, oc in repeated.items()):
            counts[gram] = c
            first[gram] = text.find(gram)
    return sorted(counts, key=lambda t: (-counts[t], first[t]))[:limit]


def summarize(text: str, zh: bool, max_points: int = 3) -> str:
    sentences = _sentences(text)
    if not sentences:
        return "（输入为空，无可总结内容）" if zh else "(empty input: nothing to summarise)"
    weights = Counter(_terms(text))
    scored = sorted(  # classic frequency-based extractive summary, length-normalised
        range(len(sentences)),
        key=lambda i: (-sum(weights[t] for t in _terms(sentences[i])) / (1 + len(sentences[i]) ** 0.5), i),
    )
    chosen = sorted(scored[:max_points])
    points = "\n".join(f"- {sentences[i]}" for i in chosen)
    keys = ", ".join(_keywords(text, 5))
    if zh:
        return f"摘要（抽取式，{len(sentences)} 句中选 {len(chosen)} 句）：\n{points}\n关键词：{keys}"
    return f"Summary (extractive, {len(chosen)} of {len(sentences)} sentences):\n{points}\nKey terms: {keys}"


def classify(prompt: str, text: str, zh: bool) -> str:
    match = _LABEL_LIST.search(prompt)
    if match:  # the label list itself must not count as evidence for a label
        text = text.replace(match.group(1), " ")
    words = {w.lower() for w in _words(text)} | set(_CJK.findall(text))
    if match:
        labels = [l.strip(" .'\"`") for l in re.split(r"[,，、|/]| or |或", match.group(1)) if l.strip(" .'\"`")][:12]
        if labels:
            def score(label: str) -> tuple[int, int]:
                parts = {p.lower() for p in _words(label)} | set(_CJK.findall(label))
                return (len(parts & words), -labels.index(label))
            best = max(labels, key=score)
            reason = "keyword overlap" if score(best)[0] else "no keyword matched; first listed label"
            return (f"类别：{best}（依据：{'关键词匹配' if score(best)[0] else '无匹配，取第一个选项'}）" if zh
                    else f"Label: {best} ({reason})")
    pos = sum(1 for w in words if w in _POSITIVE)
    neg = sum(1 for w in words if w in _NEGATIVE)
    label = "positive" if pos > neg else "negative" if neg > pos else "neutral"
    if zh:
        return f"情感：{ {'positive': '正面', 'negative': '负面', 'neutral': '中性'}[label] }（正面词 {pos}，负面词 {neg}）"
    return f"Sentiment: {label} (positive cues {pos}, negative cues {neg})"


def extract(text: str, zh: bool) -> str:
    found = {
        "emails": sorted(set(_EMAIL.findall(text))),
        "urls": sorted(set(_URL.findall(text))),
        "dates": sorted(set(_DATE.findall(text))),
        "numbers": sorted({n for n in _NUMBER.findall(text) if not any(n in d for d in _DATE.findall(text))})[:20],
    }
    names = {"emails": "邮箱", "urls": "链接", "dates": "日期", "numbers": "数字"} if zh else {}
    lines = [f"{names.get(k, k)}: {', '.join(v) if v else '—'}" for k, v in found.items()]
    return ("抽取结果：\n" if zh else "Extracted fields:\n") + "\n".join(lines)


def translate(prompt: str, text: str, zh: bool) -> str:
    target = "Chinese" if re.search(r"chinese|中文|汉语|zh", prompt, re.IGNORECASE) and not is_chinese(text) else (
        "English" if re.search(r"english|英文|英语", prompt, re.IGNORECASE) else "the requested language")
    if zh:
        return f"无法离线翻译（目标：{target}）。原文（{len(text)} 字）：\n{text[:2000]}"
    return f"Translation to {target} needs an LLM; source text passed through ({len(text)} chars):\n{text[:2000]}"


def respond(messages: list[dict[str, Any]]) -> str:
    """The deterministic offline answer to a chat request (without the label)."""
    prompt = ""
    for message in reversed(messages):
        if message.get("role") == "user":
            prompt = str(message.get("content") or "")
            break
    system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    instruction = f"{system}\n{prompt}"
    zh = is_chinese(prompt or system)
    text = material_of(prompt)
    for task, pattern in _TASKS:
        if pattern.search(instruction):
            if task == "summarize":
                return summarize(text, zh)
            if task == "classify":
                return classify(instruction, text, zh)
            if task == "extract":
                return extract(text, zh)
            return translate(instruction, text, zh)
    keys = ", ".join(_keywords(prompt, 6)) or "—"
    first = (_sentences(prompt) or [""])[0][:200]
    if zh:
        return (f"未配置 LLM（设置 OPENAI_API_KEY 可获得真实回答）。请求摘要：{len(prompt)} 字；"
                f"关键词：{keys}。首句：{first}")
    return (f"No LLM is configured (set OPENAI_API_KEY for real answers). Request digest: "
            f"{len(prompt.split())} words; key terms: {keys}. First sentence: {first}")


def agent_reply(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
    """The offline answer of an agent turn (``stream_chat(tools=...)``): one deterministic,
    labelled step that calls no tool and names the tools a real model would have had."""
    names = [str((t.get("function") or {}).get("name") or "?") for t in tools]
    task = ""
    for message in reversed(messages):
        if message.get("role") == "user":
            task = " ".join(str(message.get("content") or "").split())[:300]
            break
    listed = ", ".join(names) if names else "none"
    return (f"{AGENT_LABEL} No LLM is configured (set OPENAI_API_KEY for a real agent), so no tool was called. "
            f"Task: {task or '—'}. Tools available: {listed}.")


def _deltas(text: str) -> list[str]:
    """Split into several stream deltas: ~3 words, or 6 CJK characters, per delta."""
    pieces = re.findall(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]{1,6}|(?:\S+\s*){1,3}|\s+", text)
    return [p for p in pieces if p]


class OfflineProvider:
    """Deterministic stand-in for an LLM; output is labelled ``[offline]``."""

    name = "offline"

    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s  # optional per-delta pause, to make demo streams visible

    def render(self, messages: Sequence[MessageLike], response_format: dict[str, Any] | None = None,
               tools: list[dict[str, Any]] | None = None) -> str:
        """The full offline answer for ``messages`` (what ``stream_chat`` streams)."""
        wire = to_openai_messages(messages)
        if tools is not None:
            return agent_reply(wire, tools)
        fmt = response_format or {}
        answer = respond(wire)
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            value = example_from_schema(schema, seed=answer)
            return json.dumps(value, ensure_ascii=False)
        if fmt.get("type") == "json_object":
            return json.dumps({"offline": True, "result": answer}, ensure_ascii=False)
        return f"{LABEL} {answer}"

    async def stream_chat(
        self,
        *,
        model: str = "offline",
        messages: Sequence[MessageLike],
        temperature: float = 0.7,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | LLMUsage]:
        """Yield the offline answer in several deltas, then its usage (temperature is ignored).
        With ``tools`` the answer is :func:`agent_reply` (never a tool call)."""
        wire = to_openai_messages(messages)
        text = self.render(wire, response_format, tools)
        completion = 0
        for piece in _deltas(text):
            cost = count_tokens(piece)
            if max_tokens is not None and completion and completion + cost > max_tokens:
                break  # the first delta (with the label) always goes out
            completion += cost
            yield piece
            await asyncio.sleep(self.delay_s)
        prompt = count_message_tokens(wire)
        yield LLMUsage(prompt, completion, prompt + completion)

    async def aclose(self) -> None:
        return None
