"""n8n trigger nodes → the πlot input node's ``trigger`` and ``fields``.

Schedule (``scheduleTrigger`` rules, legacy ``cron``) → a 5-field cron; ``webhook`` → a webhook
trigger; ``formTrigger`` → a form with one input field per form field; ``chatTrigger`` → chat
(``$json.chatInput`` is ``inputs.message``); ``executeWorkflowTrigger`` and ``manualTrigger`` →
manual. Any other trigger (an app's events: Telegram, Gmail, Google Sheets …) is recorded as an
``app_event`` trigger and reported: πlot has no connector that fires it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pilot.interop.textparts import Untranslatable, path_expr

BASE = "n8n-nodes-base."
LC = "@n8n/n8n-nodes-langchain."
TRIGGER_TYPES = frozenset({BASE + "webhook", BASE + "cron", BASE + "interval", BASE + "start", BASE + "emailReadImap",
                           LC + "chatTrigger", LC + "mcpTrigger"})


def is_trigger(node_type: str) -> bool:
    return node_type in TRIGGER_TYPES or node_type.endswith("Trigger")


def field_name(label: str, taken: set[str] | None = None) -> str:
    """An input-field name (identifier) for a form label: "Your e-mail" → ``your_e_mail``."""
    ascii_label = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9]+", "_", ascii_label).strip("_").lower()[:60] or "field"
    if not re.match(r"[a-z_]", name):
        name = "f_" + name
    candidate, n = name, 1
    while taken is not None and candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    if taken is not None:
        taken.add(candidate)
    return candidate


def _interval_cron(rule: dict[str, Any]) -> str:
    field = rule.get("field", "days")
    minute, hour = rule.get("triggerAtMinute", 0), rule.get("triggerAtHour", 0)
    if field == "cronExpression":
        expression = str(rule.get("expression", "")).lstrip("=").strip()
        if len(expression.split()) not in (5, 6) or "{{" in expression:
            raise Untranslatable(f"cron expression {expression!r}")
        return expression
    if field == "seconds":
        raise Untranslatable("a schedule every few seconds (πlot cron has minute resolution)")
    if field == "minutes":
        n = rule.get("minutesInterval", 5)
        return f"*/{n} * * * *" if n != 1 else "* * * * *"
    if field == "hours":
        n = rule.get("hoursInterval", 1)
        return f"{minute} */{n} * * *" if n != 1 else f"{minute} * * * *"
    if field == "days":
        n = rule.get("daysInterval", 1)
        return f"{minute} {hour} {'*' if n == 1 else f'*/{n}'} * *"
    if field == "weeks":
        if rule.get("weeksInterval", 1) != 1:
            raise Untranslatable("a schedule every few weeks (cron cannot count weeks)")
        days = rule.get("triggerAtDay") or [0]
        return f"{minute} {hour} * * {','.join(str(d) for d in days)}"
    if field == "months":
        n = rule.get("monthsInterval", 1)
        return f"{minute} {hour} {rule.get('triggerAtDayOfMonth', 1)} {'*' if n == 1 else f'*/{n}'} *"
    raise Untranslatable(f"schedule unit {field!r}")


def _legacy_cron(item: dict[str, Any]) -> str:
    mode, minute, hour = item.get("mode", "everyDay"), item.get("minute", 0), item.get("hour", 0)
    if mode == "everyMinute":
        return "* * * * *"
    if mode == "everyHour":
        return f"{minute} * * * *"
    if mode == "everyDay":
        return f"{minute} {hour} * * *"
    if mode == "everyWeek":
        return f"{minute} {hour} * * {item.get('weekday', 1)}"
    if mode == "everyMonth":
        return f"{minute} {hour} {item.get('dayOfMonth', 1)} * *"
    if mode == "everyX":
        value = item.get("value", 2)
        return f"*/{value} * * * *" if item.get("unit") == "minutes" else f"0 */{value} * * *"
    if mode == "custom":
        expression = str(item.get("cronExpression", "")).strip()
        if len(expression.split()) not in (5, 6):
            raise Untranslatable(f"cron expression {expression!r}")
        return expression
    raise Untranslatable(f"cron mode {mode!r}")


def trigger_of(node_type: str, params: dict[str, Any], timezone: str, notes: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(trigger, input fields)`` of an n8n trigger node; what does not carry over goes to ``notes``."""
    p = params
    if node_type in (BASE + "scheduleTrigger", BASE + "cron"):
        if node_type == BASE + "cron":
            items = (p.get("triggerTimes") or {}).get("item") or [p]
            cron = _legacy_cron(items[0] if isinstance(items[0], dict) else {})
        else:
            items = (p.get("rule") or {}).get("interval") or [{}]
            cron = _interval_cron(items[0] if isinstance(items[0], dict) else {})
        if len(items) > 1:
            notes.append(f"the schedule had {len(items)} rules; only the first ({cron}) is kept")
        return {"kind": "schedule", "cron": cron, "timezone": timezone}, []
    if node_type == BASE + "webhook":
        method = str(p.get("httpMethod", "GET")).upper()
        if method not in ("GET", "POST"):
            notes.append(f"the webhook took {method}; πlot webhooks take POST")
            method = "POST"
        trigger = {"kind": "webhook", "method": method,
                   "response_mode": "async" if p.get("responseMode", "onReceived") == "onReceived" else "sync"}
        notes.append("πlot webhooks are signed: callers send X-Pilot-Signature (HMAC-SHA256 of the body with the "
                     "trigger's secret, see GET /api/workflows/{id}/triggers), or set the trigger's signature to 'none'")
        return trigger, []
    if node_type == BASE + "formTrigger":
        taken: set[str] = set()
        fields = []
        for f in (p.get("formFields") or {}).get("values") or []:
            ftype = f.get("fieldType", "text")
            fields.append({"name": field_name(f.get("fieldLabel", ""), taken), "description": str(f.get("fieldLabel", "")),
                           "required": bool(f.get("requiredField", False)),
                           "type": {"number": "number", "checkbox": "array"}.get(ftype, "string")})
            if ftype == "file":
                notes.append(f"the file field '{f.get('fieldLabel')}' is a text field in πlot (forms take no files)")
        return {"kind": "form", "title": str(p.get("formTitle", ""))[:200]}, fields
    if node_type == LC + "chatTrigger":
        return {"kind": "chat"}, [{"name": "message", "type": "string", "required": True}]
    if node_type == BASE + "executeWorkflowTrigger":
        taken = set()
        fields = [{"name": field_name(v.get("name", ""), taken), "required": False,
                   "type": {"number": "number", "boolean": "boolean", "array": "array", "object": "object"}.get(v.get("type"), "string")}
                  for v in (p.get("workflowInputs") or {}).get("values") or []]
        return {"kind": "manual"}, fields
    if node_type in (BASE + "manualTrigger", BASE + "start"):
        return {"kind": "manual"}, []
    service = node_type.rsplit(".", 1)[-1].removesuffix("Trigger") or "n8n"
    event = p.get("event") or p.get("updates") or p.get("events") or p.get("triggerOn") or "event"
    event_text = ", ".join(map(str, event)) if isinstance(event, list) else str(event)
    notes.append(f"πlot has no {service} connector: the trigger is recorded but does not fire by itself")
    return {"kind": "app_event", "service": service[:64], "event": event_text[:120] or "event"}, []


def trigger_base(node_type: str, params: dict[str, Any]):
    """Where ``$json`` of a trigger points: a webhook's body, query and params, a form's fields by
    label, a chat's message — all inputs. Other trigger data has no πlot equivalent."""
    if node_type == BASE + "webhook":
        def webhook(path: list[Any]) -> str:
            if path and path[0] in ("body", "query", "params"):
                return path_expr("inputs", path[1:])
            raise Untranslatable("only the body, query and params of a webhook call are πlot inputs")
        return webhook
    if node_type == BASE + "formTrigger":
        taken: set[str] = set()
        by_label = {f.get("fieldLabel", ""): field_name(f.get("fieldLabel", ""), taken)
                    for f in (params.get("formFields") or {}).get("values") or []}

        def form(path: list[Any]) -> str:
            if path and path[0] in by_label:
                return path_expr("inputs", [by_label[path[0]], *path[1:]])
            raise Untranslatable("only the form's fields are πlot inputs")
        return form
    if node_type == LC + "chatTrigger":
        def chat(path: list[Any]) -> str:
            if path[:1] == ["chatInput"]:
                return path_expr("inputs.message", path[1:])
            raise Untranslatable("only chatInput of a chat message is a πlot input")
        return chat
    if node_type == BASE + "executeWorkflowTrigger":
        return lambda path: path_expr("inputs", path)

    def other(path: list[Any]) -> str:
        raise Untranslatable(f"the data of the {node_type.rsplit('.', 1)[-1]} trigger is not a πlot input")
    return other
