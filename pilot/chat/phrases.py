"""Bilingual phrase understanding for the rule-based edit planner (pure, no I/O).

Small, explicit vocabularies (languages, chat's notification aliases, models) that turn an
English or Chinese instruction into the values an edit needs: a target language, a model id, an
integration name. What the generation package already reads is taken from it rather than kept
twice: text cleaning and language detection (:mod:`pilot.generation.text`), schedules → cron
(:func:`pilot.generation.entities.find_schedule`), batch sizes (:mod:`pilot.generation.phrases`).
"""

from __future__ import annotations

import re

from pilot.generation.entities import BY_ID, find_schedule
from pilot.generation.phrases import BATCH
from pilot.generation.text import clean, detect_language
from pilot.generation.text import normalize as gen_normalize

# canonical name → aliases (lower-case English words and Chinese names)
LANGUAGES: dict[str, tuple[str, ...]] = {
    "English": ("english", "英文", "英语"),
    "Chinese": ("chinese", "mandarin", "中文", "汉语", "简体中文", "华语"),
    "Japanese": ("japanese", "日语", "日文"),
    "Korean": ("korean", "韩语", "韩文"),
    "French": ("french", "法语", "法文"),
    "German": ("german", "德语", "德文"),
    "Spanish": ("spanish", "西班牙语", "西语", "西班牙文"),
    "Portuguese": ("portuguese", "葡萄牙语"),
    "Italian": ("italian", "意大利语"),
    "Russian": ("russian", "俄语", "俄文"),
    "Arabic": ("arabic", "阿拉伯语"),
    "Vietnamese": ("vietnamese", "越南语"),
    "Thai": ("thai", "泰语"),
    "Dutch": ("dutch", "荷兰语"),
    "Indonesian": ("indonesian", "印尼语"),
}
LANGUAGE_ZH = {"English": "英文", "Chinese": "中文", "Japanese": "日语", "Korean": "韩语", "French": "法语",
               "German": "德语", "Spanish": "西班牙语", "Portuguese": "葡萄牙语", "Italian": "意大利语",
               "Russian": "俄语", "Arabic": "阿拉伯语", "Vietnamese": "越南语", "Thai": "泰语",
               "Dutch": "荷兰语", "Indonesian": "印尼语"}

# integration → (tool used to reach it, chat aliases, display name). The tool comes from the
# generator's integration registry, so chat edits and generated workflows always pick the same
# connector; only the conversational aliases are chat's own.
_CHAT_ALIASES: dict[str, tuple[tuple[str, ...], str]] = {
    "email": (("email", "e-mail", "mail me", "mail it", "mail the", "inbox", "邮件", "邮箱", "电邮"), "email"),
    "slack": (("slack",), "Slack"),
    "webhook": (("webhook", "zapier", "n8n", "make.com", "回调"), "a webhook"),
    "telegram": (("telegram", "电报"), "Telegram"),
    "discord": (("discord",), "Discord"),
    "teams": (("microsoft teams", "ms teams", " teams"), "Microsoft Teams"),
    "dingtalk": (("dingtalk", "钉钉"), "DingTalk"),
    "feishu": (("feishu", "lark", "飞书"), "Feishu"),
    "wecom": (("wecom", "wechat work", "企业微信", "企微"), "WeCom"),
}
INTEGRATIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    key: (BY_ID[key].tool, aliases, display) for key, (aliases, display) in _CHAT_ALIASES.items()
}
INTEGRATION_ZH = {"email": "邮件", "slack": "Slack", "webhook": "Webhook", "telegram": "Telegram",
                  "discord": "Discord", "teams": "Teams", "dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}

_MODEL = re.compile(
    r"(?<![\w.-])(gpt-?[0-9][\w.-]*|o[134](?:-mini|-pro)?|claude-[\w.-]+|gemini-[\w.-]+|deepseek-[\w.-]+"
    r"|qwen[\w.-]*|llama-?[0-9][\w.-]*|mistral-[\w.-]+|glm-[\w.-]+|moonshot-[\w.-]+|[\w-]+/[\w.-]+)(?![\w-])"
)
CHEAP_MODEL, STRONG_MODEL = "gpt-4o-mini", "gpt-4o"

_CJK = re.compile(r"[\u3400-\u9fff]")


def normalize(text: str) -> str:
    """The generation package's cleaning (NFKC: full-width → ASCII, control characters
    dropped), lower-cased, every run of whitespace (newlines included) one space."""
    return re.sub(r"\s+", " ", clean(text)).strip().lower()


def language_of(text: str) -> str:
    """'zh' when Chinese carries the message, else 'en' (the generation package's detector,
    so a reply is in the language the request was planned in)."""
    return detect_language(text)


def has_any(text: str, words) -> bool:
    return any(w in text for w in words)


def _alias_pattern(alias: str) -> re.Pattern[str]:
    if _CJK.search(alias):
        return re.compile(re.escape(alias))
    return re.compile(rf"(?<![a-z]){re.escape(alias.strip())}(?![a-z])")


def find_languages(text: str) -> list[tuple[int, str]]:
    """(position, canonical language) for every language named in ``text`` (normalized)."""
    found: dict[str, int] = {}
    for name, aliases in LANGUAGES.items():
        for alias in aliases:
            m = _alias_pattern(alias).search(text)
            if m and (name not in found or m.start() < found[name]):
                found[name] = m.start()
    return sorted((pos, name) for name, pos in found.items())


def find_integrations(text: str) -> list[tuple[int, str]]:
    """(position, integration key) for every integration named in ``text`` (normalized)."""
    found: dict[str, int] = {}
    for key, (_, aliases, _) in INTEGRATIONS.items():
        for alias in aliases:
            m = _alias_pattern(alias).search(text) if alias.strip() == alias else re.search(re.escape(alias), " " + text)
            if m and (key not in found or m.start() < found[key]):
                found[key] = m.start()
    if "mail" in text and "email" not in found and re.search(r"(?<![a-z])mail(?![a-z])", text):
        found["email"] = text.index("mail")
    return sorted((pos, key) for key, pos in found.items())


def find_model(text: str) -> str | None:
    """A model id named in the text (``gpt4o`` → ``gpt-4o``), or a cheaper/stronger wish."""
    m = _MODEL.search(text)
    if m:
        model = m.group(1).rstrip(".-")
        model = re.sub(r"^gpt-?(\d)", r"gpt-\1", model)
        if "/" in model and not re.search(r"(gpt|claude|gemini|llama|qwen|mistral|deepseek)", model):
            return None
        return model
    if has_any(text, ("cheaper model", "cheaper", "faster model", "smaller model", "便宜", "更快的模型", "小模型", "省钱")):
        return CHEAP_MODEL
    if has_any(text, ("better model", "stronger model", "smarter model", "more capable", "best model",
                      "更强", "更好的模型", "更聪明", "最好的模型")):
        return STRONG_MODEL
    return None


# ---------------------------------------------------------------- schedules → cron


def parse_schedule(text: str) -> str | None:
    """A cron expression for a recurring-time phrase ("every Monday at 9", "每天早上8点",
    "每隔两小时"), else None: the generation package's schedule extractor, so a schedule
    reads the same in a request and in a follow-up."""
    schedule = find_schedule(gen_normalize(text))
    return schedule.cron if schedule else None


def batch_size(text: str) -> int | None:
    """N in "in batches of N" / "N at a time" / "每N条一批" (the generation package's batch cue)."""
    m = BATCH.search(gen_normalize(text))
    n = next((g for g in m.groups() if g), None) if m else None
    return int(n) if n and 1 <= int(n) <= 10_000 else None


def describe_cron(cron: str, lang: str) -> str:
    """A short human reading of the crons :func:`parse_schedule` produces."""
    minute, hour, dom, _, dow = (cron.split() + ["*"] * 5)[:5]
    at = f"{int(hour):02d}:{int(minute):02d}" if hour.isdigit() and minute.isdigit() else ""
    names_en = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    names_zh = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"]
    if minute.startswith("*/"):
        return f"每 {minute[2:]} 分钟" if lang == "zh" else f"every {minute[2:]} minutes"
    if hour.startswith("*/") or hour == "*":
        n = hour[2:] if hour.startswith("*/") else "1"
        if lang == "zh":
            return f"每 {n} 小时" if n != "1" else "每小时"
        return f"every {n} hours" if n != "1" else "every hour"
    if dow == "1-5":
        return f"工作日 {at}" if lang == "zh" else f"every weekday at {at}"
    if dow != "*":
        days = [int(d) for d in dow.split(",") if d.isdigit()]
        if lang == "zh":
            return f"每{'、'.join(names_zh[d] for d in days)} {at}"
        return f"every {', '.join(names_en[d] for d in days)} at {at}"
    if dom.startswith("*/"):
        return f"每 {dom[2:]} 天 {at}" if lang == "zh" else f"every {dom[2:]} days at {at}"
    if dom == "L":
        return f"每月最后一天 {at}" if lang == "zh" else f"on the last day of every month at {at}"
    if dom != "*":
        return f"每月 {dom} 日 {at}" if lang == "zh" else f"on day {dom} of every month at {at}"
    return f"每天 {at}" if lang == "zh" else f"every day at {at}"
