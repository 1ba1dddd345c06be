"""Entity extraction: integrations (and whether they are a source or a destination), schedule
phrases → cron, target languages, data sources and URLs. Pure functions over normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources

import yaml

from pilot.generation.prefilter import compile_filtered
from pilot.generation import roles
from pilot.generation.blueprint import Schedule
from pilot.generation.text import ascii_re, cached_re

@dataclass(frozen=True)
class Integration:
    """A service people name in requests. ``tool`` is the connector a destination node uses:
    a dedicated one (``slack``, ``email``, the ``feishu``/``dingtalk``/``wecom`` group bots) or the
    generic ``webhook`` with the integration named in its arguments. ``api_url`` is where a source node reads from.

    The registry lives in ``data/services.yaml`` (its header documents every field). ``en`` / ``zh``
    are what :func:`find_integrations` spots in free text; ``names`` only :func:`lookup_service`
    resolves (too ambiguous in a sentence: "monday", "excel", "京东")."""

    id: str
    name: str
    en: tuple[str, ...]
    zh: tuple[str, ...] = ()
    kind: str = "data"  # "data" → a source unless a delivery cue says otherwise; "messaging" → a channel; "service" → neither
    tool: str = "webhook"
    api_url: str = ""
    hook_url: str = ""  # where a webhook-style destination posts (placeholder token for the user to fill)
    category: str = "other"
    role: str = "both"  # "source" | "destination" | "both": the default when no verb decides
    read_op: str = ""  # list | search | get
    write_op: str = ""  # send | post | create | append | upsert | update
    write_url: str = ""  # HTTPS endpoint of the write operation ({{ inputs.<name> }} placeholders)
    update_url: str = ""  # where an update of an existing record goes (PUT), when not the write endpoint
    feed_url: str = ""  # RSS / JSON feed of a news site or blog
    names: tuple[str, ...] = ()  # extra names for lookup_service only
    # the service's own write operations a request can name ("refund the payment in Stripe",
    # "close the GitHub issue"): (action, method, url), action one of SERVICE_ACTIONS
    actions: tuple[tuple[str, str, str], ...] = ()
    # the records a request can name ("closed deals from HubSpot", "HubSpot 的商机"): (words, url),
    # the collection endpoint read (GET) and, where it is also the write endpoint, created in (POST)
    objects: tuple[tuple[tuple[str, ...], str], ...] = ()

    def object_url(self, text: str | None) -> str | None:
        """The endpoint of the record type ``text`` names first, or None when it names none."""
        if not self.objects or not text:
            return None
        lowered, best = text.lower(), None
        for words, url in self.objects:
            for word in words:
                # a Latin word stands alone ("a dealer list" names no deal); a Chinese one is a substring
                found = cached_re(rf"(?<![a-z]){re.escape(word)}(?![a-z])" if word.isascii() else re.escape(word)).search(lowered)
                if found and (best is None or found.start() < best[0]):
                    best = (found.start(), url)
        return best[1] if best else None

    def action(self, name: str | None) -> tuple[str, str] | None:
        """(method, url) of the service's own operation ``name``, or None when it has none."""
        return next(((method, url) for action, method, url in self.actions if action == name), None)


CATEGORIES = frozenset({
    "messaging", "email", "crm", "support", "project", "dev", "docs", "storage", "database", "spreadsheet", "calendar",
    "commerce", "payments", "marketing", "social", "analytics", "ai", "forms", "hr", "finance", "news", "search", "files",
    "other"})
ROLES = frozenset({"source", "destination", "both"})
KINDS = frozenset({"data", "messaging", "service"})
# What a request can ask a service to do besides send / create / update (the phrases are
# pilot.generation.service_actions.PHRASES); a service lists the ones it has in ``actions``.
SERVICE_ACTIONS = ("refund", "cancel", "close", "reopen", "comment", "label", "archive", "assign", "fulfill", "draft", "rerun")
_ACTION_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ID_RE = compile_filtered(r"^[a-z][a-z0-9_]*$")  # ids end up in run-input names (<id>_api_url) and node ids
_TUPLE_FIELDS = frozenset({"en", "zh", "names"})


def _load_services() -> tuple[Integration, ...]:
    """``data/services.yaml`` → Integration records, checked so a bad edit fails at import."""
    text = resources.files("pilot.generation").joinpath("data", "services.yaml").read_text(encoding="utf-8")
    rows = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    known = {f.name for f in fields(Integration)}
    out: list[Integration] = []
    for row in rows:
        where = f"services.yaml: {row.get('id', row)!r}"
        if set(row) - known:
            raise ValueError(f"{where}: unknown fields {sorted(set(row) - known)}")
        values = {k: tuple(v or ()) if k in _TUPLE_FIELDS else v for k, v in row.items() if k not in ("actions", "objects")}
        if not all(isinstance(v, str) for k, v in values.items() if k not in _TUPLE_FIELDS) or not all(
                isinstance(a, str) and a == a.strip().lower() and a for k in _TUPLE_FIELDS for a in values.get(k, ())):
            raise ValueError(f"{where}: fields must be strings, aliases non-empty lower-case strings")
        # "Google 日历", "google表格": Chinese requests name Google's products half in English
        mixed = [f"google{sep}{a[2:]}" for a in values.get("zh", ()) if a.startswith("谷歌") for sep in ("", " ")]
        values["zh"] = tuple(dict.fromkeys((*values.get("zh", ()), *mixed)))
        integ = Integration(**values, actions=_actions(row.get("actions") or {}, where),
                            objects=_objects(row.get("objects") or {}, where))
        if not _ID_RE.match(integ.id) or integ.category not in CATEGORIES or integ.role not in ROLES or integ.kind not in KINDS:
            raise ValueError(f"{where}: bad id, category, role or kind")
        out.append(integ)
    if len({i.id for i in out}) != len(out):
        raise ValueError("services.yaml: duplicate ids")
    return tuple(out)


def _actions(raw: object, where: str) -> tuple[tuple[str, str, str], ...]:
    """``{refund: "POST https://…", …}`` → ((action, method, url), …), checked."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: actions must map an action to \"METHOD https://…\"")
    out = []
    for action, call in raw.items():
        method, _, url = str(call).partition(" ")
        if action not in SERVICE_ACTIONS or method not in _ACTION_METHODS or not url.startswith("https://"):
            raise ValueError(f"{where}: action {action!r}: want one of {SERVICE_ACTIONS} → \"POST|PUT|PATCH|DELETE https://…\"")
        out.append((action, method, url))
    return tuple(out)


def _objects(raw: object, where: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """``{"deals deal 商机": "https://…", …}`` → (((words…), url), …), checked ("pull_request" is "pull request")."""
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ValueError(f"{where}: objects must map \"word word …\" to \"https://…\"")
    out = []
    for words, url in raw.items():
        if words != words.lower() or not words.split() or not url.startswith("https://"):
            raise ValueError(f"{where}: objects {words!r}: lower-case words → an https:// endpoint")
        out.append((tuple(w.replace("_", " ") for w in words.split()), url))  # "pull_request": a two-word name
    return tuple(out)


INTEGRATIONS: tuple[Integration, ...] = _load_services()
BY_ID = {i.id: i for i in INTEGRATIONS}


def _trie(words: dict[str, str]) -> str:
    """One regex for many aliases, as a prefix tree: at each position it tries the next
    characters instead of every alias in turn (hundreds of aliases stay fast), and the
    longest alias wins as with a longest-first alternation. ``words`` maps each alias to the
    pattern that must hold right after it ("" for none)."""
    root: dict = {}
    for word, tail in words.items():
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = tail

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch != ""]
        if "" in node:
            alts.append(node[""])  # the word may end here (tried last: longer words first)
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(root) if root else "(?!)"


_EN_ALIASES = sorted(((a, i.id) for i in INTEGRATIONS for a in i.en), key=lambda p: -len(p[0]))
_EN_RE = ascii_re(r"\b(" + _trie({a: "" for a, _ in _EN_ALIASES}) + r")\b")
_EN_LOOKUP = dict(_EN_ALIASES)
_ZH_ALIASES = sorted(((a, i.id) for i in INTEGRATIONS for a in i.zh if not a.isascii()), key=lambda p: -len(p[0]))
# Chinese aliases are substrings, except that an ASCII letter or digit at an alias's edge must
# not touch another one: "b站" is not inside "web站点", "qq邮箱" not inside "xqq邮箱".
_EDGE = r"(?![a-z0-9])"
_ZH_HEAD = [a for a, _ in _ZH_ALIASES if a[0].isascii() and a[0].isalnum()]
_ZH_TAILS = {a: _EDGE if a[-1].isascii() and a[-1].isalnum() else "" for a, _ in _ZH_ALIASES}
# "发到飞书项目群": a chat's group ("项目群") on the messenger, not the messenger's other product
# ("飞书项目", Feishu Project). A longer alias that starts with a messenger's name is not read
# before 群; the messenger's own alias then matches.
_MESSENGERS_ZH = [a for a, iid in _ZH_ALIASES if BY_ID[iid].kind == "messaging"]
_ZH_TAILS.update({a: _ZH_TAILS[a] + "(?!群)" for a, iid in _ZH_ALIASES
                  if BY_ID[iid].kind != "messaging" and any(a.startswith(m) and a != m for m in _MESSENGERS_ZH)})
_ZH_RE = compile_filtered(r"(?<![a-z0-9])" + _trie({a: _ZH_TAILS[a] for a in _ZH_HEAD}) + "|"
                    + _trie({a: t for a, t in _ZH_TAILS.items() if a not in _ZH_HEAD}))
_ZH_LOOKUP = dict(_ZH_ALIASES)
# "飞书多维表格" is one integration, not Feishu messaging + a table.
_SHADOWS = {"feishu_bitable": "feishu"}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", name).strip().lower())


def _lookup_keys(integ: Integration) -> list[str]:
    """Every name an integration answers to: id, display name and its parts ("Feishu / Lark (飞书)"
    → feishu, lark, 飞书), aliases and lookup-only names."""
    parts = [p for p in re.split(r"\s*/\s*|\s*[()（）]\s*", integ.name) if p.strip()]
    return list(dict.fromkeys(_key(n) for n in (integ.id, integ.name, *parts, *integ.en, *integ.zh, *integ.names) if _key(n)))


_LOOKUP: dict[str, Integration] = {}
for _integ in INTEGRATIONS:
    for _k in _lookup_keys(_integ):
        _LOOKUP.setdefault(_k, _integ)


def lookup_service(name: str) -> Integration | None:
    """The service an id, display name or alias names ("Google Sheets", "google_sheets",
    "谷歌表格", "36kr" …), case, spaces, underscores and hyphens ignored; ``None`` when unknown."""
    return _LOOKUP.get(_key(name)) if name else None


# Chinese lookup-only names ("有赞", "京东") are too ambiguous alone; followed within a few
# characters by what the service holds (订单, 店铺, 后台 …) they name the service.
_NAMED_LOOKUP = {n: i.id for i in INTEGRATIONS for n in i.names if len(n) >= 2 and not n.isascii()}
_NAMED_ALT = "(?:" + "|".join(sorted(map(re.escape, _NAMED_LOOKUP), key=len, reverse=True)) + ")"
_NAMED_RE = compile_filtered(_NAMED_ALT + r"(?=[\u4e00-\u9fff]{0,10}?(?:订单|店铺|商品|客户|会员|后台|数据|商城|销售|评价|差评|工单|退款|讨论|帖子|热帖|评论|动态|舆情|下单|付款|发货|买家|应收|应付|账款|凭证|报表|发票|库存))"
                             # "再回复到有赞", "在快手上发": where something goes or is, named alone after 到/在/去
                             r"|(?<=[到在去往进从])" + _NAMED_ALT + r"(?=(?:上|里|那边|平台)?(?:$|[,，。；;、!！?？\s]|的|去|发|回))") if _NAMED_LOOKUP else None


_X_LISTED = compile_filtered(r"(?:,\s*|\band\s+|\bor\s+|\b(?:to|on)\s+)(x)(?=\s*(?:,|\band\b|\bor\b|\(|[.;]|$))")

# A service named by an ordinary word: the word in its ordinary sense is not the service ("a linear scale")
_WORD_SENSE = {"erp": compile_filtered(r"\.[a-z]"),  # "https://erp.example.com": a host name
               "linear": compile_filtered(r"\s+(?:scale|regression|model|time|function|growth|algebra|equations?|fit|programming|"
                                          r"interpolation|combination|layout|progress|trend|relationship|search)\b")}


# "给销售派个任务让他打电话跟进": a person asked to make the call, not a call the workflow places
_ASKED_TO_CALL = compile_filtered(r"(?:让|叫|请|安排|提醒|通知)(?:他|她|他们|她们|销售|客服|负责人|同事|对方|[\u4e00-\u9fff]{1,4}?)(?:去|来|尽快|及时|马上|主动)?$")


def find_integrations(text: str) -> tuple[list[str], list[str], list[str]]:
    """(all integrations in order of mention, destinations, sources) in a normalised text. An
    integration whose content is only processed ("translate the email") is in neither list; see
    :mod:`pilot.generation.roles`."""
    hits: list[tuple[int, int, str]] = [(m.start(), m.end(), _EN_LOOKUP[m.group(1)]) for m in _EN_RE.finditer(text)
                                        if m.group(1) not in _WORD_SENSE or not _WORD_SENSE[m.group(1)].match(text, m.end())]
    hits += [(m.start(), m.end(), _ZH_LOOKUP[m.group(0)]) for m in _ZH_RE.finditer(text)
             if not (_ZH_LOOKUP[m.group(0)] == "phone_call" and _ASKED_TO_CALL.search(text, max(0, m.start() - 10), m.start()))]
    # "publish it to LinkedIn, X and Mailchimp": X among other services is X (Twitter)
    hits += [(m.start(1), m.end(1), "twitter") for m in _X_LISTED.finditer(text)
             if any(abs(h[0] - m.start(1)) <= 30 for h in hits)]
    if _NAMED_RE is not None:  # "汇总有赞当天的订单": a lookup-only name, with a business noun right after it
        hits += [(m.start(), m.end(), _NAMED_LOOKUP[m.group(0)]) for m in _NAMED_RE.finditer(text)]
    hits.sort(key=lambda h: (h[0], h[0] - h[1]))
    # A name inside a longer one is part of it: "qq邮箱" is QQ Mail, not QQ; "github热榜" is GitHub Trending.
    kept: list[tuple[int, int, str]] = []
    for hit in hits:
        if not kept or hit[0] >= kept[-1][1]:
            kept.append(hit)
    hits = kept
    found: list[str] = []
    dest: list[str] = []
    src: list[str] = []
    previous: tuple[int, str] | None = None  # (end, role) of the integration named before
    for start, end, iid in hits:
        before, after = text[max(0, start - 40) : start], text[end : end + 24]
        prev = (text[previous[0] : start], previous[1]) if previous else None
        role = roles.role(BY_ID[iid].kind, text[start:end], before, after, prev)
        previous = (end, role)
        if iid not in found:
            found.append(iid)
        target = dest if role == roles.DESTINATION else src if role == roles.SOURCE else None  # a subject is in neither
        if target is not None and iid not in target:
            target.append(iid)
    for whole, part in _SHADOWS.items():
        if whole in found and part in found and text.count("飞书") <= text.count("多维表格"):
            for lst in (found, dest, src):
                if part in lst:
                    lst.remove(part)
    return found, dest, src


# ---------------------------------------------------------------- schedule → cron

_ZH_NUM = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_EN_DAYS = {"monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2, "wednesday": 3, "wed": 3, "thursday": 4, "thu": 4,
            "thurs": 4, "friday": 5, "fri": 5, "saturday": 6, "sat": 6, "sunday": 0, "sun": 0}
_ZH_DAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 0, "天": 0, "末": 6}
_PARTS = (("midnight", 0), ("morning", 8), ("早上", 8), ("早晨", 8), ("上午", 9), ("清晨", 7), ("早", 8), ("afternoon", 14), ("noon", 12),
          ("中午", 12), ("下午", 14), ("evening", 18), ("傍晚", 18), ("night", 21), ("晚上", 20), ("夜里", 22),
          ("晚", 20), ("tonight", 20), ("midnight", 0), ("凌晨", 2))


def _zh_int(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if not s or any(c not in _ZH_NUM for c in s):
        return None
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _ZH_NUM[s[1]]
    if len(s) == 3 and s[1] == "十":
        return _ZH_NUM[s[0]] * 10 + _ZH_NUM[s[2]]
    if len(s) == 2 and s[1] == "十":
        return _ZH_NUM[s[0]] * 10
    return _ZH_NUM[s[0]] if len(s) == 1 else None


_EN_TIME = ascii_re(r"\bat\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?|\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b|\b(\d{1,2}):(\d{2})\b")
_ZH_TIME = compile_filtered(r"(早上|早晨|上午|中午|下午|傍晚|晚上|凌晨|夜里)?\s*([0-9一二两三四五六七八九十]{1,3})\s*(?:点|时|:)\s*(半|[0-9]{1,2}分|[0-9]{1,2}(?![.、)）\d])|[一二三四五]十分?)?")  # not "5点 / 2. 从…" (an item number)


def _clock(text: str) -> tuple[int, int] | None:
    """(hour, minute) of an explicit time; a bare "at 7" in an evening phrase means 19:00."""
    evening = (_part_hour(text) or 0) >= 14
    m = _EN_TIME.search(text)
    if m:
        h, mi, ap = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6)) if m.group(4) else (m.group(7), m.group(8), None)
        hour, minute = int(h), int(mi or 0)
        if ((ap and ap.startswith("p")) or (not ap and evening)) and hour < 12:
            hour += 12
        if ap and ap.startswith("a") and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            return hour, minute
    named = re.search(r"\b(midnight|noon|midday)\b", text)
    if named:
        return (0, 0) if named.group(1) == "midnight" else (12, 0)
    for m in _ZH_TIME.finditer(text):
        hour = _zh_int(m.group(2))
        if hour is None or hour > 24:
            continue
        if (m.group(1) in ("下午", "傍晚", "晚上", "夜里") or (not m.group(1) and evening)) and hour < 12:
            hour += 12
        tail = m.group(3) or ""
        minute = 30 if tail == "半" else (_zh_int(tail.rstrip("分")) or 0) if tail else 0
        if hour < 24 and minute < 60:
            return hour, minute
    return None


def _part_hour(text: str) -> int | None:
    for word, hour in _PARTS:
        if word in text:
            return hour
    return None


_SCHEDULE_RE = ascii_re(
    r"every\s+\d+\s*(?:minutes?|mins?|hours?|hrs?|days?)|(?:every|each|on the)\s+\d{1,2}(?:st|nd|rd|th)\s+(?:day\s+)?of\s+(?:the|each|every)\s+month|every\s+(?:single\s+)?(?:morning|evening|night|afternoon|day|week|month|hour|"
    r"weekday|workday|business day|monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?(?![a-z])|each\s+(?:weekday|workday|morning|day|week|month|"
    r"evening|night|monday|tuesday|wednesday|thursday|friday)(?![a-z])|\b(?:daily|nightly|hourly|weekly|monthly|weekdays|on weekdays|twice a day|twice daily|"
    r"mornings|every other day|once a (?:day|week|month)|every (?:few|couple of|couple) (?:minutes|hours|days))\b|(?:on\s+)?(?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)\b|"
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday) (?:mornings|afternoons|evenings|nights)\b|"
    r"每隔?\s*[0-9一二两三四五六七八九十]+\s*(?:分钟|个?小时|天)|每隔?半(?:个)?小时|\bevery half(?:[- ]an)? hour\b|每(?:个)?(?:天|日|早|晚|周|星期|礼拜|月|小时|工作日|个工作日|交易日)(?!的)"
    r"[一二三四五六日天末]?|(?<![今明昨后前当])天天|工作日|(?<![下上本这])周[一二三四五六日](?![报年边])|每个?周末|周末(?=早|晚|上午|下午|中午|凌晨|\d|[一二两三四五六七八九十]+点)|(?<![下上本这])星期[一二三四五六日天]|早上|每早|定时|定期"
)


# Time zones people name next to a time. Order matters: the first match wins.
_ZONES: tuple[tuple[str, str], ...] = (
    (r"北京时间|中国时间|china time|beijing time|\bcst \(china\)|上海时间", "Asia/Shanghai"),
    (r"香港时间|hong kong time|\bhkt\b", "Asia/Hong_Kong"), (r"台北时间|taipei time", "Asia/Taipei"),
    (r"新加坡时间|singapore time|\bsgt\b", "Asia/Singapore"), (r"东京时间|日本时间|tokyo time|japan time|\bjst\b", "Asia/Tokyo"),
    (r"首尔时间|seoul time|\bkst\b", "Asia/Seoul"), (r"印度时间|india time|\bist\b", "Asia/Kolkata"),
    (r"悉尼时间|sydney time|\baes[dt]\b", "Australia/Sydney"), (r"伦敦时间|london time|uk time|\bbst\b", "Europe/London"),
    (r"巴黎时间|柏林时间|paris time|berlin time|\bce(?:s)?t\b", "Europe/Berlin"),
    (r"美东时间|纽约时间|eastern time|new york time|\be[sd]?t\b", "America/New_York"),
    (r"美中时间|central time|chicago time|\bc[sd]t\b", "America/Chicago"),
    (r"美西时间|太平洋时间|pacific time|\bp[sd]?t\b|san francisco time|\bla time", "America/Los_Angeles"),
    (r"\butc\b|\bgmt\b|格林尼治时间|世界协调时", "UTC"),
)


def find_timezone(text: str) -> str:
    """The IANA zone a schedule runs in: the one the request names ("at 9am EST", "北京时间8点"),
    else Asia/Shanghai for a Chinese request (people writing 每天早上9点 mean China time), else UTC."""
    for pattern, zone in _ZONES:
        if cached_re(pattern).search(text):
            return zone
    return "Asia/Shanghai" if re.search(r"[\u4e00-\u9fff]", text) else "UTC"


_PART_AFTER = compile_filtered(r"\s+(?:morning|afternoon|evening|night|at noon|at midnight)s?\b")


def find_schedule(text: str) -> Schedule | None:
    """A cron expression for a periodic request, or ``None``. Times default by part of day
    (morning 8:00, afternoon 14:00, evening 18:00, otherwise 9:00)."""
    # "一小时一次", "一天一次": the same as 每小时 / 每天
    text = re.sub(r"一个?(小时|天|周|星期|月)(?:左右)?一次", lambda x: "每" + x.group(1), text)
    m = _SCHEDULE_RE.search(text)
    if not m:
        return None
    phrase = m.group(0)
    if re.fullmatch(r"(?:daily|weekly|monthly|hourly|yearly)", phrase.strip()) and re.match(
            r"\s+(?:rent|fee|fees|payments?|salary|salaries|subscriptions?|price|pricing|costs?|budget|income|spend|spending|"
            r"active users|limit|quota|rate|plan|allowance|installments?|average|total|cap|prices|"
            r"report (?:database|db|table|sheet|page|folder|doc))\b", text[m.end():]):
        return None  # "the monthly rent", "daily active users": what is measured, not when to run
    if phrase in ("早上",) and not re.search(r"每|天天|daily|every", text):
        return None  # "this morning" is not periodic
    if phrase in ("定时", "定期") and not re.search(r"每|天天|定时(?:任务|执行|运行|跑|发送|推送)|定期", text):
        return None
    clock = _clock(text)
    part = _part_hour(text[max(0, m.start() - 6) : m.end() + 30])
    hour, minute = clock if clock else (part if part is not None else 9, 0)
    cron = None
    n = re.search(r"(?:every|每隔?)\s*([0-9一二两三四五六七八九十]+)\s*(minutes?|mins?|分钟|hours?|hrs?|个?小时|days?|天)", text)
    few = re.search(r"\bevery (?:few|couple of|couple) (minutes|hours|days)\b", text)
    if re.search(r"每隔?半(?:个)?小时|\bevery half(?:[- ]an)? hour\b", text):  # "每隔半小时", "every half hour"
        cron = "*/30 * * * *"
    elif few:  # "every few hours": a sensible default the user can edit
        cron = {"minutes": "*/15 * * * *", "hours": "0 */3 * * *"}.get(few.group(1), f"{minute} {hour} */3 * *")
    elif n:
        k = _zh_int(n.group(1)) or 1
        unit = n.group(2)
        if unit.startswith(("min", "分")):
            cron = f"*/{max(1, min(k, 59))} * * * *"
        elif unit.startswith(("h", "小", "个")):
            cron = f"0 */{max(1, min(k, 23))} * * *"
        else:
            cron = f"{minute} {hour} */{max(1, min(k, 31))} * *"
    elif re.search(r"\btwice (?:a day|daily)\b|每天两次", text):
        cron = "0 9,17 * * *"
    elif re.search(r"\bhourly\b|every hour|每(?:个)?小时", text):
        cron = "0 * * * *"
    else:
        days = sorted({d for w, d in _EN_DAYS.items() if w in text and cached_re(rf"\b{w}s?\b").search(text)} |
                      {_ZH_DAYS[c] for c in re.findall(r"(?:周|星期|礼拜)([一二三四五六日天末])", text)})
        if "周末" in text or re.search(r"\bweekends?\b", text):
            days = sorted(set(days) - {6} | {0, 6}) if days else [0, 6]
        if days:
            cron = f"{minute} {hour} * * {','.join(str(d) for d in days)}"
        elif re.search(r"weekday|workday|business day|trading day|工作日|交易日", text):
            cron = f"{minute} {hour} * * 1-5"
        elif re.search(r"\bweekly\b|every week|each week|once a week|每周|每个?星期|每个?礼拜", text):
            cron = f"{minute} {hour} * * 1"
        elif re.search(r"\bmonthly\b|every month|each month|once a month|每个?月|\d(?:st|nd|rd|th)\s+(?:day\s+)?of\s+(?:the|each|every)\s+month", text):
            dom = re.search(r"每个?月\s*([0-9一二三四五六七八九十]{1,3})\s*[号日]", text)
            nth = re.search(r"\b(?:on\s+the|the|every|each)\s+(\d{1,2})(?:st|nd|rd|th)\b(?:\s+day)?\s+of\s+(?:every|each|the)\s+month", text)
            nth = nth or re.search(r"\bon the (\d{1,2})(?:st|nd|rd|th)\b", text)  # "every month on the 3rd"
            day = (_zh_int(dom.group(1)) if dom else None) or (int(nth.group(1)) if nth else None) or 1
            last = re.search(r"\blast day of (?:every|each|the) month\b|每个?月(?:的)?最后一天|月末|月底", text)
            # "每月最后一天", "on the last day of every month": croniter's L (it ran on the 1st)
            cron = f"{minute} {hour} L * *" if last else f"{minute} {hour} {min(day, 28)} * *"
        else:
            cron = f"{minute} {hour} * * *"
    part_after = _PART_AFTER.match(text, m.end())
    if part_after:  # "every Monday morning": the part of the day belongs to the schedule, not to the work
        phrase += part_after.group(0)
    return Schedule(cron=cron, text=phrase.strip(), timezone=find_timezone(text))


# ---------------------------------------------------------------- languages

_LANGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("en", ("english",), ("英文", "英语")),
    ("zh", ("chinese", "mandarin", "simplified chinese"), ("中文", "汉语", "简体", "普通话")),
    ("ja", ("japanese",), ("日语", "日文")),
    ("ko", ("korean",), ("韩语", "韩文")),
    ("fr", ("french",), ("法语", "法文")),
    ("de", ("german",), ("德语", "德文")),
    ("es", ("spanish",), ("西班牙语", "西语")),
    ("pt", ("portuguese",), ("葡萄牙语",)),
    ("it", ("italian",), ("意大利语",)),
    ("ru", ("russian",), ("俄语", "俄文")),
    ("ar", ("arabic",), ("阿拉伯语",)),
    ("vi", ("vietnamese",), ("越南语",)),
    ("th", ("thai",), ("泰语",)),
    ("id", ("indonesian",), ("印尼语",)),
)
_LANG_RE = ascii_re(
    r"\b(" + "|".join(w for _, en, _ in _LANGS for w in en) + r")\b|(" + "|".join(w for _, _, zh in _LANGS for w in zh) + ")"
)
_LANG_CODE = {w: code for code, en, zh in _LANGS for w in (*en, *zh)}
_FROM_BEFORE = compile_filtered(r"(\bfrom\s+$|从\s*$|把\s*$)")
_PAIR = {"英译中": ("en", "zh"), "中译英": ("zh", "en"), "中翻英": ("zh", "en"), "英翻中": ("en", "zh")}


def find_languages(text: str) -> list[str]:
    """Target languages in order of mention ("from English to Chinese" → ["zh"])."""
    targets: list[str] = []
    for pair, (_, dst) in _PAIR.items():
        if pair in text and dst not in targets:
            targets.append(dst)
    for m in _LANG_RE.finditer(text):
        code = _LANG_CODE[m.group(0)]
        before = text[max(0, m.start() - 6) : m.start()]
        after = text[m.end() : m.end() + 12]
        if _FROM_BEFORE.search(before) or re.match(r"\s*(?:to|into|→|->)\s", after) or re.match(r"\s*(?:翻译|译|到|转)", after):
            continue  # a source language
        if code not in targets:
            targets.append(code)
    return targets


# ---------------------------------------------------------------- data sources & urls

_SOURCES: tuple[tuple[str, str], ...] = (
    ("hacker_news", r"hacker\s?news|\bhn\b|hackernews"),
    ("rss", r"\brss\b|\bfeeds?\b|订阅源|rss源"),
    ("news", r"\bnews\b|headlines|新闻|资讯|热点|热榜"),
    ("web", r"https?://|\bwebsites?\b|\bweb ?pages?\b|\bthe web\b|\bonline\b|\bsites?\b|\bscrap(?:e|ing)\b|\bcrawl|网页|网站|网上|爬取|抓取|链接|互联网"),
    ("documents", r"\bdocs?\b|\bdocuments?\b|\bpdfs?\b|\bmanuals?\b|\bhandbook|knowledge base|\bwiki\b|文档|手册|知识库|说明书|资料|pdf"),
    ("database", r"\bdatabase|\bsql\b|postgres|mysql|\bdb\b|数据库"),
    ("spreadsheet", r"\bcsv\b|\bexcel\b|spreadsheet|google sheets?|\bxlsx?\b|表格|excel"),
    ("email_inbox", r"\binbox\b|incoming emails?|new emails?|收件箱|收到的邮件|新邮件"),
    ("files", r"\bfiles?\b|\buploads?\b|文件|附件|上传"),
    ("api", r"\bapis?\b|\bendpoints?\b|接口"),
)
_SOURCE_RES = tuple((name, ascii_re(pattern)) for name, pattern in _SOURCES)
# A URL ends at Chinese text: NFKC turns "ship，再给用户…" into "ship,再给用户…", and the comma is not the URL's
URL_RE = compile_filtered(r"https?://[^\s\"'<>，。）)\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def find_data_sources(text: str) -> list[str]:
    return [name for name, rx in _SOURCE_RES if rx.search(text)]


# "the pricing pages (acme.com/pricing and globex.com/pricing)": a page named without its scheme
BARE_URL_RE = compile_filtered(r"(?<![\w@./:-])(?:[a-z0-9-]+\.)+(?:com|io|ai|co|net|org|dev|app|cn|so|xyz|me|us|uk|de)/[\w./%?=&-]*[\w/]",
                               re.I)


def find_urls(raw: str) -> list[str]:
    """The URLs of the request, in order (at most five); bare "domain.tld/path" ones as written."""
    return list(_urls_of(raw))


@lru_cache(maxsize=256)  # asked of the whole request once per clause by the planner
def _urls_of(raw: str) -> tuple[str, ...]:
    found = [u.rstrip(".,;") for u in URL_RE.findall(raw)]
    found += [u for u in BARE_URL_RE.findall(raw) if not any(u in full for full in found)]
    return tuple(dict.fromkeys(found))[:5]
