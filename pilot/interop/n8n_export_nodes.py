"""One writer per πlot node type for the n8n export (``ex`` is :class:`pilot.interop.n8n_export.N8nExport`)."""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from pilot.interop.builder import carry, placeholder_origin
from pilot.interop.n8n_js import expression_value, template_value
from pilot.interop.textparts import Untranslatable

if TYPE_CHECKING:
    from pilot.interop.n8n_export import N8nExport

B, LC = "n8n-nodes-base.", "@n8n/n8n-nodes-langchain."
PILOT_OUTPUT_NOTE = "pilot:output"


def value(ex: N8nExport, node: dict[str, Any], text: Any, where: str) -> Any:
    """A πlot template as an n8n value; kept as literal text (and noted) when it does not translate."""
    if not isinstance(text, str):
        return text
    try:
        return template_value(text, ex)
    except Untranslatable as exc:
        ex.note(node, f"{where} not translated ({exc}): `{text[:200]}`")
        return text


def condition(ex: N8nExport, node: dict[str, Any], when: str, where: str) -> dict[str, Any]:
    """A v2 filter whose one condition is the πlot expression, tested for true."""
    try:
        left = expression_value(when, ex)
    except Untranslatable as exc:
        ex.note(node, f"{where} not translated ({exc}): `{when[:200]}`")
        left = f"=πlot condition, not translated: {when}"
    return {"options": {"caseSensitive": True, "leftValue": "", "typeValidation": "loose", "version": 2}, "combinator": "and",
            "conditions": [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:{where}")), "leftValue": left, "rightValue": "",
                            "operator": {"type": "boolean", "operation": "true", "singleValue": True}}]}


def _model(ex: N8nExport, node: dict[str, Any], parent: str, config: dict[str, Any]) -> None:
    options = {k: v for k, v in (("temperature", config.get("temperature")), ("maxTokens", config.get("max_tokens"))) if v is not None}
    model = config.get("model", "gpt-4o-mini")
    name = ex.add(node, LC + "lmChatOpenAi", 1.2, {"model": {"__rl": True, "value": model, "mode": "list", "cachedResultName": model},
                                                    "options": options}, name=f"{parent} model", suffix="model", offset=(0, 220))
    ex.connect(name, parent, kind="ai_languageModel")
    if config.get("output_schema"):
        parser = ex.add(node, LC + "outputParserStructured", 1.2, {"schemaType": "manual", "inputSchema": json.dumps(config["output_schema"], indent=2)},
                        name=f"{parent} output parser", suffix="parser", offset=(200, 220))
        ex.connect(parser, parent, kind="ai_outputParser")


def _trigger(ex: N8nExport, node: dict[str, Any]) -> None:
    trigger, config = ex.trigger, node.get("config") or {}
    kind = trigger.get("kind", "manual")
    if kind == "schedule":
        ex.add(node, B + "scheduleTrigger", 1.2, {"rule": {"interval": [{"field": "cronExpression", "expression": trigger.get("cron", "")}]}})
    elif kind == "webhook":
        ex.add(node, B + "webhook", 2, {"httpMethod": trigger.get("method", "POST"), "path": trigger.get("path") or node["id"],
                                         "responseMode": "lastNode" if trigger.get("response_mode") == "sync" else "onReceived", "options": {}},
               webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ex.name}:{node['id']}:hook")))
        ex.note(node, "n8n webhooks are not signed: add authentication to the Webhook node if callers signed requests for πlot")
    elif kind == "form":
        fields = [{"fieldLabel": ex.form_labels.get(f["name"], f["name"]), "fieldType": "number" if f.get("type") in ("number", "integer") else "text",
                   "requiredField": bool(f.get("required", True))} for f in config.get("fields", [])]
        ex.add(node, B + "formTrigger", 2.2, {"formTitle": trigger.get("title") or node.get("title") or "Form",
                                               "formFields": {"values": fields}, "options": {}},
               webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ex.name}:{node['id']}:form")))
    elif kind == "chat":
        ex.add(node, LC + "chatTrigger", 1.1, {"options": {}}, webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ex.name}:{node['id']}:chat")))
    elif kind == "app_event":
        service = str(trigger.get("service", "app"))
        ex.add(node, f"{B}{service}Trigger", 1, {"event": trigger.get("event", "")})
        ex.note(node, f"the trigger was an app event ({service}: {trigger.get('event')}); check the node type and its settings")
    else:
        ex.add(node, B + ("executeWorkflowTrigger" if config.get("fields") else "manualTrigger"), 1.1 if config.get("fields") else 1,
               {"inputSource": "workflowInputs", "workflowInputs": {"values": [{"name": f["name"], "type": f.get("type", "string")}
                                                                               for f in config["fields"]]}} if config.get("fields") else {})


def _api(ex: N8nExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    params: dict[str, Any] = {"method": config.get("method", "GET"), "url": value(ex, node, config.get("url", ""), "url"), "options": {}}
    if config.get("headers"):
        params.update(sendHeaders=True, headerParameters={"parameters": [{"name": k, "value": value(ex, node, v, f"headers.{k}")}
                                                                         for k, v in config["headers"].items()]})
    if config.get("query"):
        params.update(sendQuery=True, queryParameters={"parameters": [{"name": k, "value": value(ex, node, v, f"query.{k}")}
                                                                     for k, v in config["query"].items()]})
    if config.get("body") is not None:
        params.update(sendBody=True, specifyBody="json", jsonBody=value(ex, node, config["body"], "body"))
    if config.get("timeout_s"):
        params["options"]["timeout"] = int(config["timeout_s"] * 1000)
    if "credentials." in json.dumps(config):
        ex.note(node, "it reads πlot credentials: set the secret in n8n (a credential or the header value)")
    ex.add(node, B + "httpRequest", 4.2, params)


def _post_json(ex: N8nExport, node: dict[str, Any], url: Any, body: str) -> None:
    ex.add(node, B + "httpRequest", 4.2, {"method": "POST", "url": value(ex, node, url, "url"), "sendBody": True, "specifyBody": "json",
                                          "jsonBody": value(ex, node, body, "body"), "options": {}})


def _tool(ex: N8nExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    tool, args = config.get("tool", ""), config.get("arguments") or {}
    if tool == "email":
        to = args.get("to", [])
        to_text = ", ".join(to) if isinstance(to, list) and all(isinstance(t, str) and "{" not in t for t in to) else to
        html = args.get("html")
        params = {"fromEmail": "", "toEmail": value(ex, node, to_text if isinstance(to_text, str) else "", "to"),
                  "subject": value(ex, node, args.get("subject", ""), "subject"), "emailFormat": "html" if html else "text",
                  ("html" if html else "text"): value(ex, node, html or args.get("body", ""), "body"), "options": {}}
        ex.add(node, B + "emailSend", 2.1, params)
        ex.note(node, "set the sender (fromEmail) and an SMTP credential")
    elif tool == "slack":
        params = {"select": "channel", "channelId": {"__rl": True, "value": value(ex, node, args.get("channel") or "", "channel"), "mode": "name"},
                  "text": value(ex, node, args.get("text", ""), "text"), "otherOptions": {}}
        ex.add(node, B + "slack", 2.3, params)
        ex.note(node, "πlot posted through an incoming webhook; the Slack node needs a Slack credential")
    elif tool in ("webhook", "http_request"):
        _post_json(ex, node, args.get("url", ""), "{{ " + _arg_json(args.get("payload", args.get("body"))) + " }}")
    elif tool in ("feishu", "dingtalk", "wecom"):
        text = _arg_json(args.get("text", ""))
        body = {"feishu": "{'msg_type': 'text', 'content': {'text': " + text + "}}"}.get(tool, "{'msgtype': 'text', 'text': {'content': " + text + "}}")
        _post_json(ex, node, args.get("webhook_url", ""), "{{ " + body + " | tojson }}")
    else:
        _stop(ex, node, f"the πlot tool '{tool}' has no n8n node")


def _arg_json(arg: Any) -> str:
    """A tool argument (a value field) as one jinja2 expression."""
    from pilot.interop.textparts import literal

    if isinstance(arg, str) and arg.startswith("{{") and arg.endswith("}}") and arg.count("{{") == 1:
        return arg[2:-2].strip()
    return literal(arg)


def _stop(ex: N8nExport, node: dict[str, Any], reason: str) -> None:
    ex.add(node, B + "stopAndError", 1, {"errorMessage": f"Not exported from πlot: {reason}. Replace this node."}, notes=carry(node))
    ex.note(node, f"placeholder (Stop and Error): {reason}")


def node_for(ex: N8nExport, node: dict[str, Any]) -> None:
    """Write ``node`` (and its sub-nodes) into the export."""
    kind, config = node["type"], node.get("config") or {}
    origin = placeholder_origin(node)
    if origin is not None:
        original = origin.get("original") or {}
        if origin.get("source") == "n8n" and isinstance(original, dict) and original.get("type"):
            extra = {k: original[k] for k in ("credentials", "notes", "webhookId") if k in original}
            ex.add(node, original["type"], original.get("typeVersion", 1), original.get("parameters") or {}, **extra)
            ex.note(node, "a node πlot could not run, written back as it was imported")
        else:
            _stop(ex, node, f"it was not imported from {origin.get('source')} ({origin.get('type')})")
        return
    name = ex.names[node["id"]]
    if kind == "input":
        _trigger(ex, node)
    elif kind in ("llm", "agent"):
        params: dict[str, Any] = {"promptType": "define", "text": value(ex, node, config.get("prompt", ""), "prompt")}
        if config.get("output_schema"):
            params["hasOutputParser"] = True
        if kind == "llm":
            if config.get("system"):
                params["messages"] = {"messageValues": [{"message": value(ex, node, config["system"], "system")}]}
            ex.add(node, LC + "chainLlm", 1.5, params)
        else:
            params["options"] = {"systemMessage": value(ex, node, config.get("system", ""), "system"), "maxIterations": config.get("max_steps", 8)}
            ex.add(node, LC + "agent", 1.7, params)
            if config.get("tools"):
                ex.note(node, f"the agent's tools ({', '.join(config['tools'])}) are not exported: connect n8n tool nodes")
        _model(ex, node, name, config)
    elif kind == "condition":
        cases = config.get("cases", [])
        if len(cases) == 1:
            ex.add(node, B + "if", 2.2, {"conditions": condition(ex, node, cases[0]["when"], "when"), "options": {}})
        else:
            rules = [{"conditions": condition(ex, node, c["when"], f"cases.{c['id']}"), "renameOutput": True, "outputKey": c["id"]} for c in cases]
            ex.add(node, B + "switch", 3.2, {"rules": {"values": rules}, "options": {"fallbackOutput": "extra"}})
    elif kind == "loop":
        ex.add(node, B + "splitInBatches", 3, {"batchSize": 1, "options": {}})
        ex.note(node, f"Loop Over Items loops over its incoming items; πlot looped over `{config.get('items')}`")
    elif kind == "api":
        _api(ex, node, config)
    elif kind == "tool":
        _tool(ex, node, config)
    elif kind in ("output", "transform") and config.get("mode", "set") == "set":
        fields = config.get("outputs") if kind == "output" else config.get("fields")
        assignments = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:{k}")), "name": k,
                        "value": value(ex, node, v, f"fields.{k}"), "type": "string"} for k, v in (fields or {}).items()]
        extra = {"notes": PILOT_OUTPUT_NOTE} if kind == "output" else {}
        ex.add(node, B + "set", 3.4, {"assignments": {"assignments": assignments}, "options": {}}, **extra)
    elif kind == "transform" and config.get("mode") == "filter":
        ex.add(node, B + "filter", 2.2, {"conditions": condition(ex, node, config.get("where") or "true", "where"), "options": {}})
        ex.note(node, f"the Filter filters its incoming items; πlot filtered `{config.get('items')}`")
    elif kind == "code" and config.get("language", "python") == "python":
        code = (f"# Exported from πlot: this step ran main(inputs) with inputs = {json.dumps(config.get('inputs', {}), ensure_ascii=False)}\n"
                f"{config.get('code', '')}\n\nreturn [{{'json': {{'result': main({{}})}}}}]\n")
        ex.add(node, B + "code", 2, {"language": "python", "pythonCode": code}, notes=carry(node))
        ex.note(node, "a Python code step: map its inputs from the incoming items (_input) before it runs")
    elif kind == "workflow":
        inputs = {k: value(ex, node, v, f"inputs.{k}") for k, v in (config.get("inputs") or {}).items()}
        ex.add(node, B + "executeWorkflow", 1.2, {"source": "database", "workflowId": {"__rl": True, "value": config.get("workflow_id", ""), "mode": "id"},
                                                   "workflowInputs": {"mappingMode": "defineBelow", "value": inputs, "matchingColumns": [],
                                                                      "schema": [], "attemptToConvertTypes": False, "convertFieldsToString": True},
                                                   "options": {}})
        ex.note(node, "it ran the πlot workflow " + str(config.get("workflow_id")) + ": export that one too and pick it")
    elif kind == "wait":
        _wait(ex, node, config)
    else:
        _stop(ex, node, f"a πlot {kind} step ({config.get('mode') or config.get('language') or ''}) has no n8n node")


def _wait(ex: N8nExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    if config.get("duration_s") is not None:
        seconds = float(config["duration_s"])
        unit, amount = next(((u, seconds / f) for u, f in (("days", 86400), ("hours", 3600), ("minutes", 60)) if seconds % f == 0),
                            ("seconds", seconds))
        ex.add(node, B + "wait", 1.1, {"amount": int(amount) if amount == int(amount) else amount, "unit": unit},
               webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:wait")))
    elif config.get("until") is not None:
        when = value(ex, node, config["until"], "until")
        offset = config.get("offset_s")
        if offset and isinstance(when, str):  # "an hour before the booking": Luxon moves the time in n8n
            # one expression is moved inside it; anything else (text, several expressions) as its text
            one = re.fullmatch(r"=\{\{ ((?:(?!\}\}).)*) \}\}", when)
            inner = one.group(1) if one else json.dumps(when)
            when = f"={{{{ DateTime.fromISO({inner}).plus({{ seconds: {offset:g} }}).toISO() }}}}"
        ex.add(node, B + "wait", 1.1, {"resume": "specificTime", "dateTime": when},
               webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:wait")))
    else:
        ex.add(node, B + "wait", 1.1, {"resume": "webhook", "httpMethod": "POST", "options": {}},
               webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:wait")))
        ex.note(node, "an approval: the run resumes when its resume URL ($execution.resumeUrl) is called")
