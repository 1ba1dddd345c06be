"""The source side of one clause's actions (offline planner, pure): reads a clause asks for
without naming a registry service — a database, an API, this event's details, an uptime check,
market quotes, a feed, the day's records, an in-house system — each of several things listed to
read side by side, and whether the knowledge base is consulted. :func:`parse_actions
<pilot.generation.plan_actions.parse_actions>` tries them in its own order."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.plan import SourceStep
from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import ascii_re

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


# "the messages posted in #feedback on Discord": where the data was posted, read from there
_POSTED_IN = compile_filtered(r"\b((?:messages?|comments?|posts?|links?|questions?|reviews?|articles?|content|photos?|videos?|feedback|updates?)"
                        r"(?: that (?:people|users|customers|members|the team|we|they))?)\s+(?:posted|sent|shared|left|dropped)\s+(?:in|on|to|into)\b")
_READ_DB = compile_filtered(r"(?:从|在)?(?:我们|公司|自己)?的?(?:数据库|\bdatabase\b|\bdb\b)(?:里|中|里面)?(?:的)?.{0,16}?(?:读|取出|拉|查|导出|捞)"
                      r"|(?:数据库|database)(?:里|中)(?:存了|有)\s*\d+"
                      r"|\b(?:pull|fetch|get|read|query|load|take)\b[^,.;]{0,40}\bfrom (?:our |the |my )?(?:\w+ )?(?:database|db)\b")
_READ_API = compile_filtered(r"(?:调|调用|请求|访问)(?:一[次下遍]|一下)?(?:我们|公司|自己)?的?"
                       r"(?![\u4e00-\u9fffa-z0-9]{0,10}?(?:创建|新建|提交|更新|删除|写入|推送|同步|下单|修改)[\u4e00-\u9fffa-z0-9]{0,6}?(?:接口|api))"  # "调ERP的创建订单接口": a write
                       r"(?P<name>[\u4e00-\u9fffa-z0-9]{0,10}?)(?:的)?(?:接口|api)(?![\u4e00-\u9fff]{0,2}(?:群发|发送|推送|回复|回帖|评论|发布|提交|创建|下单))"
                       r"|\b(?:call|hit|ping|poll|query)\s+(?:our |the |their )?(?P<name2>[\w/.' -]{0,30}?)\s*(?:endpoint|api)\b(?=[^,.;]{0,30}\b(?:check|get|read|see|for|and (?:check|see|get|read))\b|\s*$)"
                       # "get tomorrow's appointments from our clinic scheduling API"
                       r"|\b(?:get|gets|pull|pulls|fetch|fetches|read|reads|load|grab)\b[^,.;]{0,60}?\bfrom\s+(?:our|the|their|my)\s+(?P<name3>[\w' -]{0,30}?)\s*(?:api|endpoint)\b")
_THIS_ONE = compile_filtered(r"这场|这条|这个|这单|这次|该(?:订单|直播|会议|工单)|\b(?:this|that) (?:meeting|stream|order|call|event|ticket|issue|deal|recording)\b")
_UPTIME = compile_filtered(r"(?:检查|检测|监控|看看|check|monitor|ping)[^,，。;；]{0,12}(?:官网|网站|首页|主页|页面|接口|website|site|homepage|home page|url|endpoint)"
                     r"[^,，。;；]{0,12}(?:能不能|是否|能否|正常|可用|可以访问|挂了|\bis up\b|\bup\b|\bdown\b|reachable|available|responds?|status|uptime)"
                     # "每隔5分钟检查一次服务器接口": a request to it (its answer is tested later)
                     r"|(?:检查|检测|监控|探测)(?:一[次下遍])?(?:一下)?(?:我们|公司)?的?(?:服务器|服务|后端|线上)(?:的)?(?:接口|api)$")
_MARKET = compile_filtered(r"股价|收盘价|开盘价|实时价格|行情(?!分析)|涨跌幅|涨幅|跌幅|基金净值|净值|k线|汇率|币价|(?:比特币|以太坊|btc|eth|黄金|金价)(?:的)?(?:价格|报价)"
                     r"|\b(?:stock|share|crypto|bitcoin|btc|eth) (?:price|prices|quote|quotes)\b|\bexchange rates?\b|\bclosing prices?\b")
_FEED = ascii_re(r"\b(?:rss|atom)(?: feed)?\b|\b(?:blog|news|podcast)(?:'s)? feed\b|\bfrom (?:the |our |my |their )?feed\b|rss订阅|订阅源")
_SUMMED_RECORDS = compile_filtered(r"^(?:先)?(?:汇总|统计|盘点|整理)(?:一下)?(?:当天|今天|今日|昨天|昨日|本周|上周|这周|本月|上个?月)的?(?:所有|全部)?(?P<obj>[\u4e00-\u9fff]{2,8}?)(?:数据|记录)?$")
_IN_SYSTEM = compile_filtered(r"(?:去|到|在|从)(?P<sys>[\u4e00-\u9fffa-z0-9]{1,8}?(?:系统|平台|后台|接口|\s?api))(?:里|上|中)?(?:查|看|读|拉|取|获取|核对|导出|抓)")


_LIST_SPLIT = ascii_re(r",\s*(?:and\s+)?|\s+and\s+|[、]|(?<=[\u4e00-\u9fff])(?:和|及|以及)(?=[\u4e00-\u9fff])")
_LIST_HEAD = ascii_re(r"\b(?:get|gets|fetch|fetches|pull|pulls|grab|grabs|check|checks|collect|gather|look up)\s+|(?:查|查一下|去查|拉取|抓取|获取|搜|看看)")


def _listed_sources(clause: str, have: list[SourceStep], state: _State) -> list[SourceStep]:
    """"get the weather for Berlin, the EUR/USD rate and my calendar at the same time", "同时去查它的最新
    行情、相关新闻和雪球上的讨论": each listed thing is read, side by side; the ones a service or the
    web search already covers are left to them."""
    head = _LIST_HEAD.search(clause)
    if head is None:
        return []
    body = ph.PARALLEL.sub(" ", clause[head.end():])
    body = re.split(r"[,;]\s*(?=(?:and\s+)?(?:then|send|post|email|combine|merge|summari[sz]e)\b)|,(?=综合|汇总|合并|然后|再|让)", body)[0]
    items = [x.strip(" ,.") for x in _LIST_SPLIT.split(body) if x.strip(" ,.")]
    if len(items) < 2:
        return []
    covered = {x.service for x in have}
    out: list[SourceStep] = []
    for item in items:
        named = ent.find_integrations(item)[0]
        if named and all(n in covered or n in ("web_search",) for n in named):
            continue
        if named or ph.WEB_SEARCH.search(item) or ph.KNOWLEDGE.search(item):
            continue
        if ph.NEWS.search(item) and "web_search" not in covered:
            out.append(SourceStep(id=state.uid("web_search"), from_="web_search", quote=item[:200]))
            covered.add("web_search")
        elif re.search(r"官网|官方网站|网站|主页|\b(?:website|homepage|home page|web ?site)\b", item):
            out.append(SourceStep(id=state.uid("fetch_page"), from_="url", url="{{ inputs.url }}", quote=item[:200]))
        elif len(re.findall(r"[a-z]+|[\u4e00-\u9fff]", item)) >= 2:
            name = re.sub(r"^(?:(?:the|a|an|my|our|their|its|current|latest|today's|recent|live)\s+)+|^(?:它的|他的|我们的|最新的?|最近一周的?|今天的|当前的?)+", "", item)
            words = re.findall(r"[\w\u4e00-\u9fff]+", name)
            out.append(SourceStep(id=state.uid("fetch_data"), service=" ".join(words[:5]) or item[:40], quote=item[:200]))
    return out if len(out) + len(have) >= 2 else []


def _reads_docs(clause: str) -> bool:
    return bool(re.search(r"\b(?:from|using|based on|in|search|according to|with)\b[\w ]{0,20}(?:docs|documentation|knowledge|handbook|wiki|faq|manual|polic|help center|articles)"
                          r"|\b(?:we|i)(?:'ve| have)? uploaded\b|来自.{0,8}上传的|只能(?:来自|根据|基于)|根据|基于|检索|查询|从.{0,6}(?:知识库|文档)|知识库|查.{0,8}(?:文档|资料|手册|制度)", clause))


# "把今天的天气和我的日程发到我的微信", "send me the weather and my calendar": live data that is read before it is sent
LIVE_DATA = compile_filtered(r"(?P<weather>天气(?:预报)?(?!早报|日报|简报|摘要|总结)|\bweather(?: forecast)?\b(?! (?:summary|report|digest|update)))"
                             r"|(?P<calendar>(?:我的|今天的|明天的)(?:日程|行程)|\b(?:my|today's|tomorrow's) (?:calendar|schedule|agenda)\b)")
# what a send sends: "把今天的天气和我的日程发到…", "send me the weather and my calendar on Telegram"
SENT_OBJECT = compile_filtered(r"把(?P<obj>[^,，。；;]{1,24}?)(?:发到|发给|推送到|推到|发送到|发我|发)|\bsend (?:me |us )?(?P<obj2>(?:the |today's |tomorrow's )?[^,.;]{2,60}?)(?= (?:on|to|via|by)\b|$)")
# "每隔30分钟检查一次服务器CPU使用率", "check the server's disk usage": a metric read from monitoring
METRICS = compile_filtered(r"(?:检查|查看|查|看|监控|获取|读取|拉取)[^,，。；;]{0,10}?(?:cpu|内存|磁盘|负载|带宽)(?:使用率|占用率?|用量|利用率)?"
                           r"|\b(?:check|monitor|get|read|fetch|pull)\b[^,.;]{0,30}?\b(?:cpu|memory|disk|load|bandwidth)\s*(?:usage|utili[sz]ation|load|level)?\b")
# "我有个Excel表里有2000条客户留言": the rows are read from that file / table
HOLDS_ROWS = compile_filtered(r"(?P<what>excel|csv|表格|表)(?:表格?|文件)?(?:里|中|里面)(?:面)?(?:有|存了|放了|记了|一共有|大概有)(?:大概|大约|差不多|约)?\s*\d+")
# "从我们CRM的接口（GET /api/sales/weekly）拉本周销售数据", "check our inventory API (GET /inventory)",
# "调一下我们的 /api/backup/status 接口": a read of the team's own API path
_GET_PATH = ascii_re(r"(?<![a-z])get\s+(?P<path>/[\w/{}.:-]{1,80})|(?:调|调用|请求|访问|查)(?:一[次下遍]|一下)?(?:我们|公司|自己)?的?\s*(?P<path2>/[\w/{}.:-]{1,80})\s*(?:接口|api)")
# "一个陪练英语口语的聊天机器人，不需要知识库": no knowledge base is read
_NO_KNOWLEDGE = compile_filtered(r"(?:不需要|不用|无需|不要|没有|不必|不接)(?:接|用|连|任何)?知识库|\b(?:no|without (?:a |any )?|don't need (?:a |any )?)knowledge ?base\b")
# "从Moka拉上周的简历": an app named in Latin letters after 从 that free-text detection does not spot
_FROM_UNKNOWN_APP = compile_filtered(r"从\s*(?P<name>[a-z][a-z0-9.]{1,15}(?: [a-z0-9]{1,10})?|[\u4e00-\u9fff]{2,4}?)\s*(?:里|上|中|那边|后台)?\s*(?:拉|读取|获取|拉取|导出|查|抓)")
# "从银行流水表格里拿上个月的所有交易": a table of the user's own, read first even when another app is named too
FROM_TABLE_ZH = compile_filtered(r"从\s*(?:我们|公司)?的?(?P<t>[\u4e00-\u9fff]{2,8}?(?:表格|表))\s*(?:里|中|里面)\s*(?:拿|取|读|拉|导出|查|捞|找)")
_API_OWNER = compile_filtered(r"(?P<sys>[a-z][a-z0-9]{1,11}|[\u4e00-\u9fff]{2,6}?)\s*(?:系统|平台|system)?\s*(?:的)?\s*(?:接口|api|endpoint)\s*[(（]?\s*$")


def said_data_sources(clause: str, state: _State, quote: str, sources: list[SourceStep], *, read_elsewhere: bool,
                      sends: bool) -> list[SourceStep]:
    """``sources`` with the reads a clause says without naming a service: the weather and my
    calendar that are sent ("把今天的天气和我的日程发到我的微信"), a table of the user's own read
    before a named app ("从银行流水表格里拿…，逐笔和金蝶里的凭证核对"), rows said to be in a file or
    table ("我有个Excel表里有2000条", "MySQL商品表里有3000多条" → that app's table)."""
    out = list(sources)
    sent = SENT_OBJECT.search(clause) if sends and not out and not read_elsewhere and state.last_source is None and state.last_ai is None else None
    for live in LIVE_DATA.finditer((sent.group("obj") or sent.group("obj2")) if sent else ""):
        named = "weather" if live.group("weather") else "calendar"
        said = ("天气预报" if named == "weather" else "日程") if state.lang == "zh" else named
        if not any(x.service == said for x in out):
            out.append(SourceStep(id=state.uid("fetch_" + named), service=said, quote=quote))
    table = FROM_TABLE_ZH.search(clause)
    if table and not ent.find_integrations(table.group("t"))[0]:
        out.insert(0, SourceStep(id=state.uid("fetch_table"), service=table.group("t"), quote=quote))
    held = HOLDS_ROWS.search(clause) if not out and not read_elsewhere else None
    if held:
        named_apps = [x for x in ent.find_integrations(clause[: held.start()])[0] if ent.BY_ID[x].kind == "data"]
        sid = named_apps[-1] if named_apps else {"excel": "excel_file", "csv": "csv"}.get(held.group("what"))
        out.append(SourceStep(id=state.uid(f"fetch_{sid}" if sid else "fetch_table"), service=sid or "表格", quote=quote))
    return out
