"""The delivery side of one clause's actions (offline planner, pure): :func:`_deliver` builds a
DeliverStep (its operation and recipient: a #channel, an address, a person), and the patterns
:func:`parse_actions <pilot.generation.plan_actions.parse_actions>` uses to decide where things
go when a clause names no service outright: a write to a URL, a destination noun ("the finance
queue", "财务组"), a reply back to the event, the person of the event, "and notify HR", a field
set on the record, "send it to the customer"."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.plan import DeliverStep
from pilot.generation.prefilter import compile_filtered
from pilot.generation.service_actions import asked_action
from pilot.generation.services import EMAIL_RE as _EMAIL
from pilot.generation.text import ascii_re

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


_CHANNEL = compile_filtered(r"#[\w-]+")
_WHO_EN = ascii_re(r"\b(?:(?:e-?mail|mail|text|message|forward|send) (?:it|this|that|these|those|them) to|email|e-mail|(?:^|(?<=\band )|(?<=&))e-?mails|mail|notify|remind|alert|message|ping|text|send (?:it |them |this |that |an? [\w ]{1,20}? )?to|"
                       r"forward (?:it |them )?to|cc)\s+(?:the |our |my |a |an |their )?(?!(?:confirmation|reminder|notification|summary|update|alert|digest|report|with|about|for|on|in|sent|goes|gets|is|was|will|all at once|at once|asking|telling|saying|letting|inviting|reminding|thanking|explaining|confirming)\b)(?P<who>[a-z][a-z ]{1,30}?)"
                       r"(?=\s+(?:with|about|that|saying|on|via|by|in|if|and|when|including|so|to|asking|telling|letting|reminding|inviting|thanking|explaining|confirming|an?|their|his|her|\d+)\b|[,.;]|$)")  # "email the hiring manager a short summary"
_PRONOUN_THEN_OBJECT = compile_filtered(r"(me|us|him|her|them)\s+(?:a|an|the|this|that|it|my|our|its|their|both|all)\b")
_WHO_ZH = compile_filtered(r"(?:发(?:邮件|消息|短信)?给|通知|告知|提醒|发送给|转给|抄送)(?!一下|下$|一声)(?P<who>[\u4e00-\u9fff]{1,8}?)(?=[,，。；;]|$|并|和|，|的邮箱)")
_WRITE_METHOD = compile_filtered(r"\b(?:post|put|patch)(?:ing|s)?\b[^,.;]{0,45}?\s+(?:to|at|on|into)\s+$|(?<![a-z])(?:post|put|patch|delete)(?:请求)?(?:到|给)?\s*$", re.I)
_WRITE_AFTER = compile_filtered(r"\s*(?:,\s*)?(?:创建|提交|写入|更新|新建|推送|上报|create|submit|update)")
_CALL_TO_SEND = compile_filtered(r"(?:直接|再|然后|并|就|马上|立即)?(?:调用|调)[^,，。;；]{0,14}?(?:接口|api)[^,，。;；]{0,3}?(?:把[^,，。;；]{1,10}?)?(?:群发|发送|推送|发|通知|回复|创建|提交|写入|写进|同步|录入|更新|下单|下一个|同意退款|退款|取消|关闭|暂停|停用|下架|上架|标记|改成|改为|修改|删除|作废|冻结|付款|支付|打款)")
_NAMED_SYSTEM = compile_filtered(r"系统|平台|后台|接口|\bapi\b|\bsystem\b|\bplatform\b|\bendpoint\b")
_NOT_DEST = {"webhook"}
_DESCRIBED_TARGET = compile_filtered(r"(?:是|这是)要?(?:发给|发送给|给)[^,，。]{0,14}的(?:邮件|内容|正文|文案|消息|通知)"
                                     # "营业数据会记在腾讯文档的表格里": where the data is kept, not a write
                                     r"|(?:会|都会|一般会|平时|每天都)(?:被)?(?:记|存|写|放|录)(?:在|到|进)")
_TO_THE_SENDER = ascii_re(r"给(?:他|她|对方|这位客户|该客户|新客户|好友|用户)发|发给(?:他|她|对方)|\bsend (?:them|him|her) an?\b"
                          r"|^(?:自动)?(?:发|回)(?:一条|一段|一句|个)?(?:欢迎|感谢|问候)|^(?:auto-?)?(?:send|post) (?:a |them a )?(?:welcome|thank-you|greeting) message\b")
_SET_FIELD = ascii_re(r"把(?:它|它的|这条|这条的|该条|该条的|对应的|这一行的?|(?:这|该|那)(?:一)?条(?:记录|数据|申请|订单|工单)的?)?(?:状态|阶段|标签|备注|跟进状态|字段)[^,，。；;]{0,6}?(?:改成|改为|更新为|更新成|设为|设置为|标记为|标成|置为)"
                      r"|\b(?:set|change|update|mark|move)\s+(?:its|the|their|that|this)\s+(?:[\w-]+\s+)?(?:status|stage|label|field|column|priority|owner|assignee)\b[^,.;]{0,20}?\b(?:to|as)\b")


_LOOKED_UP_OBJECT = ascii_re(r"\b(?:update|create|add|tag|edit|modify|archive|delete)\s+(?:them|it|him|her|the (?:contact|record|deal|row|lead|customer|page|card|issue|person))\b|"
                                 r"\bnew (?:contact|record|deal|lead|customer|row|page|card)\b|(?:更新|新建|创建)(?:一个|一条)?(?:联系人|客户|记录|线索)")


_ALSO_NOTIFY = ascii_re(
    r"(?:并|并且|同时|再)(?:通知|知会)(?:一下)?[\u4e00-\u9fff]{0,4}?(?:hr|人事|财务|老板|主管|经理|负责人|运营|客服|销售|老师|店长|团队|总监|同事)|"
    r"\b(?:and|then|also)\s+(?:notify|alert|ping)\s+(?:the\s+|our\s+|my\s+)?(?:hr|manager|team|boss|owner|finance|ops|admin|recruiter)\b|"
    r"\band let (?:the |our |my )?(?:hr|manager|team|boss|owner|finance|ops|admin|recruiter) know\b")


_TO_THEM = ascii_re(r"^(?:然后|再|并|最后)?(?:发|发送|推送)给(?:客户|用户|会员|家长|学员|对方|他|她|他们|她们|本人|每个人|每一位客户|这位客户|该客户)$"
                    r"|^(?:then\s+|and\s+)?send (?:it|them|each one|the (?:message|text|reply|draft)s?) (?:out )?to (?:the |each |that )?"
                    r"(?:customer|user|member|lead|client|parent|student|person|them|him|her)s?$")


def _request_messenger(state: _State) -> str:
    """The chat tool the request sends with elsewhere (钉钉, Slack…), else email."""
    named = ent.find_integrations(state.raw.lower())[0]
    # the app a customer wrote in is not where colleagues are told; a workplace messenger the event
    # came from is ("钉钉里有人提交请假审批时…通知部门总监")
    return next((s for s in named if ent.BY_ID[s].kind == "messaging" and s not in ("sms", "email")
                 and (s not in state.trigger_clause_services() or s in _WORKPLACE)), "email")


_WORKPLACE = frozenset({"dingtalk", "feishu", "wecom", "slack", "teams", "lark"})


# "售前的转给销售", "billing ones → hand them to finance": a case handed to a team or person, who
# works on a messenger (not a service called "转给销售")
HANDOFF = compile_filtered(r"^(?:直接|统一|一律)?(?:转给|转交给?|交给|派给|分给|丢给|推给|转到|转去)(?P<who>[\u4e00-\u9fff]{1,6}?)(?:那边|处理|跟进)?$"
                           r"|^(?:forward|hand|pass|escalate)\s+(?:(?:it|them|these|those)\s+)?(?:(?:off|over)\s+)?to\s+(?:the\s+|our\s+)?"
                           r"(?P<team>sales|support|finance|billing|legal|hr|ops|engineering|marketing|accounting|security|success)(?:\s+team)?$")
_NOT_A_PERSON = compile_filtered(r"[群表库系统平台接口队列邮箱频道]")


def handoff_messenger(state: _State) -> str:
    """Where a handed-off case goes: the chat tool the request sends with elsewhere, else the
    workplace messenger the request arrived on (a 企业微信 message handed to sales), else email."""
    named = _request_messenger(state)
    if named != "email":
        return named
    return next((s for s in sorted(state.trigger_clause_services()) if s in _WORKPLACE_CHAT), "email")


# where a team works, as opposed to where customers write from (WhatsApp, 公众号, SMS)
_WORKPLACE_CHAT = frozenset({"slack", "teams", "mattermost", "rocketchat", "google_chat", "zulip", "webex", "feishu", "dingtalk", "wecom"})


# A case action that names no known service must still name where things go ("the finance queue",
# "财务组", "招生老师"); otherwise ("or neutral", "比较急") it is not a delivery.
_DESTINATION_NOUN = ascii_re(
    r"\b(?:queue|inbox|team|channel|group|table|sheet|list|board|database|db|folder|system|crm|erp|api|endpoint|portal|"
    r"desk|tracker|backlog|log|wiki|drive|bucket|calendar|doc|docs|page|mailbox|address|hotline|on-?call|manager|lead|owner|"
    r"admin|department|dept|support|sales|finance|billing|legal|hr|ops|engineering|engineer|engineers|dev|devs|security|"
    r"marketing|it|accounting|payroll|recruiting|partners|reception|front desk|ticket|tickets|issue|issues|card|task|tasks|"
    r"record|records|row|rows|contact|deal|lead|leads|person|people|someone|me|us|them|him|her|customer|client|user|"
    r"(?<![\w.+-])[\w.+-]+@[\w.-]*)s?\b|[@#]|群|组|表|库|系统|平台|接口|队列|邮箱|频道|人|经理|主管|老师|财务|客服|销售|运营|老板|负责人|"
    r"同事|部门|团队|中心|专员|医生|律师|顾问|店长|仓库|后台|台账|工单|记录|文档|日历")


_REPLY_BACK_ANY = compile_filtered(r"(?:并|再|然后)?(?:回复|回)(?:到)?(?:评论|留言|私信)|发回(?:给)?(?:用户|客户|买家|对方|粉丝|他|她)|回复给(?:用户|客户|买家|对方|粉丝)"
                             r"|回复[^,，。；;]{0,4}?(?:发|发送)给(?:用户|客户|买家|对方|粉丝|他|她)"  # "生成一条客服回复发给买家"
                             r"|\b(?:post|posted|reply|replied)\s+(?:it\s+)?(?:under|to|below)\s+(?:the|their|that)\s+(?:comment|review|message|post)\b"
                             # "reply on the issue with an AI answer": on the record the event is about
                             r"|\b(?:reply|replies|respond|answer)\s+(?:on|to|in|under)\s+(?:the|that|this|their)\s+(?:issue|ticket|pr|pull request|merge request|mr|conversation|thread)\b")
_REPLY_BACK = compile_filtered(r"(?:就|则|直接|自动|马上|立刻|再|然后|并)*(?:在[^,，。；;]{1,8}?(?:上|里))?(?:就|则|直接|自动|马上|立刻)*(?:回复|答复|回(?:他|她|他们|对方|买家|客户|用户))|(?:then\s+|just\s+|automatically\s+)?"
                         r"(?:reply|respond)(?:\s+to)?\s+(?:them|him|her|it|the (?:customer|buyer|user|sender|comment|message|review))\b")


def _emails_someone(clause: str) -> bool:
    # "发到 hr@xinghe-tech.com", "send it to ops@acme.io": an address is an email recipient
    return bool(re.search(r"\b(?:e-?mail|mail)\b|邮件|邮箱|[回发写](?:一|个)?封.{0,8}?信|回信|感谢信|拒信|婉拒信|邀请信", clause) or _EMAIL.search(clause))


def _service_phrase(text: str) -> str | None:
    system = re.search(r"(?:在|到|往|进)?(?P<name>[\u4e00-\u9fffa-z0-9]{1,8}?(?:系统|平台|后台))", text)
    if system:  # "在工单系统里建一条工单(POST接口)" → 工单系统
        return system.group("name")
    text = re.split(r"\s+(?:as|for|with|so|to|and)\s+", text, maxsplit=1)[0]  # "greenhouse as a new candidate"
    words = re.findall(r"[\w\u4e00-\u9fff]+", text)
    return " ".join(words[:4]) if words else None


_LET_KNOW = compile_filtered(r"\blet (?P<who>(?:the|their|our|his|her|my) [\w-]+(?: [\w-]+)?|[a-z]+) know\b")  # "let their manager know"


def _deliver(sid: str, clause: str, state: _State, target: str | None = None) -> DeliverStep:
    integ = ent.BY_ID.get(sid)
    # no verb says how: a table or app takes its own write ("不紧急的 → 飞书多维表格" creates a record), a messenger is sent to
    op = ph.delivery_op(clause) or (integ.write_op if integ and integ.kind != "messaging" and integ.write_op else "send")
    if integ and integ.kind == "messaging" and (op in ("append", "create", "update") or (op == "upsert" and not ph.STORAGE_WORDS.search(clause))):
        op = "send"  # "写进多维表格，并在钉钉上通知申请人", "email them a reminder to update their card": a messenger is sent to
    action, part = asked_action(integ, clause)
    if target is None:
        where = part if action else clause  # "在 Stripe 退款并通知客户": the customer is the email's, not the refund's
        channel = _CHANNEL.search(where) if not (integ and integ.category == "email") else None  # "#big-orders" is no inbox
        address = _EMAIL.search(where)
        who = _LET_KNOW.search(where) or (_WHO_ZH if state.lang == "zh" else _WHO_EN).search(where)
        target = channel.group(0) if channel else address.group(0) if address else (who.group("who").strip() if who else None)
        if target and (pronoun := _PRONOUN_THEN_OBJECT.match(target)):
            target = pronoun.group(1)  # "email me a short digest": me (the digest is what is sent)
        if target and (ent.find_integrations(target)[0] or ph.WHEN_WORDS.fullmatch(target)):
            target = None  # "send it to Slack": the service; "email right away": how soon; not a recipient
    # (the chat's edit planner passes a state without a trigger: no submission to read from)
    if target and integ and integ.category == "email" and getattr(state, "trigger_kind", None) in ("form", "webhook", "app_event"):
        target = _submitted_address(target, state.raw.lower()) or target
    return DeliverStep(id=state.uid(f"deliver_{sid}"), service=sid, operation=op, target=target, quote=clause[:200],  # type: ignore[arg-type]
                       action=action)


def _submitted_address(who: str, raw: str) -> str | None:
    """"let their manager know by email" when the form asks for a "manager email": the address the
    submission carries (``payload.manager_email``, which the compiler reads from the trigger's
    data), not a fixed address configured once."""
    core = re.sub(r"^(?:the|their|our|his|her|its|my|each|every)\s+", "", who.strip().lower())
    if not re.fullmatch(r"[a-z]+(?: [a-z]+)?", core):
        return None  # (a field named in Chinese, "主管邮箱", stays a run input: not a key a template can name)
    said = re.search(rf"\b{re.escape(core)}(?:'s)?\s+e-?mail\b|\be-?mail (?:address )?of (?:the |their )?{re.escape(core)}\b", raw)
    return f"payload.{core.replace(' ', '_')}_email" if said else None


_TO_GROUP = compile_filtered(r"(?:发|推送?|通知|同步)(?:到|给|进)?[^,，。；;]{0,6}群(?!组)")
_SUITE_MESSENGER = {"feishu": "feishu", "dingtalk": "dingtalk", "wecom": "wecom", "lark": "feishu"}


def _group_messenger(state: _State) -> str:
    """The messenger a group message goes to: one the request names, else the one of the suite a named
    service belongs to (飞书多维表格 → 飞书), else email."""
    found = _request_messenger(state)
    if found != "email":
        return found
    named = ent.find_integrations(state.raw.lower())[0]
    return next((_SUITE_MESSENGER[n.split("_")[0]] for n in named if n.split("_")[0] in _SUITE_MESSENGER), "email")
