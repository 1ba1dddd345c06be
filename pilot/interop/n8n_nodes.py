"""n8n node types → πlot nodes: one small mapper per type, plus triggers and item references.

A mapper returns the πlot ``{type, config}`` of one n8n node, or raises :class:`NoMapping` (the
importer keeps a placeholder saying why). ``cx`` (:class:`pilot.interop.n8n_import.N8nImport`)
translates parameters (``cx.tmpl`` a template, ``cx.val`` a value field, ``cx.expr`` a bare
expression), reads connected sub-nodes (models, tools, memory, output parsers) and reports.

``item_base`` says where ``$json`` of an n8n node's output points in πlot, e.g. an HTTP Request's
``$json.id`` is ``nodes.<id>.output.body.id``, a chain's ``$json.text`` is ``nodes.<id>.output``;
nodes that pass their input through (IF, Switch, Filter, Wait, Merge) defer to their inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pilot.interop.n8n_conditions import filter_expression, switch_v1_case, v1_expression
from pilot.interop.textparts import Untranslatable, path_expr

if TYPE_CHECKING:
    from pilot.interop.n8n_import import N8nImport, Src

BASE = "n8n-nodes-base."
LC = "@n8n/n8n-nodes-langchain."
PASSTHROUGH = "passthrough"  # item_base: the node's item is its input's item
Base = Callable[[list[Any]], str]


class NoMapping(Exception):
    """This node has no faithful πlot form; the message says why."""


def rl(value: Any) -> Any:
    """The value of an n8n resource locator (``{"__rl": true, "value": …}``), else the value."""
    return value.get("value") if isinstance(value, dict) and "__rl" in value else value


def _under(root: str, keep: str | None = None) -> Base:
    """``$json.<path>`` → ``root.<path>``; with ``keep``, the path must start with that key."""
    def base(path: list[Any]) -> str:
        if keep is not None:
            if not path or path[0] != keep:
                raise Untranslatable(f"only $json.{keep} of this node has a πlot equivalent")
            path = path[1:]
        return path_expr(root, path)
    return base


def item_base(src: Src, pid: str) -> Base | str | None:
    """Where ``$json`` of ``src``'s output points (a function of the path), PASSTHROUGH, or None."""
    t, p, out = src.type, src.params, f"nodes.{pid}.output"
    if t == BASE + "httpRequest":
        full = ((p.get("options") or {}).get("response") or {}).get("response", {}).get("fullResponse")
        if full:
            return lambda path: path_expr({"statusCode": out + ".status", "headers": out + ".headers"}.get(
                path[0], out + ".body") if path else out, path[1:] if path and path[0] in ("statusCode", "headers", "body") else path)
        return _under(out + ".body")
    if t == BASE + "set":
        names = {a.get("name") for a in ((p.get("assignments") or {}).get("assignments") or [])}
        if p.get("includeOtherFields") or p.get("keepOnlySet") is False:
            return lambda path: path_expr(out, path) if path and path[0] in names else PASSTHROUGH  # type: ignore[return-value]
        return _under(out)
    if t in (LC + "chainLlm", LC + "agent", LC + "informationExtractor"):
        return _under(out, "text" if t == LC + "chainLlm" and not p.get("hasOutputParser") else "output")
    if t == LC + "openAi":
        return lambda path: path_expr(out, path[2:]) if path[:2] == ["message", "content"] else _fail(path)
    if t == BASE + "telegram":
        return _under(out + ".body.result")
    if t in (BASE + "if", BASE + "switch", BASE + "filter", BASE + "wait", BASE + "merge", BASE + "noOp"):
        return PASSTHROUGH
    return None


def _fail(path: list[Any]) -> str:
    raise Untranslatable("this part of the node's output has no πlot equivalent")


# ---------------------------------------------------------------- mappers


def map_http(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    legacy = src.version < 3
    method = str(p.get("requestMethod" if legacy else "method") or "GET").upper()
    method = method[1:] if method.startswith("=") and "{{" not in method else method
    if not p.get("url"):
        raise NoMapping("the request has no URL")
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
        raise NoMapping(f"HTTP method {method} is not supported by api nodes")
    config: dict[str, Any] = {"method": method, "url": cx.tmpl(src, p.get("url", ""), "url")}
    headers, query = cx.pairs(src, p, "header"), cx.pairs(src, p, "query")
    if headers:
        config["headers"] = headers
    if query:
        config["query"] = query
    body = cx.http_body(src, p)
    if body is not None:
        config["body"] = body
    timeout = (p.get("options") or {}).get("timeout")
    if isinstance(timeout, (int, float)) and 0 < timeout <= 86_400_000:
        config["timeout_s"] = timeout / 1000
    auth = p.get("authentication")
    if auth and auth != "none":
        cx.credential_note(src, f"the request authenticates with an n8n credential ({p.get('nodeCredentialType') or p.get('genericAuthType') or auth}); "
                                "store the secret with POST /api/credentials and add it to the headers as {{ credentials.<name> }}")
    for option in ("pagination", "batching", "proxy", "redirect"):
        if (p.get("options") or {}).get(option):
            cx.lost(src, option, f"the '{option}' option of the HTTP Request is not carried over")
    return {"type": "api", "config": config}


def map_set(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    fields: dict[str, str] = {}
    if p.get("mode") == "raw":
        raw = p.get("jsonOutput", "{}")
        text = raw[1:] if isinstance(raw, str) and raw.startswith("=") else raw
        try:
            data = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            raise NoMapping("a JSON-mode Set whose JSON holds expressions has no field-by-field form") from None
        if not isinstance(data, dict):
            raise NoMapping("a JSON-mode Set that does not produce an object")
        fields = {str(k): cx.val(src, v, f"jsonOutput.{k}") for k, v in data.items()}
    elif "assignments" in p or src.version >= 3:
        for a in (p.get("assignments") or {}).get("assignments") or []:
            fields[str(a.get("name", ""))] = cx.val(src, a.get("value", ""), f"assignments.{a.get('name')}")
    else:
        for kind, entries in (p.get("values") or {}).items():
            for entry in entries or []:
                fields[str(entry.get("name", ""))] = cx.val(src, entry.get("value", False if kind == "boolean" else ""), f"values.{entry.get('name')}")
    fields = {k: v for k, v in fields.items() if k}
    if not fields:
        raise NoMapping("a Set node with no fields")
    if p.get("includeOtherFields") or p.get("keepOnlySet") is False:
        cx.lost(src, "includeOtherFields", "the other fields of the incoming item are not copied into the output; "
                "references to them read the incoming node instead")
    return {"type": "transform", "config": {"mode": "set", "fields": fields}}


def map_if(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    conditions = p.get("conditions") or {}
    when = cx.condition(src, lambda operand: filter_expression(conditions, operand) if src.version >= 2
                        else v1_expression(conditions, operand, any_of=p.get("combineOperation") == "any"))
    return {"type": "condition", "config": {"cases": [{"id": "true", "when": when}], "else": "false"}}


def map_filter(cx: N8nImport, src: Src) -> dict[str, Any]:
    conditions = src.params.get("conditions") or {}
    when = cx.condition(src, lambda operand: filter_expression(conditions, operand) if src.version >= 2
                        else v1_expression(conditions, operand, any_of=src.params.get("combineConditions") == "OR"))
    return {"type": "condition", "config": {"cases": [{"id": "kept", "when": when}], "else": "discarded"}}


def map_switch(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    if p.get("mode") == "expression":
        raise NoMapping("a Switch in expression mode (the output index is computed by code)")
    cases: list[dict[str, str]] = []
    if src.version >= 3:
        options = p.get("options") or {}
        if options.get("allMatchingOutputs"):
            cx.lost(src, "allMatchingOutputs", "only the first matching rule's branch runs in πlot")
        for i, rule in enumerate((p.get("rules") or {}).get("values") or []):
            cases.append({"id": f"output_{i}", "when": cx.condition(
                src, lambda operand, r=rule: filter_expression(r.get("conditions") or {}, operand, ignore_case=bool(options.get("ignoreCase"))))})
        fallback = options.get("fallbackOutput", "none")
        else_index = len(cases) if fallback == "extra" else fallback if isinstance(fallback, int) else None
    else:
        data_type = p.get("dataType", "number")
        rules = ((p.get("rules") or {}).get("rules")) or []
        for i, rule in enumerate(rules):
            cases.append({"id": f"output_{rule.get('output', i)}_{i}", "when": cx.condition(
                src, lambda operand, r=rule: switch_v1_case(data_type, r, operand(p.get("value1", "")), operand))})
        fallback = p.get("fallbackOutput", -1)
        else_index = fallback if isinstance(fallback, int) and fallback >= 0 else None
    if not cases:
        raise NoMapping("a Switch with no rules")
    src.handles = {i: case["id"] for i, case in enumerate(cases)} if src.version >= 3 else {
        int(c["id"].split("_")[1]): c["id"] for c in cases}
    if else_index is not None:
        src.handles[else_index] = "fallback"
    return {"type": "condition", "config": {"cases": cases, "else": "fallback"}}


def map_wait(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    resume = p.get("resume", "timeInterval")
    if resume == "timeInterval":
        unit = p.get("unit", "hours")
        factor = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}.get(unit)
        amount = p.get("amount", 1)
        if factor is None or not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
            raise NoMapping(f"a wait of {amount!r} {unit} (an expression or unknown unit)")
        return {"type": "wait", "config": {"duration_s": float(amount) * factor}}
    if resume == "specificTime":
        return {"type": "wait", "config": {"until": cx.val(src, p.get("dateTime", ""), "dateTime")}}
    cx.lost(src, "resume", f"the run resumed on an n8n {resume} call; in πlot a person approves it "
            "(POST /api/executions/{id}/approvals/{node_id})")
    return {"type": "wait", "config": {"approval": {"prompt": f"Resume '{src.name}' (was an n8n {resume} resume)"}}}


def map_chain(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    text = p.get("text", "={{ $json.chatInput }}") if p.get("promptType") == "define" or "text" in p else "={{ $json.chatInput }}"
    config: dict[str, Any] = {"prompt": cx.tmpl(src, text, "text"), **cx.model(src)}
    system = [m.get("message", "") for m in ((p.get("messages") or {}).get("messageValues") or [])
              if m.get("type", "SystemMessagePromptTemplate") == "SystemMessagePromptTemplate"]
    if system:
        config["system"] = cx.tmpl(src, "\n".join(s if isinstance(s, str) else "" for s in system), "messages")
    schema = cx.output_schema(src)
    if schema is not None:
        config["output_schema"] = schema
    return {"type": "llm", "config": config}


def map_agent(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    options = p.get("options") or {}
    text = p.get("text", "={{ $json.chatInput }}")
    config: dict[str, Any] = {"prompt": cx.tmpl(src, text, "text"), **cx.model(src), "tools": cx.agent_tools(src)}
    config.pop("max_tokens", None)
    if options.get("systemMessage"):
        config["system"] = cx.tmpl(src, options["systemMessage"], "options.systemMessage")
    if isinstance(options.get("maxIterations"), int) and 1 <= options["maxIterations"] <= 50:
        config["max_steps"] = options["maxIterations"]
    schema = cx.output_schema(src)
    if schema is not None:
        config["output_schema"] = schema
    return {"type": "agent", "config": config}


def map_openai(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    if p.get("resource", "text") != "text" or p.get("operation", "message") not in ("message", "response"):
        raise NoMapping(f"OpenAI {p.get('resource')} / {p.get('operation')} (only text messages map to an llm node)")
    messages = (p.get("messages") or p.get("responses") or {}).get("values") or []
    system = [m.get("content", "") for m in messages if m.get("role") == "system"]
    user = [m.get("content", "") for m in messages if m.get("role", "user") != "system"]
    if not user:
        raise NoMapping("an OpenAI message node with no user message")
    config: dict[str, Any] = {"prompt": "\n\n".join(cx.tmpl(src, u, "messages") for u in user),
                              "model": str(rl(p.get("modelId")) or "gpt-4o-mini")}
    if system:
        config["system"] = "\n\n".join(cx.tmpl(src, s, "messages") for s in system)
    if p.get("jsonOutput"):
        cx.lost(src, "jsonOutput", "JSON output without a schema: the reply is text in πlot")
    return {"type": "llm", "config": config}


def map_extractor(cx: N8nImport, src: Src) -> dict[str, Any]:
    p = src.params
    attributes = (p.get("attributes") or {}).get("attributes") or []
    if attributes:
        schema: dict[str, Any] = {"type": "object", "properties": {
            a.get("name", f"field_{i}"): {"type": a.get("type", "string"), "description": a.get("description", "")}
            for i, a in enumerate(attributes)}, "required": [a["name"] for a in attributes if a.get("required") and a.get("name")]}
    else:
        schema = cx.schema_from(src, p) or {"type": "object"}
    prompt = cx.tmpl(src, p.get("text", "={{ $json.text }}"), "text")
    return {"type": "llm", "config": {"prompt": prompt, **cx.model(src), "output_schema": schema,
                                      "system": "Extract the requested fields from the text."}}


def map_code(cx: N8nImport, src: Src) -> dict[str, Any]:
    language = src.params.get("language", "javaScript")
    if language.startswith("python"):
        raise NoMapping("n8n Python code reads items (_input, _json); a πlot code step defines main(inputs): rewrite it")
    raise NoMapping("JavaScript code: πlot code steps run Python (def main(inputs)); rewrite it")


from pilot.interop.n8n_apps import map_email, map_execute_workflow, map_respond, map_slack, map_telegram  # noqa: E402

MAPPERS: dict[str, Callable[[N8nImport, Src], dict[str, Any]]] = {
    BASE + "httpRequest": map_http, BASE + "set": map_set, BASE + "if": map_if, BASE + "filter": map_filter,
    BASE + "switch": map_switch, BASE + "wait": map_wait, BASE + "code": map_code, BASE + "function": map_code,
    BASE + "functionItem": map_code, LC + "chainLlm": map_chain, LC + "agent": map_agent, LC + "openAi": map_openai,
    LC + "informationExtractor": map_extractor, BASE + "emailSend": map_email, BASE + "gmail": map_email,
    BASE + "slack": map_slack, BASE + "telegram": map_telegram, BASE + "respondToWebhook": map_respond,
    BASE + "executeWorkflow": map_execute_workflow,
}
