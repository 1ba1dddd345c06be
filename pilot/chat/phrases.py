"""Bilingual phrase understanding for the rule-based edit planner (pure, no I/O).

Small, explicit vocabularies (languages, integrations, models, schedules) that turn an English
or Chinese instruction into the values an edit needs: a target language, a model id, a cron
expression, an integration name.
"""

from __future__ import annotations

import re
import unicodedata

from pilot.generation.entities import BY_ID

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
    """NFKC (full-width → ASCII), lower-case, collapsed spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def language_of(text: str) -> str:
    """'zh' when the text is mostly Chinese, else 'en'."""
    cjk = len(_CJK.findall(text))
    letters = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 3 >= letters else "en"


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

_WEEKDAYS_EN = {"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 0,
                "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0}
_WEEKDAYS_ZH = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 0, "天": 0, "1": 1, "2": 2, "3": 3,
                "4": 4, "5": 5, "6": 6, "7": 0}
_ZH_NUM = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
           "十一": 11, "十二": 12, "半": 30}
_PM_ZH = ("下午", "晚上", "傍晚", "夜里")


def _zh_int(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    if token in _ZH_NUM:
        return _ZH_NUM[token]
    if token.startswith("十") and token[1:] in _ZH_NUM:
        return 10 + _ZH_NUM[token[1:]]
    return None


def _time_of_day(text: str) -> tuple[int, int] | None:
    m = re.search(r"(\d{1,2}):(\d{2})\s*(am|pm)?", text)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
        if m.group(3) == "pm" and hour < 12:
            hour += 12
        return hour % 24, minute % 60
    m = re.search(r"(?:at|@)\s*(\d{1,2})\s*(am|pm|o'?clock)?|(\d{1,2})\s*(am|pm)", text)
    if m:
        hour = int(m.group(1) or m.group(3))
        suffix = m.group(2) or m.group(4)
        if suffix == "pm" and hour < 12:
            hour += 12
        if suffix == "am" and hour == 12:
            hour = 0
        if "evening" in text or "night" in text or ("afternoon" in text and hour < 12):
            hour = hour + 12 if hour < 12 else hour
        return hour % 24, 0
    m = re.search(r"([0-9]{1,2}|十[一二]?|[一二两三四五六七八九十])\s*[点點时](半|[0-9]{1,2}分?|[一二三四五]十分?)?", text)
    if m:
        hour = _zh_int(m.group(1)) or 0
        minute = 0
        if m.group(2):
            minute = 30 if m.group(2) == "半" else int(re.sub(r"\D", "", m.group(2)) or 0)
        if any(p in text for p in _PM_ZH) and hour < 12:
            hour += 12
        return hour % 24, minute % 60
    if "morning" in text or "早上" in text or "早晨" in text or "上午" in text:
        return 9, 0
    if "evening" in text or "晚上" in text:
        return 18, 0
    if "noon" in text or "中午" in text:
        return 12, 0
    return None


def parse_schedule(text: str) -> str | None:
    """A cron expression for a recurring-time phrase ("every Monday at 9", "每天早上8点"), else None."""
    t = normalize(text)
    m = re.search(r"every\s+(\d+)\s*(minute|min|hour)s?|每\s*(\d+|[一二两三四五六十]+)\s*(分钟|个?小时)", t)
    if m:
        n = int(m.group(1)) if m.group(1) else (_zh_int(m.group(3)) or 1)
        unit = m.group(2) or m.group(4)
        return f"*/{n} * * * *" if unit.startswith(("min", "分")) else f"0 */{n} * * *"
    if re.search(r"every hour|hourly|each hour|每小时|每个小时", t):
        return "0 * * * *"
    hour, minute = _time_of_day(t) or (9, 0)
    days = [d for name, d in _WEEKDAYS_EN.items() if re.search(rf"(?:every|on|each)\s+{name}s?\b|\b{name}s\b", t)]
    days += [_WEEKDAYS_ZH[c] for c in re.findall(r"(?:每周|每星期|每个星期|每礼拜|周|星期)([一二三四五六日天1-7])", t)]
    if days:
        return f"{minute} {hour} * * {','.join(str(d) for d in sorted(set(days)))}"
    if re.search(r"weekday|work ?day|工作日|周一到周五|周一至周五", t):
        return f"{minute} {hour} * * 1-5"
    if re.search(r"every week|weekly|每周|每星期|每个星期", t):
        return f"{minute} {hour} * * 1"
    m = re.search(r"every month|monthly|每月|每个月", t)
    if m:
        day = re.search(r"(\d{1,2})\s*(?:号|日|st|nd|rd|th)", t)
        return f"{minute} {hour} {int(day.group(1)) if day else 1} * *"
    if re.search(r"every day|daily|every morning|every evening|every night|each day|每天|每日|每晚|每早", t):
        return f"{minute} {hour} * * *"
    return None


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
        return f"每 {n} 小时" if lang == "zh" else f"every {n} hour(s)"
    if dow == "1-5":
        return f"工作日 {at}" if lang == "zh" else f"every weekday at {at}"
    if dow != "*":
        days = [int(d) for d in dow.split(",") if d.isdigit()]
        if lang == "zh":
            return f"每{'、'.join(names_zh[d] for d in days)} {at}"
        return f"every {', '.join(names_en[d] for d in days)} at {at}"
    if dom != "*":
        return f"每月 {dom} 日 {at}" if lang == "zh" else f"on day {dom} of every month at {at}"
    return f"每天 {at}" if lang == "zh" else f"every day at {at}"
