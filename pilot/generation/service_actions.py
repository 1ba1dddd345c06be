"""A service's own actions (offline planner and compiler, pure): what a request asks a service to
do besides a plain send / create / update — "refund the payment in Stripe", "close the GitHub
issue", "给 issue 打上 frontend 标签".

The actions a service has, each with its endpoint, are ``actions`` in ``data/services.yaml``
(loaded and checked by :mod:`pilot.generation.entities`, names in ``SERVICE_ACTIONS``). Here:
the phrases that ask for each action (verbs only: "refunds from Stripe" and "已关闭的工单" are
what is read), which action a clause asks of a service, which services a clause therefore writes
to, and the node title of an action.
"""

from __future__ import annotations

from pilot.generation import entities as ent
from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import ascii_re

PHRASES = {
    # verbs only: "refunds from Stripe", "cancelled orders", "assigned to my team" are what is read
    "refund": ascii_re(r"\b(?:issue|process|make|give|send|approve)\s+(?:a |the |them a |him a |her a |these |those |all )?(?:full |partial )?refunds?\b"
                       r"|\brefund(?:s|ed)?\s+(?:(?:the|their|his|her|it|them|this|that|each|every|a|an)\b|\$|\d)"  # not "refunds and …"
                       r"|\b(?:via|through|using|call|calls|hit)\s+(?:the\s+|our\s+)?(?:[\w-]+\s+)?refund\s+(?:api|endpoint)\b"  # "via the Shopify refund API"
                       # "用Stripe退款", "在Shopify上给这单退款", "直接同意退款"; not "收入、退款和订阅数据"
                       r"|(?:发起|办理|直接|同意|批准|执行|进行)退款|退款给|退钱|退费|(?:里|上|中)(?:给[^,，。；;]{0,6}?)?退款|用\s*[a-z][\w ]{1,12}?\s*退款|调[a-z]{2,12}退款"),
    "cancel": ascii_re(r"\bcancel\s+(?:the|their|his|her|its|it|them|this|that|each|every|any|a|an|my|our|[a-z]+'s)\b"
                       r"|取消(?:掉)?(?:这个|该|对方的|他的|她的|客户的)?(?:订阅|订单|会员|预约|服务)|(?:订阅|订单|会员|预约)[^,，。；;]{0,4}?取消(?:掉)?"),
    "close": ascii_re(r"\bclose (?:out )?(?:it|them|the \w+|that \w+|this \w+|each \w+)\b"
                      r"|(?:把|将)[^,，。；;]{0,12}?(?<!已)(?<!经)(?:关闭|关掉)(?!的)|(?:关闭|关掉)(?:这个|该|这条|对应的|它|工单|issue|订单|会话)"),
    "reopen": ascii_re(r"\breopen\s+(?:it|them|the|this|that|each)\b|重新打开"),
    "comment": ascii_re(r"\b(?:comment|reply|respond|answer)(?:s|ed|ing)?\s+(?:on|to|in|under)\s+(?:the|that|this|it|each|their)\b"
                        r"|\bleave (?:a |an )?(?:[\w-]+ ){0,2}comment\b|\brequest changes on\b|\b(?:post|add)\b[^,.;]{0,40}?\bas (?:a |an )?(?:[\w-]+ )?(?:comment|note)\b"
                        r"|\badd (?:a |an )?(?:[\w-]+ )?(?:comment|note)\b"
                        r"|评论(?:到|在)|(?:发|写|加|留)(?:一条|个)?评论|作为评论|回复(?:到|在)?(?:这个|该|原)?(?:issue|工单|帖子|问题下)|(?:加|添加|写)(?:一条|个)?(?:内部)?备注"),
    # "add the label 'invoice'", "打上“大客户”标签"; "label it as bug or feature" is a classification
    "label": ascii_re(r"\b(?:add|apply|put|attach)\s+(?:the |a |an |that |this )?(?:[\"'][^\"']{1,30}[\"'] |[\w-]+ )?(?:label|tag)s?\b"
                      # "tag the customer as VIP in Shopify": one given value (a list of them is a classification)
                      r"|\btag (?:it|them|the \w+|this \w+) (?:as|with) (?!(?:an?\s+|its\s+|their\s+)?(?:category|categories|type|label|tag|sentiment|priority|topic)\b)(?:an? )?['\"]?[\w-]+['\"]?(?!\s*(?:,|/|\bor\b|\band\b))"
                      r"|(?:打|加|贴)(?:上)?[^,，。；;]{0,10}?标签|作为\s*(?:label|标签)\s*(?:加|打|贴)上?|\bas (?:a )?label\b"),
    "archive": ascii_re(r"\barchive\s+(?:it|them|the|this|that|each|every|all|its|their)\b|\b(?:gets?|is|are|be)\s+archived\b|(?<!已)归档(?!的)"),
    "assign": ascii_re(r"\b(?:re)?assign(?:s)?\s+(?:it|them|the \w+|this \w+|that \w+|each \w+)\s+to\b|(?:把|将)[^,，。；;]{0,12}?(?:分配|指派|转派)给"),
    # "save it as a Gmail draft", "存为草稿": written and kept for a person to send (a draft *reply* alone is the AI's text)
    "draft": ascii_re(r"\b(?:save|saved|store|keep|leave|put)\s+(?:it|them|the \w+|this|that|each \w+)?\s*(?:as|in|into)\s+(?:a |an |my |our |the )?(?:[\w-]+ )?drafts?\b"
                      r"|\b(?:create|make)\s+(?:a |an )?(?:[\w-]+ )?drafts?\s+(?:in|on)\b|(?:存|保存|放)(?:为|成|到|进)(?:邮件|邮箱)?草稿"),
    # "re-run the workflow through the GitHub API", "重跑一下流水线": the failed run again
    "rerun": ascii_re(r"\bre-?run\s+(?:it|them|the|this|that|each|all|its)\b|\bretry\s+(?:the|that|this)\s+(?:[\w-]+\s+)?(?:run|job|build|workflow|pipeline)\b"
                      r"|重跑|重新(?:运行|跑|执行|触发)"),
    "fulfill": ascii_re(r"\bfulfil+\s+(?:the|it|them|this|that|each)\b|\bmark (?:it|them|the order) as (?:shipped|fulfilled)\b|(?:自动|直接)发货"),
}

# an action as a node title: (zh, en), %s = the service
TITLES = {"refund": ("在 %s 退款", "Refund in %s"), "cancel": ("在 %s 取消", "Cancel in %s"),
          "close": ("在 %s 关闭", "Close in %s"), "reopen": ("在 %s 重新打开", "Reopen in %s"),
          "comment": ("在 %s 评论", "Comment in %s"), "label": ("在 %s 打标签", "Label in %s"),
          "archive": ("在 %s 归档", "Archive in %s"), "assign": ("在 %s 分配", "Assign in %s"),
          "fulfill": ("在 %s 发货", "Fulfil in %s"), "draft": ("在 %s 存草稿", "Save as a draft in %s"),
          "rerun": ("在 %s 重新运行", "Re-run in %s")}

_PARTS = compile_filtered(r"[,;，；。]|\s(?:and|then)\s|并且|并|然后|再|同时")
# what an action on the event's own record names ("close the issues it references")
_THE_RECORD = ascii_re(r"\b(?:issues?|tickets?|prs?|pull requests?|merge requests?|conversations?|orders?|cards?|tasks?|deals?|subscriptions?|"
                       r"payments?|charges?|invoices?|emails?|messages?|threads?)\b|工单|订单|issue|帖子|会话|卡片|任务|订阅|客户|好友")
_ON_THE_RECORD_ALWAYS = ("label", "comment", "assign", "draft")  # never said without a record (or mailbox) to act on


# "have GPT tag it as one of: demo / pricing / spam": the model's classification, not a label written in the app
_AI_TAGS = ascii_re(r"\b(?:have|let|ask|use|get)\s+(?:the\s+)?(?:ai|gpt|chatgpt|llm|model|claude|an? llm)\s+(?:to\s+)?(?:tag|label|categori[sz]e|classify)\b"
                    r"|(?:让|用)\s*(?:ai|gpt|大模型|模型)\s*(?:打标签|打上标签|贴标签)")


_ITS_RECORDS = ascii_re(r"\b(?:it|them|each(?: one)?|every one|each of them)\b|它们|每条|每个|逐条|逐个")


def first_asked(text: str, actions: tuple[str, ...]) -> str | None:
    """The action of ``actions`` a text asks for (the first one named), else None."""
    found = [(m.start(), name) for name in actions if (m := PHRASES[name].search(text))]
    return min(found)[1] if found else None


def asked_action(integ: ent.Integration | None, clause: str) -> tuple[str | None, str]:
    """"refund the payment in Stripe": (the service's own action the clause asks for, if it has
    it, and the part of the clause that names the service, else the whole clause)."""
    if integ is None or not integ.actions:
        return None, clause
    # the part of the clause that names the service ("refund it in Stripe | and email the customer")
    own = [p for p in _PARTS.split(clause) if any(alias in p for alias in (*integ.en, *integ.zh, integ.id))]
    names = tuple(a for a, _, _ in integ.actions if not (a == "label" and _AI_TAGS.search(clause)))
    for part in own or [clause]:
        action = first_asked(part, names)
        if action is not None:
            return action, part
    # "get all open Jira issues and comment on each one": the records just read, in a part naming no other app
    for part in (p for p in _PARTS.split(clause) if own and p not in own and _ITS_RECORDS.search(p)):
        action = first_asked(part, names)
        if action is not None and not ent.find_integrations(part)[0]:  # the costlier scan only for a part that asks
            return action, part
    return None, own[0] if own else clause


def with_asked_actions(clause: str, found: list[str], dests: list[str], srcs: list[str],
                       event_app: str | None) -> tuple[list[str], list[str]]:
    """(dests, srcs) with every service the clause asks for one of its own actions ("cancel that
    customer's subscription in Stripe", "在 Zendesk 里把这个工单重新打开") as a destination, whatever
    its usual role; with none named, the app the event came from when the action is on its record
    ("close the issues it references" after a merged PR, "把类别作为label加上去")."""
    asked = [sid for sid in found if (integ := ent.BY_ID.get(sid)) is not None and integ.actions
             and asked_action(integ, clause)[0]]
    app = event_app if not asked else None
    action = asked_action(ent.BY_ID[app], clause)[0] if app is not None and ent.BY_ID[app].actions else None
    if action is not None and (action in _ON_THE_RECORD_ALWAYS or _THE_RECORD.search(clause)):
        # "tag the customer as VIP in Klaviyo" after a Shopify order: done in the app the part names
        part = next((p for p in _PARTS.split(clause) if first_asked(p, (action,)) is not None), clause)
        if not any(x not in (app, "email") for x in ent.find_integrations(part)[0]):  # "… to the Sales team inbox" is no app
            asked = [app]
    return [*dests, *(x for x in asked if x not in dests)], [x for x in srcs if x not in asked]
