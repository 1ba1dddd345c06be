"""Clause segmentation and the trigger clause, for the offline planner (pure functions).

``split_clauses`` cuts a normalised request into the clauses a user would read as separate
steps: sentences, sequencing words (then / 然后 / 再 / 最后), ", <verb>" / "and <verb>" in
English, "，<verb>" in Chinese, and before if / otherwise / 否则 so each side of a condition
is its own clause. ``find_trigger`` returns the trigger and the request without its clause.
"""

from __future__ import annotations

import re

from pilot.generation.prefilter import compile_filtered
from pilot.generation import conditions as conds
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.around import AroundName
from pilot.generation.blueprint import Schedule
from pilot.generation.text import AB, ascii_re
from pilot.workflows.model import (
    AppEventTrigger,
    ChatTrigger,
    FormTrigger,
    ManualTrigger,
    ScheduleTrigger,
    Trigger,
    WebhookTrigger,
)

_COND_SPLIT = ascii_re(r"\s+[—–-]{1,2}\s+(?=(?:just|only|instead)\b)"
                           # "Don't notify anyone, just log the issue in a Google Sheet": what is done instead
                           r"|(?:(?<=anyone)|(?<=anything)|(?<=anybody)|(?<=anywhere)|(?<=nobody)|(?<=notifications))[,;]\s*"
                           r"(?=just\s+(?:log|save|store|add|post|send|email|put|write|create|record|append|keep|reply|forward)\b)|[,;]\s*(?=(?:and\s+|but\s+)?(?:otherwise|else|if not|or else)\b)|\s+(?=otherwise\b)|\s+and\s+(?=if\b)"
                           r"|[,;]\s*(?=(?:and\s+|but\s+)?(?:if|only if|in case)\b)"
                           # "…from 1 to 5, and for any review that scores 2 or lower, create …": the items a threshold picks
                           r"|[,;]\s*(?=(?:and\s+)?for (?:any|every|each|all|the) [\w-]+s? (?:that|which|who|whose score) (?:scores?|scored|is rated|are rated|rates?)\b)"
                           r"|(?<=[\u4e00-\u9fff])[,;]\s*(?=分别(?:转发|发|推送|通知|同步|写|存|记|交|转))"  # "…前端、后端还是产品，分别转发给…": per category
                           r"|[,;]?\s*(?=否则|不然|不是的话|不是就|否的话|反之|其他情况|其余情况|其余的|其他的|其它的|剩下的)|[,;:]\s*(?=如果|若|假如|要是)"
                           # "检查官网能不能打开，挂了就发短信，正常就什么都不做": a short condition, then 就
                           r"|[,;]\s*(?=(?:挂了|挂掉了?|打不开|宕机了?|正常|不正常|成功|失败|报错|出错|通过|没通过|有|没有)(?:的话)?就)"
                           # "用AI筛选简历，合适的话在飞书上通知HR": what is judged, then a short "X的话" condition
                           r"|(?<=[\u4e00-\u9fff])[,;]\s*(?=(?:不)?[\u4e00-\u9fff]{1,3}的话(?![题术语]))"
                           # "判断是好评还是差评，差评就在钉钉上通知…，好评不用处理": the choice, then a case per answer
                           r"|(?<=[\u4e00-\u9fff])[,;]\s*(?=(?!然后|之后|以后|最后|接着|随后|再|并|马上|立刻|直接)[\u4e00-\u9fff]{2,3}(?:的话)?(?:就(?!是|不用|不需要|不必|别)|不用|不需要|不必|无需))"
                           # "看一下比特币价格，高于7万美元就发提醒，没到就算了": a threshold, then 就
                           r"|[,;]\s*(?=(?:高于|低于|超过|大于|小于|不足|不到|少于|多于)[^,;，。；]{1,12}?(?:的话)?就)")


def split_clauses(text: str, lang: str) -> list[str]:
    """The request's clauses in order (empty ones dropped)."""
    out: list[str] = []
    text = _DECIDED_BARE.sub(r"\g<0>,", text)  # "if I approve it gets sent from Gmail": where the condition ends
    text = _DASHED_OUTCOME.sub("; ", text)  # "needs the director to approve it first — approved means …": the outcomes
    sentences = _steps_of(text)
    if lang == "zh":  # "按客户来源分一下：来源是官网的，…；来源是展会的，…": the head, then one case per sentence
        sentences = [s for sentence in sentences for s in (
            _steps_of(_CASES_AFTER_COLON.sub("。", sentence)) if _CASES_AFTER_COLON.search(sentence) and not _is_switch_head(sentence)
            else [sentence])]
    for sentence in sentences:
        for part in ph.SEQUENCE.split(sentence):
            for piece in _COND_SPLIT.split(part or ""):
                subs = [piece or ""]
                if _is_switch_head(piece or ""):
                    # "route by area: a → x, b → y, everything else → z": one clause per case
                    head, _, tail = _at_colon(piece or "")
                    subs = [head, *re.split(r"[,;]\s*(?:and\s+)?(?![^(]*\))", tail)]
                    # "退款的转给财务，在企业微信里发给他们": a piece that starts no case goes on with the one before
                    subs = [sub if k < 2 or not _GOES_ON.match(sub.strip()) else CONTINUES + sub.strip() for k, sub in enumerate(subs)]
                for sub in subs:
                    splitter = ph.ZH_SPLIT if lang == "zh" else _IT_DOES if _IT_NARRATES.match(sub.strip()) else ph.EN_SPLIT
                    # "3) after that post …": when it happens, not part of the action ("that post" is no noun here)
                    pieces = [_AFTER_THAT.sub("", c.strip(" ,;:、")) for c in _split_list(sub, splitter)]
                    # "&" marks a clause that continues the previous one's sentence ("…, and posts in #x")
                    out.extend(c if k == 0 else CONTINUES + c for k, c in enumerate(pieces) if c)
    return [c for c in out if c and re.search(r"\w", c)]


CONTINUES = "&"
# "it reads the article, drafts a LinkedIn post from it, and waits for my approval": the workflow's
# steps told as what "it" does, each verb with its -s
_IT_NARRATES = ascii_re(r"^(?:then\s+|and\s+)?it\s+(?:" + ph.ACTION_VERBS + r")(?:s|es)\b")
_IT_DOES = ascii_re(r"(?:,\s*(?:and\s+)?|\s+and\s+)(?=(?:then\s+)?(?:" + ph.ACTION_VERBS + r"|wait)(?:s|es)\b)")
_AFTER_THAT = ascii_re(r"^(?:and\s+)?(?:after that|after this|afterwards)\b[,\s]*")
# "needs the director to approve it first — approved means …": the outcomes, each a clause of its own
_DASHED_OUTCOME = ascii_re(r"\s+[—–-]{1,2}\s+(?=(?:if |once |when )?(?:approved|rejected|declined|denied)\b)")
# A person's decision as a condition with no comma after it ("if I approve it gets sent …", "once the
# manager approves send it"): the condition is the decision, and the action starts after it.
_DECIDED_BARE = ascii_re(r"\b(?:if|once|when) (?:i|we|they|he|she|the \w+|my \w+|our \w+) (?:approves?|okays?|oks?|accepts?|signs? off)"
                         r"(?: (?:on )?(?:it|them|this|that)(?! (?:gets?|is|are|will|should|goes|go)\b))?(?= (?!then\b)[a-z])")
_CASES_AFTER_COLON = compile_filtered(r"[:：](?=\s*(?:[\u4e00-\u9fff]{1,6}(?:是|为)|选(?:了|的是)?)[^,，。；;:：]{1,10}的)")
_GOES_ON = compile_filtered(r"(?:在|并|同时|再|然后|还要|顺便|抄送|并且|也)(?![\u4e00-\u9fff]{0,4}的)|(?:and|also|then|plus)\b")
_BULLET = compile_filtered(r"^\s*[-*•·]\s+")


def plain(clause: str) -> str:
    """A clause without its continuation mark."""
    return clause.removeprefix(CONTINUES)


# (not "(< 7) create …" or "(below 7) …": a bracket that compares, closed after its number)
_NUMBERED = compile_filtered(r"(?:^|\s)(?:(?<![<>=≤≥(]\s)(?<!below\s)(?<!above\s)(?<!under\s)(?<!over\s)(?<!than\s)\d{1,2}[.)]\s+|\d{1,2}、|[①-⑩]|第[一二三四五六七八九十]+步[:,]?)")
_ARROW = compile_filtered(r"\s*(?:->|→|=>)\s*")
_PLUS = compile_filtered(r"(?<!question)(?<!questions)\s+\+\s+(?=(?:" + ph.ACTION_VERBS + r")\b)")  # "fetch + summarise + post", not "url + description" or "question + answer"
# "Depending on their department — Engineering: invite …; Sales: …": a case list starts here
_CASE_START = compile_filtered(r"\s+[—–-]{1,2}\s+(?=['\"]?[a-z][\w'\" /-]{0,24}\s*(?::|→|->)\s)")
# an English event hint as a word of its own, or with an ending ("signup", "signed up", "orders")
_EVENT_WORD = AroundName(behind=AB, after=r"(?:s|es|ed|ing|up|ups)?(?![a-z])")


_LIST_MARK = compile_filtered(r"(?:^|(?<=[\s:：]))(\d{1,2})[.)]\s+")


def _list_on_lines(text: str) -> str:
    """"要一个流程：1. … 2. … 3. …" on one line: each numbered step on a line of its own (so " 3." is
    read as a step's number, not as the end of a sentence ending in 3); only when the numbers run 1, 2, 3…"""
    marks = list(_LIST_MARK.finditer(text))
    numbers = [int(m.group(1)) for m in marks]
    if len(marks) < 2 or numbers != list(range(numbers[0], numbers[0] + len(numbers))) or "\n" in text:
        return text
    for m in reversed(marks):
        text = text[: m.start()] + "\n" + text[m.start():]
    return text


def _steps_of(text: str) -> list[str]:
    """Sentences, numbered steps ("1) … 2) …"), "A → B" when it is the only arrow (a trigger and
    what follows, not a switch case "label → action"), and "x + y + z" action lists."""
    out: list[str] = []
    for sentence in ph.SENTENCE.split(_list_on_lines(text)):
        for step in (p for n in _NUMBERED.split(sentence) for p in _CASE_START.split(n)):
            arrows = _ARROW.findall(step)
            left = _ARROW.split(step, maxsplit=1)[0] if arrows else ""
            trigger_like = ph.FORM.search(left) or re.match(r"(?:new|when|every|on)\b", left)
            # "more than 100 errors -> page the on-call": a threshold and its action (a case), not a pipeline
            threshold = len(left.split()) <= 6 and conds.comparison(left, "en") is not None
            if len(arrows) == 1 and (trigger_like or (len(left.split()) > 3 and not threshold)):
                out.extend(_ARROW.split(step, maxsplit=1))
            else:
                out.append(step)
    out = [_BULLET.sub("", s) for s in out]  # "- reservation: add to …": the bullet is layout
    # "create a deal in Pipedrive + notify sales in Slack": the next action of the same sentence (so of the same case)
    return [_PLUS.sub(", and ", s) for s in out if s and s.strip()]


def _at_colon(piece: str) -> tuple[str, str, str]:
    """``piece`` around its first colon ("——" counts as one), never the one of a URL ("(https://…)")."""
    parts = re.split(r"(:)(?!//)", piece.replace("——", ":"), maxsplit=1)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], "", "")


def _is_switch_head(piece: str) -> bool:
    """"route it by area: a → x, b → y" — a colon introducing a list of cases (not "Support chatbot: …")."""
    head, _, tail = _at_colon(piece)
    if ph.ELSE_LABEL.match(head.strip()):
        return False  # "Everything else (medium, low, no priority): add it to …": the last case, not a new switch
    listed = len(re.findall(r",", tail)) >= 1 or bool(_ARROW.search(tail))
    # "按级别分流：P0…；P1…": the cases are separate sentences, so the first one stands alone here
    return bool(tail) and len(head) < 80 and bool(ph.SWITCH_HEAD.search(head) if not listed else
                                                  ph.SWITCH_HEAD.search(head) or ph.SWITCH_ON.search(head))


def _split_list(text: str, splitter: re.Pattern[str]) -> list[str]:
    parts = splitter.split(text)
    # A switch list "billing tickets go to x, bug reports go to y" splits on its commas too.
    if len(parts) == 1 and text.count(",") >= 1 and len(ph.GOES.findall(text)) >= 2:
        parts = re.split(r",\s*(?:and\s+)?|;\s*", text)
    return parts


# ---------------------------------------------------------------- triggers

# …and the next numbered step ("1) someone signs up through the form 2) add them to …")
_CLAUSE_END = compile_filtered(r"(?<!\d),|,(?!\d{3}\b)|[;:。→]|->|=>|\.(?=\s|$)|(?<=时)(?!候)|(?<=(?<!然)后)(?![台端面续])|(?<=的时候)|(?=\s+\d{1,2}[.)]\s)|(?=\s*[②-⑩])")


def _clause_at(text: str, start: int) -> tuple[int, int]:
    """The clause around a trigger match: from its sentence start to the next comma."""
    begin = max(text.rfind(".", 0, start), text.rfind("。", 0, start)) + 1
    m = _CLAUSE_END.search(text, start + 1)
    end = m.end() if m else len(text)
    while m and text.count("(", begin, end) > text.count(")", begin, end):
        # "a ticket type field (vip, standard, student)": the list in brackets stays whole
        # past this end (a lookbehind end such as "时" is empty: searching from it again finds it again)
        m = _CLAUSE_END.search(text, max(end, m.start() + 1))
        end = m.end() if m else len(text)
    return begin, end


_LEADING_TIME = ascii_re(r"^\s*(?:,\s*)?(?:at|on|around|by)\s+(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?|noon|midnight)\b\s*,?"
                             r"|^\s*(?:,\s*)?\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)(?:\s+(?:utc|gmt|est|edt|pst|pdt|cst|cdt|mst|mdt|cet|cest|bst|ist|jst|sgt|aest))?\b\s*,?"  # "every friday 4pm post …"
                             r"|^\s*(?:\d{1,2}\s*[号日]\s*)?(?:早上|上午|下午|晚上|中午|凌晨)?\s*\d{1,2}\s*[点:时](?:半|\d{1,2}分?)?\s*,?"  # "每月1号上午10点"
                             r"|^\s*\d{1,2}\s*[号日](?=\s*[,，])\s*,?")


_HANDS_IN = ascii_re(r"\bi(?:'ll| will)? (?:paste|upload|drop|type)\b|\bpaste (?:in|them|it)\b|我(?:会)?(?:粘贴|贴进来|上传)")


_BY_HAND = ascii_re(r"^(?:手动触发|手动运行|手动跑(?:一次|一下)?|手动执行)|\bwhen i (?:hit|press|click) run\b|^(?:run (?:it )?)?(?:manually|on demand)\b")
# "turn these rough notes into a weekly update": the content is handed in now, "weekly" names it
_GIVEN = ascii_re(r"\b(?:these|this|the following|the attached|my)\s+(?:\w+\s+)?(?:notes|text|draft|points|bullet points|data|list|numbers)\b")


_WATCH = ascii_re(r"\b(?:watch|monitor|listen to|keep an eye on)\b|监控|监听|盯着"
                      # "People post requests in our Slack #ops-help channel. For each new message, …": where they arrive
                      r"|\b(?:post|posts|posted|send|sends|drop|drops|leave|leaves)\b[^.]{0,40}\b(?:in|on|to|into)\s+(?:our|the|my)\b|发到|发在|留言到")
# The sentence after "set up a webhook" that says who calls it with what.
_PAYLOAD_TOLD = ascii_re(r"^[\w' ]{0,40}?\b(?:will |would |is going to |)(?:post|send|push|forward|call|hit)s?\b[^.;]{0,80}?"
                             r"\b(?:to|at) (?:it|this|that|the (?:endpoint|webhook|url|hook))\b[^.;]*[.;]?")


_JOINED = ascii_re(r"\s(?:and|but|with|where)\s+(?=(?:the|its|their|it|his|her|a|an)\b)")
_PLACE = ascii_re(r"\b(?:in|on|from|via)\s+(?:our\s+|the\s+)?([a-z][\w.-]+)")


# "When a customer messages us on WhatsApp": a message in a messenger the request names is its event
_MESSAGED_US = compile_filtered(r"\b(?:when(?:ever)?|each time|every time|as soon as|once)\s+(?:a |an |the |someone |somebody |anyone )?"
                                r"[\w ]{0,30}?\b(?:messages|dms|texts|writes to|contacts|pings) (?:us|our|me|my)\b")


def find_trigger(text: str) -> tuple[Trigger, str, str]:
    """(trigger, its clause, the text without it)."""
    if _BY_HAND.search(text):
        return ManualTrigger(), "", text  # "手动触发，…", "when I hit run": the person starts it
    schedule = ent.find_schedule(text)
    for kind, rx in (("webhook", ph.WEBHOOK), ("form", ph.FORM), ("app_event", ph.APP_EVENT), ("app_event", _MESSAGED_US),
                     ("app_event", ph.STATE_EVENT)):
        m = rx.search(text)
        if m and rx is ph.STATE_EVENT and ((schedule and not _named_in_passing(schedule, text, m.end()))
                                           or not _names_an_app(text[slice(*_clause_at(text, m.start()))])):
            continue  # "if the order is paid, …" alone is a condition; "when a GitHub issue is labelled bug" an event
        if not m or (kind == "webhook" and ph.WEBHOOK_OUT.search(text) and not ph.WEBHOOK_IN.search(text)
                     and len(ph.WEBHOOK.findall(text)) <= 1):
            continue
        if kind == "webhook" and schedule and not ph.WEBHOOK_IN.search(text) and "webhook" not in m.group(0):
            continue  # "every 15 minutes, call our API's /health endpoint": a call we make on a schedule
        if kind == "app_event" and (re.search(r"[等待][^,，。]{0,6}(?:审核|审批|确认)(?:通过|完成)", m.group(0)) or (
                re.search(r"(?:审核|审批)(?:通过|完成)", m.group(0)) and re.search(r"审核|审批", text[: m.start()]))):
            continue  # "等我审核通过后再发布": an approval step, not the event that starts the run
        if kind == "app_event" and schedule and not re.search(r"\bwhen|每当|每次|时$", m.group(0)) and text.find(schedule.text) <= m.start():
            continue
        begin, end = _clause_at(text, m.start())
        clause = text[begin:end]
        if rx is _MESSAGED_US and not any(ent.BY_ID[x].kind == "messaging" for x in ent.find_integrations(clause)[0]):
            continue  # "when a customer messages us" with no messenger named: the chat trigger
        rest = (text[:begin] + " " + text[end:]).strip()
        if kind == "app_event" and m.start() > begin and re.match(r"(?:when(?:ever)?|each time|every time|as soon as)\b", m.group(0)) \
                and ph.asks_to_write(text[begin:m.start()]):
            # "wanna get a msg on discord whenever someone stars our github repo": the work comes first
            clause, rest = text[m.start():end], (text[:begin] + " " + text[begin:m.start()] + " " + text[end:]).strip()
        verb_led = re.match(r"(?!for |on )[a-z]+ (?:every |each |all (?:the )?)?(?:new|incoming) [a-z]+\b", m.group(0))
        if kind == "app_event" and verb_led and (ph.asks_to_write(clause) or any(rx.search(clause) for _, rx in ph.AI_TASKS)):
            # "summarise new Zendesk tickets and post them to Slack": the event is the object of the
            # first verb, and the rest of the clause is still the work to do
            tail = re.search(r"\s(?:and|then)\s|[,;]", clause[m.end() - begin:])
            clause, rest = (clause[: m.end() - begin + tail.start()] if tail else clause), text
        then_zh = re.search(r"(?:就|便|马上|立即|立刻)(?=.{0,4}(?:让|把|用|给|发|通知|提醒|写|记|存|录入|同步|推送|转|建|创建|更新|回复|加到|加进|生成|调用|自动))", clause[m.end() - begin:])
        if kind == "app_event" and then_zh:
            # "有赞店铺来了新订单就让AI写一句感谢语": the event ends at 就, the rest is the work
            cut = m.end() - begin + then_zh.end()
            clause, rest = clause[: m.end() - begin + then_zh.start()], (clause[cut:] + " " + rest).strip()
        joined = _JOINED.search(clause)
        if joined and ph.CMP_EN.search(clause[joined.end():]):
            # "when a new order comes in and the total exceeds $100, …": the condition stays
            cond = clause[joined.end():].strip(" ,")
            clause = clause[: joined.start()]
            rest = (text[:begin] + " if " + cond + ", " + text[end:]).strip()
        if kind == "webhook":
            told = _PAYLOAD_TOLD.match(rest)
            if told:  # "Our website will POST contact requests to it (name, email, message).": what arrives, not a step
                clause, rest = f"{clause} {told.group(0)}", rest[told.end():].strip()
            cond = re.sub(r"\([^)]*\)", " ", clause).strip(" ,.")
            if ph.CMP_EN.search(cond) and not ph.WEBHOOK.search(cond) and not ph.APP_EVENT.search(cond):
                # "when a cart has fewer than 3 items (our store posts it to a webhook), …": a condition
                rest = (text[:begin] + " if " + ph.IF.sub("", cond).strip() + ", " + text[end:]).strip()
            return WebhookTrigger(), clause, rest
        services = [s for s in ent.find_integrations(clause)[0] if s != "webhook"]
        lead = re.match(r"^([\u4e00-\u9fffa-z0-9]{2,8}?)(?:有|上|里|中|的|来)", clause)
        if not services and lead and ent.lookup_service(lead.group(1)):  # "有赞有新订单时": a name too ambiguous for free text
            services = [ent.lookup_service(lead.group(1)).id]
        place = _PLACE.search(clause)
        if not services and place and ent.lookup_service(place.group(1)):  # "new application in Greenhouse"
            services = [ent.lookup_service(place.group(1)).id]
        watched = text[max(0, begin - 160): begin]
        ours = _OUR_APP.search(text) if not services and kind == "app_event" else None
        if ours:  # "We run a Shopify store. When an order is placed, …": the store the request said it runs
            services = [x for x in ent.find_integrations(ours.group(0))[0] if x != "webhook"][:1]
        if not services and kind == "app_event" and _WATCH.search(watched):
            services = [x for x in ent.find_integrations(watched)[0] if x != "webhook"][:1]  # "Watch #feedback in Slack. Whenever someone posts…"
        if kind == "form" and not _form_service(services):
            return FormTrigger(), clause, rest
        service = services[0] if services else next((svc for hint, svc in ph.EVENT_SERVICE if hint in clause), "")
        if not service and kind == "app_event":
            if re.search(r"form", clause):
                return FormTrigger(), clause, rest
            service = "app"
        event = next((ev for hint, ev in ph.EVENT_HINTS if hint in clause and (not hint.isascii() or _EVENT_WORD.search(clause, hint))),
                     "new event")
        state = ph.STATE_EVENT.search(clause) if rx is not ph.STATE_EVENT and ph.state_value(clause) else None
        # "当多维表格里某条记录的状态改为已完成时": a change of the record, not a new one
        changed = (ph.state_event(m.group(0)) or "updated") if rx is ph.STATE_EVENT else (ph.state_event(state.group(0)) or "updated") if state else None
        if changed:  # "when a GitHub issue is labelled bug": the change, not a new issue
            event = f"{event.removeprefix('new ').removesuffix(' event') or 'record'} {changed}".replace("event ", "record ")
        return AppEventTrigger(service=service, event=event), clause, rest
    if schedule and re.fullmatch(r"\s*(?:weekly|daily|monthly|nightly)\s*", schedule.text) and (_HANDS_IN.search(text) or _GIVEN.search(text)):
        schedule = None  # "after our weekly sales call I'll paste the notes in": the person starts it
    if schedule:
        # the schedule words are the trigger, not a step ("every monday at 8am send …")
        rest = text.replace(schedule.text, " ", 1) if schedule.text in text else text
        rest = _LEADING_TIME.sub(" ", rest).strip(" ,")
        return ScheduleTrigger(cron=schedule.cron, timezone=schedule.timezone), schedule.text, rest
    bot = _MESSENGER_BOT.search(text)
    if bot and (named := ent.lookup_service(bot.group("app") or bot.group("app2"))) is not None and named.kind == "messaging":
        # "discord bot for our game server: when someone asks in #help, …": messages in that app start it
        asked = _SOMEONE_WRITES.search(text)
        clause, rest = (asked.group(0), (text[: asked.start()] + " " + text[asked.end():]).strip()) if asked else ("", text)
        return AppEventTrigger(service=named.id, event="new message"), clause, rest
    if ph.CHAT.search(text):
        said = _SOMEONE_MESSAGES.search(text)
        if said:  # "When a customer messages us, …": the chat itself, not a condition of what follows
            begin, end = _clause_at(text, said.start())
            if _SOMEONE_MESSAGES.fullmatch(text[begin:end].strip(" ,.;")):
                return ChatTrigger(), text[begin:end], (text[:begin] + " " + text[end:]).strip(" ,")
        return ChatTrigger(), "", text
    return ManualTrigger(), "", text


_SOMEONE_MESSAGES = compile_filtered(r"(?:when(?:ever)?|each time|every time)\s+(?:someone|somebody|a user|a customer|users|customers|a visitor|visitors)"
                                     r"\s+(?:asks?|messages?|chats?|writes?)(?:\s+(?:us|with us|me|in|a question|questions|something))?")


_MESSENGER_BOT = ascii_re(r"\b(?P<app>discord|slack|telegram|whatsapp|teams|lark|feishu|dingtalk|wecom|line)\s+bot\b"
                          r"|(?P<app2>钉钉|飞书|企业微信|企微|qq)(?:群)?机器人")


_SOMEONE_WRITES = ascii_re(r"\bwhen(?:ever)?\s+(?:someone|somebody|anyone|a user|a member|a player|people|users)\s+"
                           r"(?:asks|ask|posts|post|messages|writes|sends|types|mentions)\b[^,.;:]*[,.;:]?")


def _named_in_passing(schedule: Schedule, text: str, after: int) -> bool:
    """"…-> just append it to the weekly triage google sheet": a bare "weekly" after the event names a
    thing, not when the run starts."""
    return bool(re.fullmatch(r"\s*(?:weekly|daily|monthly|nightly|hourly)\s*", schedule.text)) and text.find(schedule.text) > after


def _names_an_app(clause: str) -> bool:
    """Whether a clause names a service whose records can change state (not a messenger)."""
    return any(ent.BY_ID[s].kind != "messaging" for s in ent.find_integrations(clause)[0] if s != "webhook")


_OUR_APP = compile_filtered(r"\b(?:we|i)\s+(?:run|have|own|use|operate|sell on|sell through)\s+(?:a|an|our|my|the)?\s*[\w.' -]{0,30}?"
                           r"\b(?:store|shop|site|website|account|instance|workspace|crm|helpdesk)\b|我们(?:用|在用|是用|开了?)(?:的是)?[\u4e00-\u9fffa-z]{2,8}(?:店|店铺|商城)"
                           r"|我们(?:用|在用|是用)\s*[a-z][\w.]{1,20}\s*(?:做|管理?|处理|来做)(?:客服|工单|售后|项目|招聘|销售)")


def _form_service(services: list[str]) -> str | None:
    forms = {"typeform", "google_forms", "jotform", "jinshuju", "wenjuanxing", "tally", "formstack"}
    return next((s for s in services if s in forms), None)
