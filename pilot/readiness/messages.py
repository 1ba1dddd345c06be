"""Every readiness message, in English and Chinese (one table), and the request's language.

Placeholders are ``{word}``; text such as ``{{ credentials.slack_webhook }}`` (spaces inside the
braces) is left as it is.
"""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["en", "zh"]
KINDS: tuple[str, ...] = ("credential", "knowledge_base", "input", "tool_config", "outbound_host", "workflow", "code", "table")
NOTE_KINDS: tuple[str, ...] = ("agent",)

MESSAGES: dict[str, tuple[str, str]] = {  # key: (English, 中文)
    "credential_missing": (
        "Node '{node}' needs the credential '{name}', which this workspace does not have: create it with POST /api/credentials.",
        "节点“{node}”需要凭据“{name}”，但此工作区没有：请通过 POST /api/credentials 创建。",
    ),
    "knowledge_base_missing": (
        "Node '{node}' searches the knowledge base '{name}', which does not exist in this workspace: "
        "create it (POST /api/knowledge-bases) and add documents.",
        "节点“{node}”检索知识库“{name}”，但此工作区中没有这个知识库：请创建它（POST /api/knowledge-bases）并添加文档。",
    ),
    "knowledge_base_empty": (
        "The knowledge base '{name}' that node '{node}' searches has no documents: add at least one.",
        "节点“{node}”检索的知识库“{name}”还没有文档：请至少添加一篇。",
    ),
    "input_manual": (
        "Required input '{name}' has no default: give it when you start a run (input_data.{name}).",
        "必填输入“{name}”没有默认值：启动运行时请提供（input_data.{name}）。",
    ),
    "input_webhook": (
        "Required input '{name}' has no default: the webhook trigger supplies it as the payload field '{name}' "
        "(a manual run gives input_data.{name}).",
        "必填输入“{name}”没有默认值：由 Webhook 触发器请求体中的字段“{name}”提供（手动运行时提供 input_data.{name}）。",
    ),
    "input_form": (
        "Required input '{name}' has no default: the form trigger supplies it as the form field '{name}' "
        "(a manual run gives input_data.{name}).",
        "必填输入“{name}”没有默认值：由表单触发器的表单字段“{name}”提供（手动运行时提供 input_data.{name}）。",
    ),
    "input_schedule": (
        "Required input '{name}' has no default: scheduled runs start without inputs, so give it a default "
        "(a manual run gives input_data.{name}).",
        "必填输入“{name}”没有默认值：定时触发的运行不带输入，请为它设置默认值（手动运行时提供 input_data.{name}）。",
    ),
    "input_chat": (
        "Required input '{name}': the chat trigger supplies it with each chat message.",
        "必填输入“{name}”：由聊天触发器以每条聊天消息提供。",
    ),
    "input_chat_other": (
        "Required input '{name}' has no default: a chat message supplies 'message', so each call of the chat hook "
        "must also send '{name}' (or give it a default; a manual run gives input_data.{name}).",
        "必填输入“{name}”没有默认值：聊天消息只提供“message”，每次调用聊天 Hook 时还须传入“{name}”"
        "（或为它设置默认值；手动运行时提供 input_data.{name}）。",
    ),
    "tool_unknown": (
        "Node '{node}' calls the tool '{name}', which this server does not have (available: {available}).",
        "节点“{node}”调用的工具“{name}”在此服务器上不存在（可用：{available}）。",
    ),
    "tool_email": (
        "Node '{node}' sends email, but no SMTP server is configured: set SMTP_HOST "
        "(and SMTP_PORT, SMTP_USER, SMTP_PASSWORD) on the server.",
        "节点“{node}”要发送邮件，但服务器没有配置 SMTP：请在服务器上设置 SMTP_HOST（以及 SMTP_PORT、SMTP_USER、SMTP_PASSWORD）。",
    ),
    "tool_slack": (
        "Node '{node}' posts to Slack without a webhook: pass the webhook_url argument "
        "(e.g. {{ credentials.slack_webhook }}) or set SLACK_WEBHOOK_URL on the server.",
        "节点“{node}”要发到 Slack，但没有 Webhook：请传入 webhook_url 参数（例如 {{ credentials.slack_webhook }}），"
        "或在服务器上设置 SLACK_WEBHOOK_URL。",
    ),
    "tool_argument": (
        "Node '{node}' calls the tool '{name}' without its '{argument}' argument.",
        "节点“{node}”调用工具“{name}”时缺少参数“{argument}”。",
    ),
    "tool_webhook_url": (
        "Node '{node}' posts to the {name} group bot without its webhook_url: pass it as an argument "
        "(e.g. {{ credentials.{name}_webhook }}).",
        "节点“{node}”要发到 {name} 群机器人，但缺少 webhook_url：请以参数传入（例如 {{ credentials.{name}_webhook }}）。",
    ),
    "tool_argument_credential": (
        "Node '{node}' cannot use the tool '{name}': its '{argument}' argument refers to the credential "
        "'{credential}', which this workspace does not have.",
        "节点“{node}”无法使用工具“{name}”：参数“{argument}”引用的凭据“{credential}”在此工作区中不存在。",
    ),
    "tool_not_configured": (
        "Node '{node}' calls the tool '{name}', which is not configured on this server.",
        "节点“{node}”调用的工具“{name}”在此服务器上尚未配置。",
    ),
    "outbound_host": (
        "Node '{node}' calls {name}, which the outbound guard refuses ({reason}): add it to PILOT_HTTP_ALLOWLIST "
        "or set PILOT_HTTP_ALLOW_PRIVATE=true on the server.",
        "节点“{node}”访问的 {name} 会被出站防护拒绝（{reason}）：请在服务器上把它加入 PILOT_HTTP_ALLOWLIST，"
        "或设置 PILOT_HTTP_ALLOW_PRIVATE=true。",
    ),
    "workflow_missing": (
        "Node '{node}' runs the workflow '{name}', which is not a workflow of this workspace: pick the workflow to run "
        "(set its workflow_id to one of GET /api/workflows).",
        "节点“{node}”运行的工作流“{name}”不是此工作区的工作流：请选择要运行的工作流（把 workflow_id 设为 GET /api/workflows 中的一个）。",
    ),
    "workflow_version_missing": (
        "Node '{node}' runs version {version} of the workflow '{name}', which does not exist: pick an existing version "
        "or remove the pin to run its published head.",
        "节点“{node}”运行工作流“{name}”的第 {version} 版，但该版本不存在：请选择已有版本，或去掉固定版本以运行已发布的版本。",
    ),
    "workflow_unpublished": (
        "Node '{node}' runs the workflow '{name}', which has no published version: publish it, or pin a version.",
        "节点“{node}”运行的工作流“{name}”还没有已发布的版本：请先发布它，或固定一个版本。",
    ),
    "code_language": (
        "Node '{node}' is {name} code, which this server does not run (code steps run {languages}): rewrite it in Python.",
        "节点“{node}”是 {name} 代码，此服务器不支持（代码节点只运行 {languages}）：请改用 Python 编写。",
    ),
    "agent_no_tools": (
        "Node '{node}' is an agent without tools: it can only answer from the model, in one turn. Give it tools "
        "(tool ids, MCP tools, tables or workflows), or use an llm step.",
        "节点“{node}”是没有工具的智能体：只能由模型一次性作答。请为它添加工具（工具、MCP 工具、数据表或工作流），或改用 LLM 节点。",
    ),
    "agent_tool_missing": (
        "Node '{node}' is an agent that uses the tool '{name}' ({ref}), which is neither a tool of this workspace nor a "
        "connector: configure a tool named {name} (POST /api/tools, e.g. the http connector with its URL).",
        "节点“{node}”是使用工具“{name}”（{ref}）的智能体，但此工作区没有这个工具，也没有同名连接器：请配置一个名为 {name} 的工具"
        "（POST /api/tools，例如 http 连接器加上它的地址）。",
    ),
    "agent_api_missing": (
        "Node '{node}' is an agent that calls the API '{name}' ({ref}), which is no http tool of this workspace: "
        "configure an http tool named {name} (POST /api/tools {\"connector\": \"http\", …}).",
        "节点“{node}”是调用接口“{name}”（{ref}）的智能体，但此工作区没有这个 http 工具：请配置一个名为 {name} 的 http 工具"
        "（POST /api/tools，connector 为 http）。",
    ),
    "table_missing": (
        "Node '{node}' uses the data table '{name}', which does not exist in this workspace: create the data table {name} "
        "(POST /api/tables) with the columns {columns}.",
        "节点“{node}”使用的数据表“{name}”在此工作区中不存在：请创建数据表 {name}（POST /api/tables），列为 {columns}。",
    ),
    "not_ready": (
        "the workflow is not ready to publish ({count} missing: {first}); supply them, or publish with ?force=true",
        "工作流尚不能发布（缺少 {count} 项：{first}）；请先补齐，或使用 ?force=true 强制发布",
    ),
}

# The outbound guard's reasons (pilot.outbound.blocked_reason), by the words that identify them.
REASONS_ZH: tuple[tuple[str, str], ...] = (
    ("host name", "本机主机名"),
    ("IPv4-mapped", "IPv4 映射的 IPv6 地址"),
    ("site-local", "站点本地地址"),
    ("embedding", "内嵌了受限 IPv4 的 IPv6 地址"),
    ("unspecified", "未指定地址"),
    ("loopback", "回环地址"),
    ("link-local", "链路本地地址（云元数据服务所在）"),
    ("multicast", "组播地址"),
    ("private", "私有网络地址"),
    ("reserved", "保留地址"),
    ("non-public", "非公网地址"),
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def message(key: str, lang: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` with ``{word}`` placeholders filled."""
    text = MESSAGES[key][1 if lang == "zh" else 0]
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def reason_text(reason: str, lang: str) -> str:
    if lang != "zh":
        return reason
    return next((zh for words, zh in REASONS_ZH if words in reason), reason)


def normalize(value: str | None) -> Lang | None:
    """``zh``/``zh-CN``/``zh_Hans`` → ``zh``; ``en…`` → ``en``; anything else → None."""
    text = (value or "").strip().lower()
    if text.startswith("zh"):
        return "zh"
    if text.startswith("en"):
        return "en"
    return None


def language_from(lang: str | None = None, accept_language: str | None = None) -> Lang:
    """The request's language: ``?lang=`` first, else ``Accept-Language`` starting with ``zh``, else English."""
    return normalize(lang) or ("zh" if (accept_language or "").strip().lower().startswith("zh") else "en")
