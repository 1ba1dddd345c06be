"""n8n nodes that talk to apps (e-mail, Gmail, Slack, Telegram), answer webhooks or run other
workflows → πlot tool, api, output and workflow nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pilot.interop.n8n_nodes import BASE, NoMapping, rl

if TYPE_CHECKING:
    from pilot.interop.n8n_import import N8nImport, Src


def map_email(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    if src.type == BASE + "gmail" and (p.get("resource", "message") != "message" or p.get("operation", "send") != "send"):
        raise NoMapping(f"Gmail {p.get('resource', 'message')} / {p.get('operation')} (only sending maps to the email tool)")
    if src.type == BASE + "emailSend" and p.get("operation", "send") != "send":
        raise NoMapping(f"email '{p.get('operation')}' (only sending maps to the email tool)")
    to = p.get("toEmail", p.get("sendTo", ""))
    html = p.get("emailFormat", p.get("emailType", "html" if src.version >= 2 else "text")) == "html"
    body = p.get("html" if html and "html" in p else "text", p.get("message", p.get("content", "")))
    args: dict[str, Any] = {"to": cx.addresses(src, to), "subject": cx.val(src, p.get("subject", ""), "subject"),
                            "body": cx.val(src, body, "text")}
    if html:
        args["html"] = args["body"]
    if src.type == BASE + "gmail":
        cx.lost(src, "credentials", "sent through the server's SMTP settings (SMTP_HOST, …) instead of the Gmail API")
    return {"type": "tool", "config": {"tool": "email", "arguments": args}}


def map_slack(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    if p.get("resource", "message") != "message" or p.get("operation", "post") not in ("post", "send"):
        raise NoMapping(f"Slack {p.get('resource')} / {p.get('operation')} (only posting a message maps to the slack tool)")
    args: dict[str, Any] = {"text": cx.val(src, p.get("text", ""), "text")}
    channel = rl(p.get("channelId", p.get("channel")))
    if channel:
        args["channel"] = cx.val(src, channel, "channelId")
    cx.lost(src, "credentials", "πlot posts through a Slack incoming webhook (SLACK_WEBHOOK_URL or a webhook_url argument), not a bot token")
    return {"type": "tool", "config": {"tool": "slack", "arguments": args}}


def map_telegram(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    if p.get("resource", "message") != "message" or p.get("operation", "sendMessage") != "sendMessage":
        raise NoMapping(f"Telegram {p.get('resource', 'message')} / {p.get('operation')} (only sendMessage maps to an api call)")
    chat, text = cx.expr(src, p.get("chatId", ""), "chatId"), cx.expr(src, p.get("text", ""), "text")
    cx.credential_note(src, "the Telegram Bot API token is read from the credential 'telegram_bot_token' (create it with POST /api/credentials)")
    return {"type": "api", "config": {
        "method": "POST", "url": "https://api.telegram.org/bot{{ credentials.telegram_bot_token }}/sendMessage",
        "body": "{{ {'chat_id': " + chat + ", 'text': " + text + "} | tojson }}",
        "service": "telegram", "operation": "sendMessage"}}


def map_respond(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    mode = p.get("respondWith", "firstIncomingItem")
    if mode in ("json", "text"):
        return {"type": "output", "config": {"outputs": {"response": cx.val(src, p.get("responseBody", ""), "responseBody")}}}
    if mode in ("firstIncomingItem", "allIncomingItems"):
        return {"type": "output", "config": {"outputs": {"response": cx.val(src, "={{ $json }}", "respondWith")}}}
    if mode == "noData":
        return {"type": "output", "config": {"outputs": {}}}
    raise NoMapping(f"responding with {mode}")


def map_execute_workflow(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    workflow_id = rl(p.get("workflowId"))
    if p.get("source", "database") != "database" or not isinstance(workflow_id, str) or not workflow_id or len(workflow_id) > 64:
        raise NoMapping("a sub-workflow given by file, URL or parameter (only a saved workflow id maps)")
    inputs = {k: cx.val(src, v, f"workflowInputs.{k}") for k, v in ((p.get("workflowInputs") or {}).get("value") or {}).items()}
    cx.lost(src, "workflowId", f"it ran the n8n workflow '{workflow_id}': import that workflow too and pick it (readiness asks)")
    return {"type": "workflow", "config": {"workflow_id": workflow_id, "inputs": inputs}}
