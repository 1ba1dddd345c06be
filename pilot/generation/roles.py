"""The role an integration plays where a request names it: ``destination`` (results go there),
``source`` (data is read from it) or ``subject`` (its content is what gets processed, handed in
as input: "把英文邮件翻译成中文", "translate the email").

A service is a destination only with a delivery cue attached to it: a sending verb or a
preposition of direction before it ("post to Slack", "发到飞书", "by email", "通知钉钉"), a
sending verb right after it ("邮件发给我", "钉钉通知我"), or the name used as the verb itself
("email me the summary"). Otherwise it is the object of processing ("summarise my emails",
"从邮件中提取", "总结钉钉群消息"): a source when something says the data lives there (from,
incoming, my, 's, 里的, "messages", or a data service such as Jira), else a plain subject.
When cues compete, the one nearest to the name wins ("post new GitHub issues to Slack").
"""

from __future__ import annotations

import re

from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import AB

DESTINATION, SOURCE, SUBJECT = "destination", "source", "subject"
# "the newest post", "their latest posts on X": the noun, not the verb (each lookbehind has a fixed width)
NOUN_POST = "".join(f"(?<!{w} )" for w in ("the", "a", "an", "newest", "latest", "new", "recent", "last", "each", "every", "this",
                                           "that", "our", "my", "their", "blog", "top", "'s", "weekly", "these", "those"))


def _en(words: str) -> str:
    return rf"{AB}(?:{words}){AB}"


# Cues before the name, each with how far back (chars) it may sit and still govern it.
_D_VERBS_EN = (NOUN_POST + r"post|" + NOUN_POST + r"posts|posting|send|sends|sending|sent|notify|notifies|alert|alerts|ping|page|remind|message|share|"
               r"push|publish|forward|deliver|save|write|add|create|creates|log|drop|dm|escalate|"
               r"(?:open|file|raise|opens|files|raises) (?:a|an|one|a new|one new)")
_D_EN = compile_filtered(_en(r"to|into|onto|via|by|" + _D_VERBS_EN))
_D_VERB_EN = compile_filtered(_en(_D_VERBS_EN))
# "on/in <service>" takes its direction from the verb it hangs off: "send me the recap on
# Telegram" (a destination) vs "summarise the messages in Slack" (a source).
_LOCATIVE_EN = compile_filtered(_en(r"on|in") + r"(?:\s+(?:the|our|my|a))?\s*$")
_D_ZH_VERB = compile_filtered(r"发送|推送|通知|提醒|告知|转发|转给|同步|写入|写到|插进|插入|灌进|导入|保存|存到|存入|存成|存为|记录到|创建(?!的)|新建(?!的)|添加(?!的)|加到|"
                        r"(?<![开研出启收])发(?![票现展起布]|生(?!日))")
_D_ZH_PREP = compile_filtered(r"到|至|往|在|用|通过|给")  # direction/instrument: only right before the name
_S_FETCH_EN = compile_filtered(_en(r"from|of|fetch|fetches|pull|pulls|read|reads|monitor|watch|new|incoming|unread|latest|recent|"
                             r"received|get|gets|load|import|scan|check|export|each|every|sync from|out of|"
                             # "list" the verb ("list all open deals"), not the noun ("add them to the nurture list in Mailchimp")
                             r"list(?=\s+(?:all|the|every|each|my|our|open|new|recent|unread|active)\b)"))
_S_PROC_EN = compile_filtered(_en(
    r"translate|translates|translating|summari[sz]e|summari[sz]es|summari[sz]ing|condense|classify|"
    r"categori[sz]e|sort|triage|label|tag|extract|parse|analy[sz]e|review|process|proofread|rewrite|"
    r"repl(?:y|ies) to|respond to|answer"))
_S_VERB_EN = compile_filtered(_en(r"fetch|fetches|pull|pulls|read|reads|monitor|watch|get|gets|load|import|scan|check|export|grab|grabs|scrape|scrapes|collect|collects"))
_S_FETCH_ZH = compile_filtered(r"从|读取|获取|拉取|拉(?:一下|出|下)|抓取|监控|监听|导出|收到|检查|查看|遍历|新")
_S_PROC_ZH = compile_filtered(r"翻译|译|总结|汇总|摘要|分类|提取|抽取|分析|整理|提炼|归纳|处理|解析|阅读|审核|识别|打标|标注|回复")
# Possessives say where the data lives ("my emails", "我的邮件") without deciding the direction.
_OWNED = compile_filtered(_en(r"my|our|their") + r"|我的|我们的?|公司的")

_SEARCH_AFTER = compile_filtered(r"^\W{0,2}(?:搜索|收集|查询?|抓取?|获取|拉取?|检索|搜)")
_ADDED_TO = compile_filtered(_en(r"rows?|records?|entries|items|leads|contacts|tickets|orders|files|pages|issues") +
                       r"\s+(?:that (?:were|have been|got) |which (?:were|have been) )?(?:added|created|submitted|inserted|logged|uploaded)\b[^,.;]{0,30}?"
                       + _en(r"to|in|into") + r"\s+(?:our\s+|the\s+|my\s+)?$")
_CLAUSE_END = compile_filtered(r"[,.;:!?，。；：！？\n]")
_COORDINATED = compile_filtered(r"^\s*(?:后台|平台|账号|官网|店铺)?\s*(?:,|、|/|&|and|or|和|或|及|以及|与|跟)\s*(?:and\s+|or\s+)?(?:(?:my|our|the|your)\s+|我的)?$")
# A sending verb right after the name: "钉钉通知我", "邮件发给我", "slack alert".
_D_AFTER = compile_filtered(r"^\W{0,2}(?:平台|服务|通道)?(?:接口|api)?(?:里|上|中)?\W{0,2}(?:通知|提醒|告警|报警|告诉|发给|发送给|发送到|发到|推送给|群发|发送|回复(?!的|了)|"
                      r"notifications?|alerts?|dms?(?![a-z])|direct messages?)")
# The name used as a verb: "email me the summary", "… and email the report to ceo@…".
_VERB_NAMES = ("email", "mail", "e mail", "dm", "text message", "sms")
_AS_VERB_BEFORE = compile_filtered(_en(r"and|then|also|please|to|will|should|can|must|just|or") + r"\s*$|^\s*$")
_AS_VERB_AFTER = compile_filtered(r"^\s+" + _en(r"me|us|him|her|them|it|everyone|the|a|an|this|that|my|our|their|all|to"))
# Where people ask is where the answers go back: "回答大家在飞书里问的问题", "answer questions asked in Slack".
_ASKED_AFTER = compile_filtered(r"^\W{0,2}(?:里|上|中)?\W{0,2}(?:问|提问|提出的问题|咨询)")
_ASKED_BEFORE = compile_filtered(_en(r"questions?(?: (?:people|users|customers|employees|the team))? (?:ask|asks|asked|post|posted) (?:in|on)") + r"\s+(?:the\s+|our\s+)?$")
# After the name: it is the thing being processed, or where data sits.
_PROC_AFTER = compile_filtered(r"^\W{0,2}(?:里|中|上)?的?\W{0,2}(?:" + _S_PROC_ZH.pattern + ")")
_FETCH_AFTER = compile_filtered(
    r"^\W{0,3}(?:后台|平台|账号|账户|店铺)?(?:(?:in|from) (?:my |the |our )?inbox|'s|里的|中的|上的|里|中|的|" + _en(
        r"issues?|tickets?|prs?|pull requests?|orders?|deals?|contacts?|pages?|rows?|records?|messages?|comments?|"
        r"threads?|conversations?|channels?|chats?|history|posts?|updates?|repos?|repositor(?:y|ies)|projects?|boards?|workspaces?|stores?|shops?") + r"|消息|群|聊天|记录|对话|工单|[\u4e00-\u9fff]{1,4}群(?:里|中)?的?(?:聊天|消息|对话|记录)|[\u4e00-\u9fff]{0,6}(?:聊天记录|会话记录|消息记录))")


_WRITE_THERE = compile_filtered(r"^\W{0,2}(?:群)?(?:里|中|上)\W{0,2}(?:面)?(?:建|新建|创建|新增|添加|加|记|写|录入|更新|改|开|提|发|通知|播报|通报|提醒|推送|说|@)(?!的)")  # "在纷享销客里新增的客户": read


_MAIL_ACCOUNTS = ("gmail", "outlook", "email", "e-mail", "mail", "mailbox", "邮箱", "企业邮箱", "qq邮箱")
_SENT_FROM = compile_filtered(_en(r"send|sends|sent|email|reply|replies|forward|forwards") + r"[^,.;]{0,60}?" + _en(r"from") + r"\s+(?:our|my|the|their)?\s*$"
                        r"|(?:发|回复|发送|转发)[^,，。；]{0,20}?(?:用|从|通过)(?:我们的|公司的)?\s*$")


_PASSIVE_TO = compile_filtered(_en(r"gets?|got|be|and|then|is|are") + r"\s+(?:then\s+)?(?:saved|stored|uploaded|filed|logged|posted|added|written|sent|emailed|recorded|entered|inserted|synced|imported|copied)"
                         r"\s+(?:to|in|into|on)\s+(?:the\s+|our\s+|my\s+)?$")


def _last(rx: re.Pattern[str], s: str, reach: int) -> int:
    """Where the last cue of ``rx`` ends, if it is within ``reach`` chars of the name; else -1."""
    ends = [m.end() for m in rx.finditer(s) if len(s) - m.end() <= reach]
    return max(ends, default=-1)


def role(kind: str, alias: str, before: str, after: str, previous: tuple[str, str] | None = None) -> str:
    """The role of an integration (``kind`` "messaging" or "data") named by ``alias`` between
    ``before`` and ``after`` (normalised text). ``previous`` is (text between, role) of the
    integration named just before, so "post to Slack and Teams" gives both the same role."""
    cut = max((m.end() for m in _CLAUSE_END.finditer(before)), default=0)
    clause = before[cut:]
    if re.search(r"(?:用|通过)\s*$", clause) and (_SEARCH_AFTER.match(after) or re.search(r"搜索|search", alias)):
        return SOURCE  # "用微博搜索收集…": the tool the data is gathered with
    if _ADDED_TO.search(clause):
        return SOURCE  # "read the rows added this week to our Leads sheet": where they were added, read back
    if alias in _VERB_NAMES and _AS_VERB_BEFORE.search(clause) and _AS_VERB_AFTER.match(after):
        return DESTINATION
    if _D_AFTER.match(after):
        return DESTINATION
    if _PASSIVE_TO.search(clause):
        return DESTINATION  # "an update that gets emailed to the founders and saved in Google Drive"
    if kind == "messaging" and re.search(_en("for") + r"\s*$", clause) and re.match(r"^\s*\(?\s*#[\w-]", after):
        return DESTINATION  # "a standup summary for Slack (#eng-standup)"
    if alias in _MAIL_ACCOUNTS and _SENT_FROM.search(clause):
        return DESTINATION  # "send it to the customer from our Gmail": the account it goes out from
    if previous and _COORDINATED.match(previous[0]):
        return previous[1]
    if _ASKED_AFTER.match(after) or _ASKED_BEFORE.search(clause):
        return DESTINATION
    if _LOCATIVE_EN.search(clause) and kind == "messaging":
        d_verb = _last(_D_VERB_EN, clause, 40)
        s_verb = max(_last(_S_VERB_EN, clause, 40), _last(_S_PROC_EN, clause, 40))
        if d_verb > s_verb or (d_verb < 0 and s_verb < 0):
            return DESTINATION
    dest = max(_last(_D_EN, clause, 24), _last(_D_ZH_VERB, clause, 8), _last(_D_ZH_PREP, clause, 2))
    fetch = max(_last(_S_FETCH_EN, clause, 24), _last(_S_FETCH_ZH, clause, 8))
    proc = max(_last(_S_PROC_EN, clause, 24), _last(_S_PROC_ZH, clause, 8))
    fetch_after = bool(_FETCH_AFTER.match(after))
    locative = clause.rstrip().endswith("在") and re.match(r"^\W{0,2}(?:里|中|上)", after)  # "在邮件中找…"
    if locative and _WRITE_THERE.match(after):
        return DESTINATION  # "在HubSpot里建商机", "在飞书上新建一条记录": written there
    if dest > max(fetch, proc) and not locative and not _PROC_AFTER.match(after):
        return DESTINATION
    owned = _last(_OWNED, clause, 12) >= 0
    if kind == "data" or alias in ("inbox", "mailbox") or fetch >= 0 or fetch_after or owned or locative:
        return SOURCE
    return SUBJECT
