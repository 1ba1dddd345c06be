"""Node shapes per service: what a source reads from and how a delivery reaches its target.

Native connectors (``slack``, ``email``, the ``feishu``/``dingtalk``/``wecom`` group bots, the
generic ``webhook``) become ``tool`` nodes. Any other named service becomes an ``api`` node
that names the service and operation, posts to the service's well-known endpoint, or to an
endpoint asked for as a run input when it has none — never a mislabelled generic webhook.
Titles and prompts are in the request's language.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pilot.chat.graph_ops import unique_id
from pilot.generation.prefilter import compile_filtered
from pilot.generation import entities as ent
from pilot.generation import service_actions as actions
from pilot.generation import storage
from pilot.generation.plan import AiStep, BranchStep, DeliverStep, SourceStep
from pilot.generation.planner_messages import message_subject

if TYPE_CHECKING:
    from pilot.generation.compile_steps import Builder

BOT_TOOLS = ("feishu", "dingtalk", "wecom")
EMAIL_RE = compile_filtered(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # the lookbehind: one try per run, not one per character
SEARCH_URL = "https://html.duckduckgo.com/html/?q={{ %s | urlencode }}"

TASK_TITLES = {
    "classify": ("分类", "Classify"), "extract": ("提取信息", "Extract the details"), "score": ("打分", "Score"),
    "summarize": ("总结", "Summarise"), "translate": ("翻译", "Translate"), "generate": ("生成内容", "Write"),
    "answer": ("回答", "Answer"), "agent": ("智能体", "Agent"), "analyze": ("分析", "Analyse"),
}
TASK_SYSTEM = {
    "classify": ("你是一个精确的分类器。只从给定类别中选择一个。", "You are a precise classifier. Pick exactly one of the given categories."),
    "extract": ("你从文本中提取结构化信息。", "You extract structured information from text."),
    "score": ("你按 0-10 分打分并给出简短理由。", "You score on a 0-10 scale and give a short reason."),
    "summarize": ("你写简洁、准确的摘要。", "You write concise, accurate summaries."),
    "translate": ("你是专业翻译。", "You are a professional translator."),
    "generate": ("你是一位优秀的写作者。", "You are a skilled writer."),
    "answer": ("你根据给定资料如实回答。", "You answer truthfully from the material given."),
    "agent": ("你是一个会使用工具的智能体。", "You are an agent that uses tools to finish the task."),
    "analyze": ("你是一位数据分析师。", "You are a data analyst."),
}


def lookup(name: str | None) -> ent.Integration | None:
    """The registry entry for an id, display name or alias (``None`` when unknown)."""
    if not name:
        return None
    find = getattr(ent, "lookup_service", None)
    if find is not None:
        return find(name)
    key = re.sub(r"[\s_\-]", "", name.lower())
    for integ in ent.INTEGRATIONS:
        names = (integ.id, integ.name, *integ.en, *integ.zh)
        if any(re.sub(r"[\s_\-]", "", n.lower()) == key for n in names):
            return integ
    return None


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]
    return slug if re.match(r"[a-z]", slug) else "service"


def service_id(name: str) -> str:
    integ = lookup(name)
    return integ.id if integ else _slug(name)


def display(name: str) -> str:
    integ = lookup(name)
    return integ.name if integ else name


# ---------------------------------------------------------------- sources


def source_node(b: Builder, s: SourceStep) -> dict[str, Any]:
    """An ``api`` node that reads from the step's service, URL, feed or web search."""
    if s.from_ == "web_search":
        query = s.query and json.dumps(s.query, ensure_ascii=False) or (b.data() or [b.input_field("query")])[0]
        return {"id": b.uid(s.id), "type": "api", "title": b._t("联网搜索", "Search the web"),
                "config": {"url": SEARCH_URL % query, "method": "GET", "service": "web_search", "operation": "search"}}
    sid = service_id(s.service) if s.service else "web"
    integ = lookup(s.service)
    url = s.url or (integ and (integ.object_url(s.quote) or integ.feed_url or integ.api_url)) or ""
    if not url:
        field = b.input_field(f"{sid.removesuffix('_api')}_api_url", description=b._t(f"{display(sid)} 的读取接口地址",
                                                                 f"{display(sid)} endpoint to read from"))
        url = "{{ " + field + " }}"
    for name in re.findall(r"\{\{\s*inputs\.(\w+)\s*\}\}", url):
        b.input_field(name, description=f"{display(sid)}: {name.replace('_', ' ')}")
    query = {k: v for k, v in s.params.items()}
    name = display(s.service) if s.service else url.split("/")[2] if "//" in url else url
    return {"id": b.uid(s.id), "type": "api", "title": b._t(f"获取 {name}", f"Fetch {name}"),
            "config": {"url": url, "method": "GET", "headers": {"Accept": "application/json, application/xml, text/*"},
                       "query": query, "service": sid, "operation": s.operation or "list"}}


# ---------------------------------------------------------------- AI steps


def ai_title(b: Builder, s: AiStep) -> str:
    zh, en = TASK_TITLES[s.task]
    if s.task == "translate" and s.language:
        return b._t(f"翻译成{s.language}", f"Translate into {s.language}")
    if s.task == "classify" and s.categories:
        return b._t("分类：", "Classify: ") + " / ".join(s.categories[:5])
    return b._t(zh, en)


def ai_system(b: Builder, s: AiStep) -> str:
    zh, en = TASK_SYSTEM[s.task]
    if s.task == "agent" and s.tools:
        tools = ", ".join(display(t) for t in s.tools)
        return b._t(f"{zh}可用工具：{tools}。", f"{en} Tools you may use: {tools}.")
    return b._t(zh, en)


def ai_prompt(b: Builder, s: AiStep, inputs: list[str]) -> str:
    """The instruction (the request's own words), the categories, then the data it works on."""
    lines = [_safe(s.instruction or s.quote) or b._t("处理以下内容。", "Process the following.")]
    if s.task == "classify" and s.categories:
        lines.append(b._t("类别：", "Categories: ") + ", ".join(s.categories))
    if s.task == "translate" and s.language:
        lines.append(b._t(f"目标语言：{s.language}", f"Target language: {s.language}"))
    for ref in inputs:
        label = b._t("用户消息", "User message") if ref == "inputs.message" else b._t("内容", "Input")
        lines.append(f"\n{label}:\n{{{{ {ref} }}}}")
    return "\n".join(lines)


_DELIMITERS = re.compile(r"\{[{%#]|[}%#]\}")  # jinja2's: a request's words never open a template


def _safe(text: str) -> str:
    """Request words inside a jinja2 prompt: template delimiters are neutralised."""
    return _DELIMITERS.sub(lambda m: m.group(0)[0] + " " + m.group(0)[1], text).strip()


def branch_title(b: Builder, s: BranchStep) -> str:
    if len(s.cases) == 1:
        return b._t("判断条件", "Check the condition")
    labels = " / ".join(c.label for c in s.cases[:5])
    return b._t(f"按{s.field}分支：{labels}", f"Route by {s.field}: {labels}")


# ---------------------------------------------------------------- deliveries


_METHOD_BEFORE = compile_filtered(r"(?<![a-z])(post|put|patch|delete)(?![a-z])\W{0,3}$", re.I)


def _method_named(quote: str, target: str) -> str | None:
    """The HTTP method the request names right before ``target`` ("call DELETE https://…", "PATCH /claims/{id}")."""
    at = quote.lower().find(target.lower())
    named = _METHOD_BEFORE.search(quote[:at].rstrip()) if at > 0 else None
    return named.group(1).upper() if named else None


def delivery_node(b: Builder, s: DeliverStep, content: list[str]) -> dict[str, Any]:
    """A tool node for native connectors, a data table for the generic database, otherwise an api
    node naming service and operation."""
    if storage.is_generic_database(s.service):
        return storage.table_node(b, s, content)
    integ = lookup(s.service)
    sid = integ.id if integ else _slug(s.service)
    name = integ.name if integ else s.service
    text = text_of(content) or b._t("工作流已完成", "The workflow finished")
    tool = integ.tool if integ else "webhook"
    verb = {"append": ("追加到", "Append to"), "update": ("更新", "Update"), "create": ("在 %s 创建", "Create in"),
            "upsert": ("写入", "Upsert into")}.get(s.operation, ("发送到", "Send to"))
    title = (verb[0] % name if "%s" in verb[0] else verb[0] + " " + name) if b.zh else f"{verb[1]} {name}"
    if s.target:
        title += f" ({s.target.removeprefix('payload.').replace('_', ' ')[:40]})"
    own = integ.action(s.action) if integ else None  # "refund the payment in Stripe": its own endpoint (an api node)
    if own is not None:
        tool = "webhook"
        title = b._t(*actions.TITLES[s.action]) % name  # type: ignore[index]
        if s.target:
            title += f" ({s.target[:40]})"
    nid = b.uid(f"{s.action}_{sid}" if own is not None else f"{s.operation}_{sid}" if s.operation not in ("send", "post")
                else f"send_{sid}")
    # Where a delivery needs a secret (a bot or Slack webhook URL) the workflow names a credential
    # (pilot.credentials); readiness lists it until it exists. Secrets are never run inputs.
    if tool == "slack":
        args: dict[str, Any] = {"text": text, "webhook_url": "{{ credentials.slack_webhook }}"}
        if s.target and s.target.startswith("#"):
            args["channel"] = s.target
        return {"id": nid, "type": "tool", "title": title, "config": {"tool": "slack", "arguments": args}}
    if tool == "email":
        return {"id": nid, "type": "tool", "title": title, "config": {"tool": "email", "arguments": {
            "to": _recipient(b, s.target, s.quote), "subject": message_subject(s.quote, b.zh) or "πlot: " + b._t("工作流结果", "workflow result"), "body": text}}}
    if tool in BOT_TOOLS:
        url = "{{ credentials." + f"{tool}_bot" + " }}"
        return {"id": nid, "type": "tool", "title": title, "config": {"tool": tool, "arguments": {"webhook_url": url, "text": text}}}
    if sid == "webhook" or tool != "webhook" and not integ:
        url = "{{ " + b.input_field("webhook_url", description=b._t("接收结果的 Webhook 地址", "webhook URL to send to")) + " }}"
        return {"id": nid, "type": "tool", "title": title,
                "config": {"tool": "webhook", "arguments": {"url": url, "payload": {"text": text}}}}
    url = (s.operation == "update" and integ.update_url or integ.write_url) if integ else ""
    if integ and url and url == integ.api_url and s.operation != "update":  # "create a deal in HubSpot"
        url = integ.object_url(s.quote) or url
    method = "PUT" if s.operation == "update" else "POST"
    if own is not None:
        method, url = own
    if not integ and s.target and re.match(r"https?://|/", s.target):
        # the request's own endpoint: "调用 POST https://erp.example.com/api/aftersale", or "POST /api/tickets" on
        # the team's own system (its base URL set once, the path the request's), with the method it names
        url = s.target if s.target.startswith("http") else "{{ " + b.input_field(
            f"{sid}_base_url", description=b._t(f"{name} 的接口根地址", f"{name} base URL")) + " }}" + s.target
        method = _method_named(s.quote or "", s.target) or method
    if not url:
        description = b._t(f"{name} 的写入接口地址", f"{name} endpoint to {s.operation} to")
        url = "{{ " + b.input_field(_distinct(b, f"{sid}_url", description), description=description) + " }}"
    for field in re.findall(r"\{\{\s*inputs\.(\w+)\s*\}\}", url):
        b.input_field(field, description=f"{name}: {field.replace('_', ' ')}")
    joined = " ~ '\\n\\n' ~ ".join(f"({r})" for r in content) or json.dumps(text)
    named = s.target and s.target != url  # a URL target is where it goes, not part of what is sent
    phone = _phone_recipient(b, s.target, s.quote) if sid in PHONE_SERVICES else None
    if phone is not None:  # "text the customer …", "逐个给他们发短信": the number of the person the run is about
        named = False
    body = '{"text": {{ ' + joined + ' | tojson }}' + (f', "target": {json.dumps(s.target, ensure_ascii=False)}' if named else "") \
        + (f', "to": {phone}' if phone is not None else "") + " }"
    return {"id": nid, "type": "api", "title": title,
            "config": {"url": url, "method": method, "headers": {"Content-Type": "application/json"},
                       # an app the lexicon does not know keeps the name the request gives it ("旺店通"), not "service"
                       "service": sid if integ or name.isascii() else name[:64],
                       "operation": s.action if own is not None else s.operation, "body": body}}


def text_of(refs: list[str]) -> str:
    """The delivered text: one value as is, several each under a short label (a string that is
    one ``{{ … }}`` would be read as a single expression)."""
    if len(refs) == 1:
        if refs[0].startswith('"') and not _DELIMITERS.search(literal := json.loads(refs[0])):
            return literal  # a quoted message, as plain text where it holds no template delimiters
        return "{{ " + refs[0] + " }}"
    return "\n\n".join(f"{_label(r)}:\n{{{{ {r} }}}}" for r in refs)


def _label(ref: str) -> str:
    parts = [p for p in ref.split(".") if p not in ("nodes", "output", "body", "inputs")]
    return (parts[0] if parts else "result").replace("_", " ")


# the person a run is about: who submitted the form / is in the event, or the item a loop is on
_THE_PERSON = compile_filtered(r"(?:the |each |every |that |this )?(?:them|him|her|they|customer|candidate|applicant|student|patient|user|sender|"
                         r"lead|employee|buyer|member|attendee|new hire|contact|requester|submitter|person|client|guest|subscriber|"
                         r"learner|parent|participant|registrant|signup|prospect|respondent|shopper|客户|候选人|学员|学生|患者|用户|员工|买家|"
                         r"会员|申请人|报名人|他|她|他们|本人|对方)s?")
_SENT_TO_THE_PERSON = compile_filtered(r"\b(?:send|email|e-mail|mail|reply to|thank|invite|remind)\s+(?:them|him|her|the (?:customer|candidate|applicant|"
                                 r"student|patient|user|sender|lead|employee|buyer|member|attendee|new hire|contact|person|client|guest|"
                                 r"subscriber|participant|prospect)s?)\b|\bto the (?:customer|candidate|applicant|student|patient|user|sender|"
                                 r"buyer|member|attendee|client|guest|participant)s?\b|\b(?:second|another|follow-?up|reminder|final)\s+(?:[\w-]+\s+)?e-?mail\b|再发一封|给(?:客户|候选人|学员|学生|患者|用户|员工|买家|会员|申请人|他|她|本人|对方)(?:发|回)")


# services that reach one person at a phone number
PHONE_SERVICES = frozenset({"sms", "phone_call", "whatsapp", "aliyun_sms", "tencent_sms"})
_PHONE_NUMBER = compile_filtered(r"\+?\d[\d\s-]{5,18}\d")
_MESSAGED_THE_PERSON = compile_filtered(
    r"\b(?:sms|text|call|phone|message|whatsapp|remind|send)\s+(?:them|him|her|the (?:customer|candidate|applicant|student|patient|"
    r"user|lead|employee|buyer|member|attendee|contact|client|guest|subscriber|participant|prospect|shopper)s?)\b"
    r"|给(?:客户|候选人|学员|学生|患者|用户|员工|买家|会员|申请人|报名人|他|她|本人|对方)们?(?:各)?(?:发|打|回)")


def _persons(b: Builder, target: str | None, about_them: bool, field: str) -> str | None:
    """Where ``field`` of the person the run is about is: what the trigger carries at the target's
    payload path, else (when the request is about them) the loop's item or the submission / event;
    None for anyone else. Shared by email addresses and phone numbers."""
    carried = b.payload_path(target) if target else None
    if carried:  # the field the form / webhook / event carries (action_deliveries._submitted_address)
        return "inputs." + carried
    if about_them and b.in_loop:  # "for each overdue customer, email them a reminder": that customer's
        return f"{b.loop_item}.{field}"
    if about_them and b.plan.trigger.__struct_config__.tag in ("form", "webhook", "app_event"):
        return f"{b.trigger_data()}.{field}"  # "send them a confirmation email": who submitted it
    return None


def _phone_recipient(b: Builder, target: str | None, quote: str) -> str | None:
    """The number an SMS / call / WhatsApp message goes to, as a body value: one the request gives,
    else the number of the person the run is about (the loop's item, the submission / event);
    None when the request names no one in particular (the body then names the target)."""
    if target and _PHONE_NUMBER.fullmatch(target.strip()):
        return json.dumps(target.strip())
    about_them = _THE_PERSON.fullmatch(target.strip()) if target else _MESSAGED_THE_PERSON.search(quote)
    path = _persons(b, target, bool(about_them), "phone")
    return "{{ " + path + " | tojson }}" if path else None


def _recipient(b: Builder, target: str | None, quote: str = "") -> str:
    """An address the request gives, else the address of the person the run is about (the loop's
    item, the submission / event), else a run input named after who receives it."""
    if target and EMAIL_RE.fullmatch(target.strip()):
        return target.strip()
    # ("forward it to them": to someone the run looked up, not back to who sent it)
    about_them = (_THE_PERSON.fullmatch(target.strip()) if target else _SENT_TO_THE_PERSON.search(quote)) \
        and not re.search(r"\bforward|转发", quote)
    path = _persons(b, target, bool(about_them), "email")
    if path:
        return "{{ " + path + " }}"
    who = _slug(target or "")
    who = re.sub(r"^(the|our|my|a|an|their|his|her|its)_", "", who) if who != "service" else ""
    name = f"{who}_email" if who and len(who) <= 30 else "email_to"
    description = b._t(f"收件人（{target}）" if target else "收件人", f"recipient ({target})" if target else "recipient")
    # "前端: 对应面试官" / "后端: 对应面试官": each recipient its own input, not one address for all of them
    return "{{ " + b.input_field(_distinct(b, name, description), description=description) + " }}"


def _distinct(b: Builder, name: str, description: str) -> str:
    """``name``, or ``name_2``, ``name_3``… when a run input of that name already stands for
    something else (two warehouses' endpoints, three interviewers' addresses): one input each."""
    return unique_id(name, {f["name"] for f in b.fields if f["description"] != description})


def trigger_title(b: Builder, trigger: dict[str, Any]) -> str:
    kind = trigger["kind"]
    if kind == "schedule":
        return b._t("定时触发 ", "Schedule ") + trigger["cron"]
    if kind == "app_event":
        return f"{display(trigger['service'])}: {trigger['event']}"
    return {"manual": b._t("开始", "Start"), "webhook": b._t("Webhook 触发", "Webhook"), "chat": b._t("聊天消息", "Chat message"),
            "form": b._t("表单提交", "Form submitted")}[kind]
