"""The AI step of one clause's actions (offline planner, pure): :func:`_ai_step` builds it with
its categories, fields and target languages; the patterns that ask for an AI step whatever the
verb ("have AI work out …", "交给AI总结"), or for a composed message; whether a clause only
delivers what an earlier AI step wrote; an agent's tools; and whether the request wants no AI."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.plan import AiStep, PlanField
from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import ascii_re

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


_CATEGORIES = ascii_re(r"\b(?:into|as|as either|between|decides?\s*:|(?:priority|severity|category|level|tier|urgency)\s+(?:to|of))\s+(?P<list>[\w -]+(?:,\s*+[\w -]+)*,?\s+(?:and|or)\s+[\w -]+)")
_CATEGORIES_ZH = compile_filtered(r"(?:分为|分成|归为|归类[成为到]|归到|划分为|分类为|分类:\s*|分(?:个|一下|下)类[,:]\s*|评定为|评为|标记为|判断是|判断为|是|属于|类型有|有|哪(?:个|一个|一|种|类|些)[\u4e00-\u9fff]{0,4}:\s*|(?<![区部])分(?=[\u4e00-\u9fffa-z0-9]{1,8}、))\s*(?P<list>[\u4e00-\u9fff\w]{1,30}(?:\s*(?:[、,/和或]|还是)\s*[\u4e00-\u9fff\w]+)+)")
# "label it bug / feature / question", "tag as p1/p2/p3": a slash list
_CATEGORIES_SLASH = ascii_re(r"\b(?:label|labels|tag|tags|mark|marks|classify|classifies|categori[sz]e|sort|route)\s+(?:it|them|each(?: one)?|the \w+)?\s*(?:as|into)?\s*"
                                 r"(?P<list>[\w-]+(?:\s*/\s*[\w-]+)+)")
# "whether it's a bug, a feature request or a question": items of up to three words
_CATEGORIES_IS = ascii_re(r"(?:\b(?:is|are|was|be)|'s)\s+(?:\w+ing\s+about\s+|about\s+)?(?:an?\s+)?+(?P<list>[\w-]+(?: (?!or\b|and\b|then\b|to\b|so\b|with\b|for\b|in\b|on\b)[\w-]+){0,2}(?:,\s*+(?:an?\s+)?+[\w-]+(?: (?!or\b|and\b|then\b|to\b|so\b|with\b|for\b|in\b|on\b)[\w-]+){0,2})*,?\s+or\s+(?:an?\s+)?+[\w-]+(?: (?!or\b|and\b|then\b|to\b|so\b|with\b|for\b|in\b|on\b)[\w-]+){0,2})")
_FIELDS_EN = ascii_re(r"\b(?:extracts?|pulls?(?: out)?|parses?|gets?|captures?|grabs?|guess|infer|determine|tell me)\s+(?:the\s+|their\s+|its\s+)?"
                          r"(?P<list>[\w' -]+(?:,\s*[\w' -]+)*,?\s+(?:and|\+|&)\s+[\w' -]+?)\s*(?:\b(?:out of|from|in|with|using|via|by|based on)\b|,|$)")
_HOW_NOUN = {"urgent": "urgency", "important": "importance", "serious": "severity", "severe": "severity", "bad": "severity",
             "likely": "likelihood", "big": "size", "large": "size", "happy": "satisfaction", "angry": "anger", "positive": "sentiment"}
_SUMMARY_AND_FIELDS = ascii_re(r"\b(?:and|then|also)\s+(?:tell me|list|give me|note|point out|pull out|extract|include)\s+(?:the\s+|their\s+|its\s+)?"
                                r"(?P<list>[\w' -]+(?:,\s*[\w' -]+)*,?\s+(?:and|\+|&)\s+[\w' -]+?)\s*(?:\b(?:out of|from|in|with|using|via|by)\b|[,.;]|$)")
_FIELDS_PAREN = ascii_re(r"(?:结构化|structured|fields?|字段)[\w\u4e00-\u9fff ]{0,12}\((?P<list>[^()]{2,80}?)\)")  # "结构化记录（功能点、问题、建议）"
_FIELDS_ZH = compile_filtered(r"(?:提取|抽取|抽出|提炼出|识别出|提取出|抽取出|解析出)(?:出)?(?:[^:：,，。]{0,20}[:：])?\s*(?P<list>[\u4e00-\u9fff\w]+(?:[、,和及][\u4e00-\u9fff\w]+)+)")
_CATEGORIES_COLON = ascii_re(r":\s*(?P<list>[\w -]{1,24}(?:,\s*[\w -]{1,24})*,?\s+or\s+[\w -]{1,24}?)\s*(?:[.;]|$)")  # "how bad it is: critical, warning or noise"
_CATEGORIES_PAREN = compile_filtered(r"\((?P<list>[\w -]+(?:,\s*[\w -]+)*,?\s+(?:or|and)\s+[\w -]+)\)|\((?P<list2>[\w\u4e00-\u9fff -]{1,12}(?:[、/,]\s*[\w\u4e00-\u9fff -]{1,12}){1,7})\)")
# "send them to the AI in batches of 20", "交给AI总结": handing data to the model is the AI step,
# not a delivery (to the service the data came from, or anywhere else).
_TO_AI = compile_filtered(r"\b(?:send|pass|feed|hand|give|run|push|submit|throw|pipe)\s+(?:(?:them|it|these|those|each(?: one)?|every\w*|all(?: of them)?|the \w+(?: \w+)?)\s+)?"
                    r"(?:over\s+)?(?:to|through|into)\s+(?:the\s+|an?\s+|our\s+)?(?:ai|llm|gpt[\w.-]*|chatgpt|claude|openai|model|language model)\b")
_ASKS_AI = compile_filtered(r"\b(?:have|let|ask|get|use|using|with)\s+(?:the\s+|an\s+)?(?:ai|llm|gpt|chatgpt|model)\b(?!\s+(?:provider|key))|让\s*(?:ai|大模型)|用\s*(?:ai|大模型)|(?:ai|大模型)\s*(?:来|帮)")
_TO_AI_ZH = compile_filtered(r"(?:交给|发给|丢给|扔给|喂给|传给|提交给|送给)(?=\s*(?:ai|大模型|模型|gpt|chatgpt|llm)(?![a-z]))")
_NO_AI = compile_filtered(r"\bno (?:ai|llm|gpt)\b|\bwithout (?:ai|an llm|the llm)\b|\b(?:don'?t|do not) use (?:ai|an llm|the llm|gpt)\b"
                    r"|不需要\s*ai|不用\s*ai|不要用\s*ai|无需\s*ai|(?:别|不要|不用|无需|不必)(?:用|调|走)?\s*(?:大模型|ai)(?![a-z])")


_THIS_PART = compile_filtered(r"\s*(?:is needed\s+)?(?:for|in|on) (?:this|that|the) (?:part|step|bit|stage)\b|(?:这一步|这部分|这个环节)")


def no_ai_requested(text: str) -> bool:
    """The request says no AI is wanted ("No AI needed", "plain data mapping, no LLM", "不要用AI"),
    for the whole request: "no AI for this part, just sums" is said of one step only."""
    found = _NO_AI.search(text.lower())
    return bool(found) and not _THIS_PART.match(text.lower(), found.end())


def _delivers_result(clause: str) -> bool:
    """The clause only delivers what an earlier AI step produced ("post the summary to Slack")."""
    return bool(re.match(r"(?:and\s+|then\s+|also\s+)?(?:send|post|save|store|email|e-mail|share|publish|forward|add|append|write|upload|push)\b(?:\s+(?:me|us))?"  # "email me the digest"
                         r"\s+(?:it|them|this|that|both|all|these|those|the (?:summary|summaries|report|digest|result|results|analysis|analyses|translation|draft|reply|replies|answer|fields|values|scores?|labels?|totals?|numbers|figures|sums?|counts?)s?)\b", clause)
                or re.match(r"(?:并|再|然后)?(?:把|将)?(?:[\u4e00-\u9fff]{0,4}结果|摘要|总结|报告|简报|译文|回复|分数|评分|分类)(?:发|推|存|写|保存|同步|回写|填|评论|回复|贴)", clause)
                or re.match(r"(?:并|再|然后)?(?:把它|将它)?(?:存|保存|放)(?:为|成|到|进)(?:邮件|邮箱)?草稿", clause)  # "存为草稿": what was written
                # "审核通过了再自动回复到抖店": the reviewed reply goes out
                or re.match(r"(?:等[我他她你]?)?(?:审批|审核)通过(?:了)?(?:后|之后|以后)?(?:再|就)?(?:自动|直接)(?:回复|发出去|发布|发送)", clause)
                # "create a Mailchimp draft campaign with the blurb": the blurb an earlier step wrote
                or re.match(r"(?:and\s+|then\s+)?(?:create|post|send|save|add|publish|upload|schedule)\b[^,;]{0,60}?\bwith (?:the|that|this) "
                            r"(?:blurb|summary|draft|post|thread|reply|report|copy|text|translation|caption|digest|recap|write-?up)s?\b", clause)
                # "审批通过后再回复", "then send the reply": the drafted reply goes out, nobody writes another
                or re.match(r"(?:等[我他她你]?)?(?:(?:审批|审核)?通过(?:了)?(?:后|之后|以后)?|批准(?:后|之后)|然后|之后|再|就)*\s*(?:再|就)?(?:回复|发出去|发布|发送)(?:给?(?:买家|客户|用户|他|她|对方)|(?:到|在)[\u4e00-\u9fffa-z]{1,8}?(?:上|里)?)?(?:$|[,，。])",
                            clause.strip(" ,，。")))


_NAMED_TOOL = compile_filtered(r"\b(?:an?|the|our|my|its)\s+(?P<name>(?:(?!(?:and|or|an?|the|with|to|that|which)\b)[a-z][a-z-]*\s+){1,3})"
                         r"(?P<kind>api|tool)s?\b")


def _named_tools(clause: str, tools: list[str]) -> tuple[list[str], set[str]]:
    """An agent's tools: its sources, then each "a <name> tool" / "a <name> API" the clause names
    ("a currency conversion API tool" → ``currency conversion api``) that is not one of them; and
    the sources named as a tool ("a web search tool": the agent searches, no fetch step before it)."""
    out, as_tools = list(tools), set()
    for m in _NAMED_TOOL.finditer(clause):
        name = m.group("name").strip() + (" api" if m.group("kind") == "api" else "")
        key, services = re.sub(r"\W+", "_", name), set(ent.find_integrations(name)[0])
        same = [t for t in out if re.sub(r"\W+", "_", t) == key or t in services]
        if not same:
            out.append(name)
        elif m.group("kind") == "tool":
            as_tools.update(same)
    return out, as_tools


_QUOTED_WORD = compile_filtered(r"'([\w -]{1,30})'")
_ACTION_LED = ascii_re(r"(?:then\s+)?(?:" + ph.ACTION_VERBS + r")\b")


def _ai_step(task: str, clause: str, state: _State, found: list[str]) -> AiStep:
    categories: list[str] = []
    listed = _QUOTED_WORD.sub(r"\1", clause) if task == "classify" else clause  # "as 'pricing', 'sales' or 'other'"
    m = _CATEGORIES_PAREN.search(listed) or _CATEGORIES.search(listed) or _CATEGORIES_SLASH.search(listed) or _CATEGORIES_ZH.search(listed) or _CATEGORIES_COLON.search(listed) or (
        _CATEGORIES_IS.search(listed) if re.search(r"\bwhether\b", listed) else None)
    if task == "classify" and m:
        parts = re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+|还是|[、,/和或]", m.group("list") or m.group("list2"))
        # "分成紧急、一般、不急三类": the count after the last one is not part of it
        parts = [re.sub(r"\s*[一二三四五六七八九十两\d]+\s*(?:类|种|个|档|级)$|(?:中的)?(?:哪一?[类种个档]|之一)(?:岗位|问题|情况)?$", "",
                        re.sub(r"^(?:an?|the)\s+", "", c.strip())) for c in parts]  # "…、职能哪一类岗位" → 职能
        # "as bug, feature or other, and turn only the bugs into issues": the list ends where an action starts
        acting = next((i for i, c in enumerate(parts) if _ACTION_LED.match(c)), len(parts))
        categories = [c for c in parts[:acting] if c and not re.fullmatch(r"something else|anything else|other|others|else|其他|其它", c)]
        # "判断是正面、中性还是负面，负面的发到…": the case that follows is not one more category
        categories = [c for c in categories if not (c.endswith("的") and c[:-1] in categories)][:8]
    high_low = _HIGH_LOW.search(clause) if task == "classify" and not categories else None
    if high_low:  # "判断意向高低", "判断风险的高低": two levels of the named quality
        categories = [f"高{high_low.group('what')}", f"低{high_low.group('what')}"]
    levels = _LEVELS_ZH.search(clause) if task in ("classify", "analyze", "score") and not categories else None
    if levels:  # "按意向程度分成高中低三档", "评为ABC三类": the levels, one character (or letter) each
        task, categories = "classify", list(levels.group("l").replace("/", ""))
    if task == "classify" and not categories and re.search(r"sentiment|情感|情绪", clause):
        categories = ["positive", "neutral", "negative"] if state.lang == "en" else ["正面", "中性", "负面"]
    fields: list[PlanField] = []
    f = ((_FIELDS_ZH if state.lang == "zh" else _FIELDS_EN).search(clause) or _FIELDS_PAREN.search(clause)) if task == "extract" else None
    if task == "summarize" and (f := _SUMMARY_AND_FIELDS.search(clause)):
        # "summarize this contract and tell me the parties, the start date and the total value":
        # the summary and each named value are the answer's fields
        fields.append(PlanField(name="summary", description="summary"))
    if f:
        fields += _named_fields(f.group("list"), clause, fields)
    listed = _LISTED_THINGS.search(clause) if task == "extract" and not fields else None
    if listed:  # "把待办事项一条条拆出来", "整理成待办清单": the list itself is what is extracted
        fields.append(PlanField(name="items", type="array", description=listed.group("what")))
    langs = ent.find_languages(clause)
    # "翻译成英文和日文": every target language the clause names, in order
    names = [_LANG_NAMES[code] for code in langs if code in _LANG_NAMES] if task == "translate" else []
    language = ", ".join(dict.fromkeys(names)) if len(names) > 1 else next(
        (n for code, n in _LANG_NAMES.items() if langs and code == langs[0]), None)
    return AiStep(id=state.uid(task), task=task, categories=categories, language=language, fields=fields,  # type: ignore[arg-type]
                  instruction=clause[:500], quote=clause[:200], tools=[s for s in found if task == "agent"])


def _named_fields(listed: str, clause: str, taken: list[PlanField]) -> list[PlanField]:
    """The fields a list of values names ("the parties, the start date and the total value")."""
    fields: list[PlanField] = []
    for i, name in enumerate(re.split(r",\s*(?:and\s+)?|\s+(?:and|\+|&)\s+|[、,和及]", listed)):
        name = name.strip().removesuffix("等")
        name = re.sub(r"^(?:the|their|its)\s+", "", name)
        if re.fullmatch(r"(?:whether|if) (?:it'?s|it is|they'?re|they are)", name) and (
                rest := re.search(re.escape(name) + r"\s+(\w+(?: \w+)?)", clause)):
            name = rest.group(1)  # "whether it's in stock" → in stock (the list stopped at "in")
        how = re.fullmatch(r"how (\w+)(?: (?:it|they|this|that) (?:is|are))?", name)
        name = _HOW_NOUN.get(how.group(1), how.group(1)) if how else name  # "how urgent it is" → urgency
        ident = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or f"field_{i + 1}"
        if name and not re.match(r"[a-z_]", ident):
            ident = f"field_{i + 1}"
        if name and all(ident != x.name for x in [*taken, *fields]):
            fields.append(PlanField(name=ident[:60], description=name))
    return fields


_COMPOSED = ascii_re(r"\b(?:polite|friendly|personali[sz]ed|warm|apologetic|gentle|tailored|heartfelt|empathetic)\s+(?:[\w-]+\s+)?"
                     r"(?:reminder|message|e-?mail|note|reply|response|follow-?up|apology|thank-you|welcome)\b"
                     r"|(?:礼貌|个性化|温和|友好|客气|走心|真诚)的?(?:催款|提醒|回复|邮件|短信|消息|道歉|感谢|欢迎)"
                     # "把今天的天气和穿衣建议推送给我", "the forecast with what to wear": advice someone has to give
                     r"|(?:穿衣|穿搭|出行|饮食|运动|护肤|健康)(?:建议|指南|提醒)|\bwhat to wear\b|\b(?:outfit|clothing) (?:advice|tips|suggestions?)\b")
_AGENT_CAN = ascii_re(r"(?:and\s+)?(?:the (?:agent|bot|assistant)|it|they)\s+(?:can|could|should be able to|may|is able to)\b"
                      r"|(?:它|机器人|助手|智能体|agent)?(?:能够?|可以)(?:调用|查|搜|读|访问|用)")
_LISTED_THINGS = compile_filtered(r"(?P<what>待办事项|待办清单|待办|行动项|任务清单|任务|要点|问题清单|清单|列表|\baction items\b|\bto-?dos?\b|\btasks\b)")
_LEVELS_ZH = compile_filtered(r"(?:分成|分为|分|评为|定为|划分为|归为)(?P<l>高中低|低中高|大中小|优良中差|优良差|好中差|abc|a/b/c|甲乙丙)(?:[三四两二]?(?:档|类|级|个等级|个级别|种|个档次))")
_HIGH_LOW = compile_filtered(r"(?:判断|评估|判定|看看?)(?:一下)?(?:[\u4e00-\u9fff]{0,6}?的)?(?P<what>[\u4e00-\u9fff]{1,4}?)的?(?:高低|高不高)")


_LANG_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French", "de": "German",
               "es": "Spanish", "pt": "Portuguese", "it": "Italian", "ru": "Russian"}
