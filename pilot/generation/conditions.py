"""Conditions in request text (offline planner, pure): comparisons, case labels, waits, batches.

"score above 7" → ``Comparison(field="score", op="gt", value=7)``; "金额超过1000元" and
"1000元及以下" likewise; "if it is negative" is a judgement (``None``: an AI step decides);
"bugs go to Jira" → a case label and its action; "wait 2 days" → seconds. Also used by chat's
follow-up rules, so a condition means the same when it is asked for later.
"""

from __future__ import annotations

import re

from msgspec.structs import replace

from pilot.generation.prefilter import compile_filtered
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.text import ascii_re
from pilot.generation.plan import Comparison

_NUM_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10,
              "twenty": 20, "thirty": 30, "半": 0.5}
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000, "分钟": 60, "小时": 3600, "天": 86400,
           "周": 604800, "星期": 604800, "个月": 2592000}
_JUDGEMENT_STRIP = ascii_re(r"^(?:it|this|that|they|the \w+|its \w+)\s+(?:is|are|was|seems|looks|contains?|mentions?|has)\s+"
                                r"(?:an?\s+|about\s+)?|^(?:it's|there is|there are|there's)\s+(?:an?\s+)?|^(?:是|属于|为|有|包含|涉及)")


_RELATIVE = ascii_re(r"\b(?:whose|that|which|where|who|with|if|when)\b")


def relative_condition(clause: str, lang: str) -> tuple[str, str]:
    """("go through the sheet", "company size is over 200") for "go through the sheet, lead whose
    company size is over 200"; ("", "") when the loop clause holds no comparison."""
    cmp = (ph.CMP_ZH if lang == "zh" else ph.CMP_EN).search(clause)
    if not cmp or comparison(clause[cmp.start():], lang) is None:
        return clause, ""
    rel = [m for m in _RELATIVE.finditer(clause, 0, cmp.start("op"))]
    if rel:
        start = rel[-1]
        head = clause[: start.start()]
        head = re.sub(r"(?:,|\band\b|\s)+\w*\s*$", "", head) if re.search(r",", head) else head
        return head.strip(" ,"), clause[start.end():].strip(" ,")
    return "", clause


_COMPLEMENT = {("gt", "le"), ("le", "gt"), ("ge", "lt"), ("lt", "ge"), ("eq", "ne"), ("ne", "eq")}


def complementary(a: Comparison | None, b: Comparison | None) -> bool:
    return (a is not None and b is not None and (a.op, b.op) in _COMPLEMENT and a.value == b.value
            and (a.field == b.field or "value" in (a.field, b.field)  # "超过5万的 … 5万及以下的": the same field
                 or {a.field, b.field} in ({"score", "rating"}, {"total", "amount"})))  # "评分低于3星 … 3星及以上的", "a total over $500 … orders under $500"


def antonyms(a: str, b: str) -> bool:
    """"构建失败 / 构建成功", "approved / rejected", "they replied / they didn't": the second case is
    the else branch."""
    x, y = (re.sub(r"^(?:(?:they|it|he|she|the \w+)\s+(?:seem|seems|is|are|look|looks|was|were)\s+|(?:they|it|he|she|the \w+)\s+(?=\w+ed\b))", "", t)
            for t in (a, b))
    if x and y and (x == "un" + y or y == "un" + x or x == "not " + y or y == "not " + x):
        return True  # "unhappy" / "they seem happy"
    if x and y and any(n + x == y or n + y == x for n in ("不", "没", "未", "非", "没有", "不是")):
        return True  # "充分 / 不充分", "通过 / 未通过"
    bare = [re.sub(r"^(?:会|要|能|是|有)(?=[\u4e00-\u9fff])", "", t) for t in (x, y)]
    if all(bare) and any(n + bare[0] == bare[1] or n + bare[1] == bare[0] for n in ("不", "没", "不会", "没有")):
        return True  # "会下雨 / 不下雨", "有库存 / 没库存"
    last = {x.split()[-1], y.split()[-1]} if x and y else set()
    if last in ({"failed", "succeeded"}, {"failed", "passed"}, {"fails", "passes"}, {"fails", "succeeds"}, {"failure", "success"},
                {"yes", "no"}, {"true", "false"}, {"valid", "invalid"}):
        return True  # "the run failed / it succeeded"
    neg = re.match(r"(they|it|he|she|the \w+)\s+(?:didn't|did not|don't|doesn't|isn't|aren't|wasn't|weren't|haven't|hasn't|has not|is not)\b", b)
    if neg and a.startswith(neg.group(1)):
        return True
    for x, y in ph.ANTONYMS:
        for p, q in ((x, y), (y, x)):
            if p in a and q in b and a.replace(p, "") == b.replace(q, ""):
                return True
    return False


_ELLIPSIS = ascii_re(r"^(?:and\s+)?(?P<label>[a-z][\w-]*(?: [a-z][\w-]*)?)\s+(?:to|into|→|->)\s+(?P<action>.+)$")


def elliptical_case(clause: str) -> tuple[str, str] | None:
    """("ideas", "Productboard") for "ideas to Productboard" after a case; None for "post to #ops
    on Slack", the case's second action (a verb is no label)."""
    m = _ELLIPSIS.match(clause)
    if m is None or _VERB_FIRST.match(m.group("label")):
        return None
    return m.group("label"), m.group("action")


_VERB_FIRST = ascii_re(r"(?:" + ph.ACTION_VERBS + r"|post|send|forward|email|message|ping|text|notify|alert|add|move|copy|log|save|write|push|sync|upload)s?\b")


def as_category(label: str, categories: list[str]) -> str:
    """"bugs" → "bug" when the classification's category is "bug"; "it is" / "so" / "yes" → the
    first category of a yes/no judgement ("decide whether it is spam. If it is, …")."""
    if categories and re.fullmatch(r"(?:it|they|this|that) (?:is|are|does|do|was|has|have)|(?:it|they)'re|it's|so|yes|true|是的?|有的?|是的话|符合", label.strip()):
        return categories[0]
    if len(categories) == 2 and re.fullmatch(r"(?:it|they|this|that) (?:isn't|is not|aren't|are not|doesn't|does not|don't|do not|wasn't|hasn't|has not|haven't)|not|no|false",
                                             label.strip()):
        return categories[1]  # "check whether it has an active subscription. If it doesn't, …": the judgement's no
    for cat in categories:
        if label in (cat, cat + "s", cat + "es") or label.rstrip("s") == cat.rstrip("s"):
            return cat
    return label


_ZH_BOTH = compile_filtered(r"(?P<cond>[^,，。；;]{2,30}?(?:并且|而且|且)[^,，。；;]{2,20}?)[,，]?\s*(?:就|则|那么|的话就?)")
_OPEN_BOUND = compile_filtered(r"^(?P<cond>[^,;]+?\b(?:or (?:more|less|above|below|higher|lower|greater|fewer|over|under)|and (?:up|above|over|below|under)"
                               # "if the amount is over $500 it needs their manager's approval": the number ends it
                               r"|(?:over|above|under|below|more than|less than|exceeds?|at least|at most)\s+[$€£¥]?\d[\d,.]*(?<![,.])\s*(?:k\b|usd\b|dollars?\b|%)?))"
                               r"\s+(?=(?:it|they|this|that|we|i)\s+(?:needs?|requires?|must|has|have|gets?|goes|go|should|will)\b"
                               r"|(?:needs?|requires?|must|has to|gets?)\b)")


def split_condition(text: str, lang: str) -> tuple[str, str]:
    """("the score is above 7", "email the hiring manager") from the text after "if"."""
    lead = ph.CMP_LEAD.search(text)
    if lead:  # "at least 4 stars: email them …"
        return text[: lead.end()].rstrip(":→-> ,"), text[lead.end():].strip()
    both = _ZH_BOTH.match(text.strip()) if lang == "zh" else None
    if both:  # "金额大于5000并且客户等级是VIP，就…": both conditions, then the action
        return both.group("cond"), text.strip()[both.end():]
    bounded = _OPEN_BOUND.match(text) if lang == "en" else None
    if bounded:  # "if it's $50 or more it needs approval first, …": the bound ends the condition
        return bounded.group("cond"), text[bounded.end():].strip(" ,")
    quoted = QUOTED_EQ.match(text.strip())
    if quoted:  # "“是否需要发票”选的是“是”，再给财务发封邮件": the condition ends with its quoted value
        return text.strip()[: quoted.end()], text.strip()[quoted.end():].lstrip(" ,，就则那么then")
    if lang == "zh" and (band := ZH_BAND_LEAD.match(text.strip())):  # "50到80分之间的加到Mailchimp": the band, then its action
        return band.group("band"), text.strip()[band.end():].lstrip(",就则")
    if lang == "zh":
        m = ph.THEN_SPLIT_ZH.search(text)
        chose = ph.CHOSE.match(text)
        if chose and m and m.start() >= chose.end() - 1:  # "公司规模选的是100人以上，就…": the choice is the condition
            return text[: m.start()], text[m.end():]
        cmp = ph.CMP_ZH_VALUE_FIRST.search(text) or ph.CMP_ZH.search(text)
        if cmp and (not m or m.start() > cmp.end() + 1):  # "评分大于7的存进…": the action follows the comparison
            end = cmp.end() + (1 if text[cmp.end(): cmp.end() + 1] == "的" else 0)
            return text[:end], text[end:].lstrip(",就则")
        return (text[: m.start()], text[m.end():]) if m else (text, "")
    colon = re.match(r"^(?P<c>[^:]{1,60}?)\s*:\s+(?P<a>.+)$", text)
    if colon and (ph.OR_MORE.search(colon.group("c")) or ph.CMP_EN.search(colon.group("c"))):
        return colon.group("c").strip(), colon.group("a").strip()  # "Scores of 7 or above: move them to …"
    comma = re.search(r",(?!\d{3})", text)
    if comma:
        return text[: comma.start()].strip(), text[comma.end():].strip()
    cmp = ph.CMP_EN.search(text)
    if cmp and not ph.IF.search(text) and re.search(r"\b(?:with|whose|where|having)\b", text[: cmp.start("op")]):
        return text[: cmp.end()].strip(), text[cmp.end():].strip()
    more = ph.OR_MORE.search(text)  # "8 or above add it to HubSpot": the comparison ends at "above"
    start = more.end() if more else cmp.end() if cmp else 0
    m = re.search(r"\b(?:then\s+|also\s+)?(?:" + ph.ACTION_VERBS + r")\b", text[start:]) or (
        _NEEDS.search(text[start:]) or _PASSIVE.search(text[start:]) if start else None)  # "claims over $1,000 first need a manager's approval"
    if m:
        action = text[start + m.start():].strip()
        if (passive := _PASSIVE.match(action)) is not None:  # "gets added to the sheet": add it to the sheet
            action = f"{_ACTIVE[passive.group('done')]} it{action[passive.end():]}"
        return text[: start + m.start()].strip(), action
    return text, ""


# "anything $1,000 or less just gets posted to #finance": what is done to those items
_ACTIVE = {"posted": "post", "sent": "send", "emailed": "email", "logged": "log", "saved": "save", "added": "add", "forwarded": "forward",
           "routed": "route", "appended": "append", "filed": "file", "stored": "store", "written": "write", "recorded": "record"}
_PASSIVE = compile_filtered(r"\b(?:just\s+|only\s+|simply\s+)?(?:gets?|is|are|should be|will be)\s+(?:just\s+)?(?P<done>" + "|".join(_ACTIVE) + r")\b")
_NEEDS = compile_filtered(r"\b(?:first\s+)?(?:needs?|requires?|must (?:get|have|be)|should (?:get|be))\b")


_QUANTITIES = frozenset(ph.FIELD_NAMES.values())
_MONEY = compile_filtered(r"[$€£¥]\s*\d|\d\s*(?:usd|eur|gbp|dollars?|euros?|元|块)\b")


def comparison(cond: str, lang: str) -> tuple[Comparison, str] | None:
    """A real comparison in the condition text, with a readable label (``score > 7``). A sum of money
    compared with what names the items ("refunds of $50 or less", "invoices over €5,000") tests their
    amount, the field the other side of the threshold names too."""
    if _DOWN.match(cond.strip()):  # "if it's down", "挂了": the check's request did not answer 200
        return Comparison(subject="inputs", field="status_code", op="ne", value=200), "status_code ne 200"
    found = _comparison(cond, lang)
    pair = _TOP_PAIR.search(cond) if lang == "en" and (found is None or (found[0].op == "eq" and isinstance(found[0].value, (int, float)))) else None
    if pair:  # "candidates scoring 4 or 5", "a score of 9 or 10": the top of the scale, or its bottom
        low, high = int(pair.group("n")), int(pair.group("m"))
        if high == low + 1 and (high in (5, 10, 100) or low in (0, 1)):
            op, value = ("ge", low) if high in (5, 10, 100) else ("le", high)
            named = found[0].field if found is not None and found[0].field != "value" else "score"
            found = Comparison(subject="inputs", field=named, op=op, value=value), f"{named} {op} {value}"
    worded = found is not None and found[0].op == "eq" and isinstance(found[0].value, str)  # "the score is low"
    aside = _ASIDE.search(cond) if found is None or worded else None
    # ("value below -5": a bare "below -5" reads its minus as a dash)
    tested = _comparison(aside.group(1), lang) or _comparison("value " + aside.group(1), lang) if aside is not None else None
    if tested is not None:  # "if it's negative (below 0)", "if the score is low (< 7)": the bracket says how it is tested
        named = found[0].field if found is not None and found[0].field in _QUANTITIES else None
        found = (replace(tested[0], field=named), re.sub(r"^\S+", named, tested[1])) if named and tested[0].field == "value" else tested
    if found is None or found[0].field in _QUANTITIES or not _MONEY.search(cond):
        return found
    cmp, label = found
    return replace(cmp, field="amount"), re.sub(r"^\S+", "amount", label) if label.startswith(cmp.field + " ") else label


_TOP_PAIR = compile_filtered(r"\b(?:scor(?:e|es|ed|ing)|rat(?:e|es|ed|ing)|nps|gives? (?:us |it )?an?|of|is|are|was)\s+(?:an?\s+|of\s+)?(?P<n>\d{1,3})\s+or\s+(?P<m>\d{1,3})\b(?!\s*(?:days?|hours?|minutes?|weeks?|items?|times?|%))")
_IDLE_FOR = compile_filtered(r"\b(?:no|not had any|without any|without)\s+(?P<what>activity|updates?|response|replies|reply|reviews?|movement|progress|login|contact)\s+"
                             r"(?:for|in)\s+(?:(?P<op>more than|over|at least)\s+)?(?P<n>\d+)\s+(?P<u>days?|hours?|weeks?)\b"
                             r"|\b(?:has not|hasn't|have not|haven't) been (?P<what2>touched|updated) (?:for|in)\s+(?:(?P<op2>more than|over|at least)\s+)?(?P<n2>\d+)\s+(?P<u2>days?|hours?|weeks?)\b")
_DOWN = compile_filtered(r"^(?:if\s+)?(?:it'?s|it is|it goes|(?:the|our)\s+(?:site|website|api|service|endpoint|page|server|app)\s+(?:is|goes)|"
                         r"(?:网站|官网|接口|服务|页面|服务器|网页))?\s*(?:down|offline|unreachable|not (?:responding|reachable|up)|"
                         r"挂了|挂掉了?|打不开|访问不了|不能访问|无法访问|宕机了?|不可用|返回(?:了)?(?:错误|异常|报错|失败)|报错了?|请求失败|(?:returns?|returned) an? error)(?:的话)?$")
# a bracket that compares ("(below 0)", "（低于3分）"), not a scale ("（0到10）", "(1-5)")
_ASIDE = compile_filtered(r"[(（]\s*((?:below|above|over|under|less than|more than|greater than|at least|at most|低于|高于|超过|小于|大于|不足|不到|[<>]=?|[≤≥])"
                          r"[^()（）]{1,30}?)\s*[)）]")
_ITEMS_FIRST = compile_filtered(r"^(?:the\s+|all\s+|any\s+)?([a-z]{3,}s)\s+(?:of|over|under|above|below|worth|for|with|at|more|less)\b")


def their_items(label: str, action: str, lang: str) -> str:
    """A case's action with its first "them" / "it" naming the items its label names: in "Refunds of
    $50 or less: just issue them in Stripe", "them" are the refunds (which is what asks Stripe to refund)."""
    items = _ITEMS_FIRST.match(label.strip()) if lang == "en" and action else None
    return re.sub(r"\b(?:them|it)\b", "the " + items.group(1), action, count=1) if items else action


ZH_BAND_LEAD = compile_filtered(r"(?P<band>(?<![\d,])\d[\d,]*\s*(?:元|件|分|个|条|单)?\s*(?:到|至|-|~)\s*\d[\d,]*\s*(?:元|件|分|个|条|单)?\s*(?:之间|以内)?)的")
# "如果“是否需要发票”选的是“是”", "if 'Company size' is 'Enterprise'": a named field equal to a named value
QUOTED_EQ = compile_filtered(r"[“\"'「](?P<f>[^”\"'」]{1,24})[”\"'」]\s*(?:字段)?\s*(?:选的是|选了|选择了|填的是|选|是|为|等于|==?|is|equals)\s*"
                              r"[“\"'「](?P<v>[^”\"'」]{1,24})[”\"'」]")


def _comparison(cond: str, lang: str) -> tuple[Comparison, str] | None:
    quoted = QUOTED_EQ.search(cond)
    if quoted:
        named, value = quoted.group("f").strip(), quoted.group("v").strip()
        field = field_name(named) if named.isascii() else named
        # “1”: a number, as unquoted ("if the severity is 1")
        return Comparison(subject="inputs", field=field or named, op="eq", value=int(value) if value.isdecimal() and value.isascii() else value), \
            f"{field or named} eq {value}"
    cond = re.sub(r"零下\s*(?=\d)", "-", cond)  # "高于零下15度" → "高于-15度"
    ranged = re.fullmatch(r"[a-z ]{0,24}?\(\s*(\d+(?:\.\d+)?\s*(?:-|–|to|~)\s*\d+(?:\.\d+)?)\s*\)", cond.strip())
    if ranged:
        cond = ranged.group(1)  # "promoters (9-10)": the range names the case
    vf = ph.CMP_ZH_VALUE_FIRST.search(cond) if lang == "zh" or not cond.isascii() else None
    if vf:
        op = "le" if "下" in vf.group("op") or "内" in vf.group("op") else "ge"
        v = float(vf.group("val")) * (10000 if vf.group("unit") == "万" else 1000 if vf.group("unit") == "千" else 1)
        value = int(v) if v.is_integer() else v
        field = field_name(cond[: vf.start()]) or "value"
        if field == "value" and "星" in vf.group(0):
            field = "rating"  # "3星及以下的差评": the review's star rating
        return Comparison(subject="inputs", field=field, op=op, value=value), f"value {op} {value}"
    band = re.match(r"^\s*(?:(?:score|rating|nps)\s+)?(\d+)\s*[-–]\s*(\d+)\b", cond)
    if band:  # "Score 9-10 (promoters):", "0-6 (detractors):": a band of a score
        low, high = int(band.group(1)), int(band.group(2))
        op, value = ("le", high) if low == 0 else ("ge", low)
        return Comparison(subject="inputs", field="score", op=op, value=value), f"score {op} {value}"
    money = re.match(r"^\s*(?:between\s+)?[$€£¥]?\s*(\d[\d,]*)\s*(?:[a-z]+\s+)?(?:to|-|–|and)\s*[$€£¥]?\s*(\d[\d,]*)\s*(?:[a-z]+)?\s*$"
                     r"|^\s*(\d[\d,]*)\s*(?:元|件|分|个|条|单)?\s*(?:到|至|-|~)\s*(\d[\d,]*)\s*(?:元|件|分|个|条|单)?\s*(?:之间|以内)?(?:的)?\s*$", cond)
    if money:  # "$50 to $300", "20 to 100", "5000到10000之间": a band; which bound is tested depends on the
        # order of the cases around it (cases run in order), so the branch settles it (see band_bound)
        low, high = (int(g.replace(",", "")) for g in ((money.group(1), money.group(2)) if money.group(1) else (money.group(3), money.group(4))))
        return Comparison(subject="inputs", field="value", op="ge", value=low), f"value between {low} {high}"
    lead = ph.CMP_LEAD.search(cond) or ph.CMP_LEAD.search(cond.strip() + ":")  # a case label arrives without its colon
    if lead:  # "at least 4 stars:", "more than $1,000 →"
        words = lead.group(0)
        op = next(o for k, o in ph.OPS.items() if words.startswith(k)) if any(words.startswith(k) for k in ph.OPS) else "ge"
        num = re.search(r"\d[\d,.]*", words).group(0).replace(",", "").rstrip(".")
        unit = re.search(r"\d[\d,.]*\s*([a-z]+)", words)
        v = float(num)
        value = int(v) if v.is_integer() else v
        field = ph.FIELD_NAMES.get(unit.group(1), unit.group(1)) if unit else "value"
        return Comparison(subject="inputs", field=field, op=op, value=value), f"{field} {op} {value}"
    more = ph.OR_MORE.search(cond)
    if more:
        op = "ge" if (more.group("dir") or "up") in ("more", "higher", "above", "greater", "over", "up") else "le"
        field = field_name(cond[: more.start()].split(" is ")[0].split(" are ")[0]) or "value"
        v = float((more.group("val") or more.group("val2")).replace(",", ""))  # "$1,000 or more"
        value = int(v) if v.is_integer() else v
        return Comparison(subject="inputs", field=field, op=op, value=value), f"{field} {op} {value}"
    if ph.EXISTS.search(cond):  # "if they're already a contact" after a lookup: the lookup found something
        return Comparison(subject="inputs", field="results", op="truthy"), "found"
    state = ph.state_value(cond)
    if state is not None:  # "labelled bug", "status changes to Done", "优先级被改成 Highest": the value the event set
        field = field_name(state[0]) or state[0]
        return Comparison(subject="inputs", field=field, op="eq", value=state[1]), f"{field} eq {state[1]}"
    st = ph.SETS_TO.search(cond)
    if st:
        return Comparison(subject="inputs", field=st.group("field"), op="eq", value=st.group("val")), f"{st.group('field')} eq {st.group('val')}"
    chose = ph.CHOSE.search(cond) if lang == "zh" else None
    if chose and not re.fullmatch(r"(?:他|她|它|他们|用户|客户|家长|学员|对方)", chose.group("field")):
        field, value = chose.group("field"), chose.group("val").strip()
        return Comparison(subject="inputs", field=field, op="eq", value=value), f"{field} eq {value}"
    nr = ph.NOT_RETURN.search(cond)
    if nr:
        if nr.group("val3"):  # "if it returns anything other than 200": the response's status code
            code = int(nr.group("val3"))
            return Comparison(subject="inputs", field="status_code", op="ne", value=code), f"status_code ne {code}"
        value = (nr.group("val") or nr.group("val2")).strip()
        return Comparison(subject="inputs", field="status", op="ne", value=value), f"status ne {value}"
    idle = _IDLE_FOR.search(cond) if lang == "en" else None
    if idle:  # "if a PR has had no activity for more than 3 days": the time since the last one
        said_what, said_op = idle.group("what") or idle.group("what2"), idle.group("op") or idle.group("op2")
        n, unit = idle.group("n") or idle.group("n2"), (idle.group("u") or idle.group("u2")).rstrip("s")
        what = {"updates": "update", "updated": "update", "replies": "reply", "reviews": "review", "touched": "activity"}.get(said_what, said_what)
        field, op = f"{unit}s_since_{what}", "ge" if said_op == "at least" else "gt"
        return Comparison(subject="inputs", field=field, op=op, value=int(n)), f"{field} {op} {n}"
    said = re.search(r"(?<![a-z0-9_])([a-z_][a-z0-9_]*)\s*字段", cond)  # "status 字段等于 SUCCESS": the field is status
    said_field = said.group(1) if said else None
    cond = cond[: said.start()] + said_field + cond[said.end():] if said else cond
    bare = re.match(r"^\s*(?:if\s+)?(?P<op>fewer than|less than|more than|greater than|over|under|above|below|at least|at most)\s+[$€£¥]?(?P<n>\d[\d,.]*)"
                    r"\s*(?P<unit>[a-z]+)?(?:\s+[a-z]+){0,3}\s*$", cond) if lang == "en" else None
    if bare:  # "fewer than 10 units in stock": no field named before the threshold
        v = float(bare.group("n").replace(",", "").rstrip("."))
        field = ph.FIELD_NAMES.get(bare.group("unit") or "", bare.group("unit") or "value")
        op = ph.OPS[bare.group("op")]
        return Comparison(subject="inputs", field=field, op=op, value=int(v) if v.is_integer() else v), f"{field} {op} {v:g}"
    # the language decides the grammar: "above 8°C" is English although "°" is not ASCII
    rx = ph.CMP_ZH if lang == "zh" or not re.search(r"[a-z]{2}", cond) else ph.CMP_EN
    m = rx.search(cond)
    if not m:
        return None
    field_words, op_word, raw = m.group("field").strip(), m.group("op"), m.group("val")
    op = ph.OPS.get(op_word)
    number = re.match(r"^([$€£¥])?(-?\d+(?:[.,]\d+)?)\s*(k\b|万|million\b|mm?\b|bn\b|billion\b)?", raw.strip())
    value: float | str
    if number:
        unit = number.group(3) or ""
        # "$1M", "2 million": a money amount in millions (a bare "5m" is more likely minutes: no currency, no scale)
        scale = {"k": 1000, "万": 10000, "million": 10**6, "bn": 10**9, "billion": 10**9}.get(unit, 10**6 if unit in ("m", "mm") and number.group(1) else 1)
        value = float(number.group(2).replace(",", "")) * scale
        value = int(value) if float(value).is_integer() else value
    else:
        value = raw.strip("'\" ")
        if op in ("gt", "lt", "ge", "le"):
            return None
    if op is None:
        return None
    if op == "eq" and isinstance(value, str) and lang == "en" and value in ("a", "an", "the", "about", "not", "from"):
        return None
    field = field_name(field_words) or "value"
    if field == "value" and op in ("eq", "ne") and isinstance(value, str) and lang == "en":
        return None  # "if it is negative": a judgement for an AI step, not a field of the data
    unit = re.match(r"\s*([a-z]{3,20})\b", cond[m.end():]) if lang == "en" else None
    if field in ("value", "has", "have", "had") and unit and unit.group(1) not in ("and", "or", "then", "the", "to", "on", "in", "send", "email"):
        field = unit.group(1)  # "has more than 50 employees" → employees
    if lang == "zh" and op in ("eq", "ne") and not any(field_words.endswith(k) for k in ph.FIELD_NAMES) \
            and not (said_field and field_words == said_field):
        return None  # "判断是咨询" is not a comparison; "状态为已付款" and "status 字段等于 SUCCESS" are
    return Comparison(subject="inputs", field=field, op=op, value=value), f"{field} {op} {value}"


_INCLUSIVE = compile_filtered(r"及以[上下]|[大小高低]于(?:或)?等于|不[小大]于|至少|最多|含|以[上下]\(含|or (?:more|less|above|below|higher|lower|fewer|over|under)|at (?:least|most)|>=|<=|≥|≤|不(?:少|低|多|高|超过|足)")


def one_side_inclusive(cases: list) -> list:
    """"7分以上的…，7分及以下的…": when one side of a threshold says it includes the number,
    the other side excludes it (7 is not both), so 以上 there means > 7."""
    if len(cases) != 2 or any(c[1] is None for c in cases):
        return cases
    (la, a, sa, ca), (lb, b, sb, cb) = cases
    if a.value != b.value or {a.op, b.op} not in ({"ge", "le"}, {"gt", "le"}, {"ge", "lt"}):
        return cases
    strict = {"ge": "gt", "le": "lt"}
    a_inc, b_inc = bool(_INCLUSIVE.search(ca)), bool(_INCLUSIVE.search(cb))
    if b_inc and not a_inc and a.op in strict:
        a = replace(a, op=strict[a.op])
        la = la.replace(" ge ", " gt ").replace(" le ", " lt ")
    elif a_inc and not b_inc and b.op in strict:
        b = replace(b, op=strict[b.op])
        lb = lb.replace(" ge ", " gt ").replace(" le ", " lt ")
    return [(la, a, sa, ca), (lb, b, sb, cb)]


def band_bound(cases: list) -> list:
    """A band case ("$50 to $300") tests its upper bound when a case before it took the values
    below (ascending lists: "Under $50 / $50 to $300 / Over $300"), else its lower bound
    ("more than 100 / 20 to 100 / under 20")."""
    out = []
    for k, case in enumerate(cases):
        label, cmp = case[0], case[1]
        band = re.fullmatch(r"value between (\S+) (\S+)", label or "")
        if band and cmp is not None and any(c[1] is not None and c[1].op in ("lt", "le") for c in cases[:k]):
            high = int(band.group(2))
            case = (f"value le {high}", Comparison(subject=cmp.subject, field=cmp.field, op="le", value=high), *case[2:])
        elif band and cmp is not None:
            case = (f"value ge {band.group(1)}", cmp, *case[2:])
        out.append(case)
    return out


def field_name(words: str) -> str | None:
    if re.match(r"(?:(?:if|when|whether|once)\s+)?(?:it|this|that|they)\s+(?:scores?|is scored|gets? a score|rates?|is rated)$", words.strip()):
        return "score"  # "if it scores under 70": the score an AI step gave it
    if re.match(r"(?:(?:if|when|whether|once)\s+)?(?:it|this|that|they|those|these|ones|the ones)\b", words.strip()):
        return "value"  # "if it drops below 1.05": the value the previous step read
    words = re.sub(r"^(?:the|its|their|our|his|her|if|it|this)\s+", "", words.strip())
    words = re.sub(r"\s+(?:of|with|at|in|for|from)$", "", words)  # "scores of 7 or above" → scores
    words = re.sub(r"(?<=\w)\s+(?:drops?|dropped|falls?|fell|goes|went|gets|got|rises?|rose|climbs?|dips?|stays?)$", "", words)  # "qty drops below 10"
    for key in sorted(ph.FIELD_NAMES, key=len, reverse=True):
        if words == key or words.endswith((" " + key, " " + key + "s") if key.isascii() else key) or words == key + "s":
            # a word's end is not a field ("discount" is not a count)
            return ph.FIELD_NAMES[key]
    last = re.findall(r"[a-z_]+", words)
    if last and last[-1] not in ("it", "this", "that", "they", "is", "there", "which"):
        return last[-1]
    return "value" if words and not words.isascii() else None


def strip_label(text: str, lang: str) -> str:
    quoted = re.search(r"(?<!\w)'([^']{1,30})'(?!\w)|\"([^\"]{1,30})\"", text)  # not the "'s" of "it's 'warning'"
    if quoted and lang == "en" and not re.search(r"[=<>]", text):  # "if it has the label 'bug'" → bug
        return (quoted.group(1) or quoted.group(2)).strip()
    label = _JUDGEMENT_STRIP.sub("", text.strip()).strip(" ,.:")
    if len(label) > 1 and label[0] == label[-1] and label[0] in "'\"":
        label = label[1:-1]
    if lang == "zh":
        label = re.sub(r"^(?:让|由)?(?:ai|大模型|gpt|模型)(?:判断|认为|觉得|识别|检测|发现)(?:出)?", "", label)  # "AI判断用户要投诉" → "用户要投诉"
        # "员工说想离职" → "离职", "用户提到要退款" → "退款": what the person asks for, not who says it
        label = re.sub(r"^(?:用户|员工|客户|买家|顾客|对方|学员|家长|患者|候选人|他|她|他们)(?:说|表示|提到|提出|问)(?:了)?(?:想要|想|要)?(?=[\u4e00-\u9fff]{2})", "", label)
        label = re.sub(r"^(?:选择?了?|是|属于|类型为|为)", "", label)  # "选Python的" → "python"
        label = re.sub(r"^(?:标签|类型|类别|状态|级别|等级|优先级|来源|渠道)(?:是|为|=)\s*", "", label)  # "标签是bug的" → "bug"
        label = re.sub(r"(?<=[a-z0-9])(?:只|仅|就|则|也)$", "", label)  # "P2只写入MySQL" → "p2"
    if lang == "en":
        # "if it's in production" → production; "just the urgent emails (get forwarded)" → urgent
        label = re.sub(r"^(?:(?:only|just)\s+)?(?:(?:in|on|at|from|for|about|a|an|the)\s+)?", "", label)
    if lang == "en" and len(label.split()) > 2:  # "the ai says it's a complaint" → "complaint"
        label = re.sub(r"^.*?\b(?:is|are|'s|was|were|be|as|says?|thinks?|mentions?|finds?|contains?|detects?|spots?)\s+(?:an?\s+|the\s+|about\s+|any\s+)?",
                       "", label) or label  # "it finds any security issues" → "security issues"
    label = re.sub(r"\s+(?:tickets?|reports?|requests?|messages?|emails?|ones?|items?|leads?|orders?|issues?|reviews?|alerts?|posts?|"
                   r"candidates?|applications?|applicants?|submissions?|inquir(?:y|ies)|questions?|deploys?|deployments?|events?|"
                   r"errors?|incidents?|comments?|feedback|customers?|users?|claims?|expenses?|invoices?|documents?|files?|"
                   r"transactions?|payments?|bugs? reports?|cases?|conversations?|chats?|calls?|notifications?)$", "", label)
    label = re.sub(r"(?:类|的)?(?:工单|消息|邮件|订单|请求|问题|评论|评价|客户)?$", "", label) if lang == "zh" else label
    return label[:40] or text[:40]


def batch_size(clause: str) -> int | None:
    m = ph.BATCH.search(clause)
    if not m:
        return None
    n = next((g for g in m.groups() if g), None)
    return int(n) if n else None


def wait_seconds(m: re.Match[str]) -> float | None:
    n = m.group("n") or m.group("n2") or m.group("n3") or m.group("n4") or m.group("n5") or m.group("n6")
    unit = m.group("unit") or m.group("unit2") or m.group("unit3") or m.group("unit4") or m.group("unit5") or m.group("unit6")
    if not n or not unit:
        return None
    return seconds_of(n, unit)


def seconds_of(n: str, unit: str) -> float:
    """"2" "hours", "an" "hour", "两" "天" in seconds (an unknown unit counts as days)."""
    count = float(n) if n.isdigit() else _NUM_WORDS.get(n) or ent._zh_int(n) or 1
    return count * _UNIT_S.get(unit, 86400)
