"""Parameter groups of n8n nodes that several mappers share: HTTP headers / query / body,
the chat model, agent tools and output parsers of AI sub-nodes, e-mail address lists."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pilot.interop.textparts import escape_text, literal

if TYPE_CHECKING:
    from pilot.interop.n8n_import import N8nImport, Src

SENSITIVE_HEADERS = re.compile(r"^(authorization|proxy-authorization|x-api-key|api-key|apikey|x-auth-token|x-access-token|"
                               r"token|x-token|private-token|x-goog-api-key|cookie)$", re.I)
_DEFAULT_MODEL = "gpt-4o-mini"


def _named(entries: Any) -> list[tuple[str, Any]]:
    return [(str(e.get("name", "")), e.get("value", "")) for e in entries or [] if isinstance(e, dict) and e.get("name")]


def pairs(cx: N8nImport, src: Src, p: dict[str, Any], what: str) -> dict[str, str]:
    """Headers or query parameters of an HTTP Request (v3+ ``send…``/``…Parameters`` or v1 ``…Ui``)."""
    if src.version >= 3:
        if not p.get(f"send{what.capitalize()}s" if what == "header" else "sendQuery"):
            return {}
        key = "headerParameters" if what == "header" else "queryParameters"
        if p.get("specifyHeaders" if what == "header" else "specifyQuery") == "json":
            raw = p.get("jsonHeaders" if what == "header" else "jsonQuery", "{}")
            try:
                entries = list(json.loads(raw.lstrip("=")).items())
            except (ValueError, AttributeError):
                cx.lost(src, key, f"the {what}s are given as JSON with expressions; not carried over")
                return {}
        else:
            entries = _named((p.get(key) or {}).get("parameters"))
    else:
        entries = _named((p.get("headerParametersUi" if what == "header" else "queryParametersUi") or {}).get("parameter"))
    out: dict[str, str] = {}
    for name, value in entries:
        if what == "header" and SENSITIVE_HEADERS.match(name) and isinstance(value, str) and value and not value.startswith("="):
            credential = f"{src.pid}_{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"
            cx.b.item("credential", f"the header {name} held a secret; it was not imported: create the credential "
                      f"'{credential}' (POST /api/credentials) with its value", node_id=src.pid, source=src.name, field=f"headers.{name}")
            out[name] = "{{ credentials." + credential + " }}"
            continue
        out[name] = cx.tmpl(src, value, f"{what}s.{name}")
    return out


def _object_body(cx: N8nImport, src: Src, entries: list[tuple[str, Any]], filter_name: str) -> str:
    fields = ", ".join(f"{literal(k)}: {cx.expr(src, v, f'body.{k}')}" for k, v in entries)
    return "{{ {" + fields + "} | " + filter_name + " }}"


def http_body(cx: N8nImport, src: Src, p: dict[str, Any]) -> str | None:
    """The body template of an HTTP Request, or None when it sends none."""
    if src.version < 3:
        if p.get("jsonParameters"):
            raw = p.get("bodyParametersJson")
            return cx.tmpl(src, raw, "bodyParametersJson") if raw else None
        entries = _named((p.get("bodyParametersUi") or {}).get("parameter"))
        return _object_body(cx, src, entries, "tojson") if entries else None
    if not p.get("sendBody"):
        return None
    content = p.get("contentType", "json")
    if content in ("multipart-form-data", "binaryData"):
        from pilot.interop.n8n_nodes import NoMapping

        raise NoMapping(f"a {content} request body (api nodes send text or JSON)")
    if content == "raw":
        return cx.tmpl(src, p.get("body", ""), "body")
    entries = _named((p.get("bodyParameters") or {}).get("parameters"))
    if content == "form-urlencoded":
        cx.b.item("parameter", "sent as application/x-www-form-urlencoded: add the Content-Type header if the server needs it",
                  node_id=src.pid, source=src.name, field="contentType")
        return _object_body(cx, src, entries, "urlencode")
    if p.get("specifyBody") in ("json", "string"):
        key = "jsonBody" if p.get("specifyBody") == "json" else "body"
        return cx.tmpl(src, p.get(key, ""), key)
    return _object_body(cx, src, entries, "tojson") if entries else "{}"


def model(cx: N8nImport, src: Src) -> dict[str, Any]:
    """``model`` (+ ``temperature``, ``max_tokens``) from the connected chat-model sub-node."""
    subs = src.subs.get("ai_languageModel") or []
    if not subs:
        cx.lost(src, "model", f"no chat model is connected; πlot's default ({_DEFAULT_MODEL}) is used")
        return {"model": _DEFAULT_MODEL}
    sub = subs[0]
    cx.fold(sub, src, "its model settings are part of the πlot step")
    params = sub.params
    name = params.get("model", params.get("modelName", params.get("modelId")))
    name = name.get("value") if isinstance(name, dict) else name
    out: dict[str, Any] = {"model": str(name or _DEFAULT_MODEL).lstrip("=") or _DEFAULT_MODEL}
    options = params.get("options") or {}
    temperature = options.get("temperature")
    if isinstance(temperature, (int, float)) and 0 <= temperature <= 2:
        out["temperature"] = temperature
    tokens = options.get("maxTokens", options.get("maxTokensToSample"))
    if isinstance(tokens, int) and 1 <= tokens <= 200_000:
        out["max_tokens"] = tokens
    if len(subs) > 1:
        out["fallback_models"] = [str((s.params.get("model") or {}).get("value") if isinstance(s.params.get("model"), dict)
                                      else s.params.get("model") or _DEFAULT_MODEL) for s in subs[1:]]
        for extra in subs[1:]:
            cx.fold(extra, src, "a fallback model of the πlot step")
    return out


def agent_tools(cx: N8nImport, src: Src) -> list[str]:
    """One ``tool:``/``mcp:`` reference per connected tool sub-node (readiness asks for each)."""
    refs: list[str] = []
    for sub in src.subs.get("ai_tool") or []:
        slug = re.sub(r"[^a-z0-9_-]+", "_", sub.name.lower()).strip("_")[:60] or "tool"
        ref = f"mcp:{slug}" if sub.type.endswith("mcpClientTool") else f"tool:{slug}"
        refs.append(ref)
        cx.fold(sub, src, f"the agent calls it as '{ref}': register a tool of that name (POST /api/tools) — readiness lists it")
    for sub in src.subs.get("ai_memory") or []:
        cx.fold(sub, src, "conversation memory is not carried over: each πlot run starts without history")
    return refs


def _infer(example: Any) -> dict[str, Any]:
    if isinstance(example, dict):
        return {"type": "object", "properties": {k: _infer(v) for k, v in example.items()}}
    if isinstance(example, list):
        return {"type": "array", "items": _infer(example[0]) if example else {}}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, (int, float)):
        return {"type": "number"}
    return {"type": "string"}


def schema_from(cx: N8nImport, src: Src, params: dict[str, Any]) -> dict[str, Any] | None:
    """A JSON schema from ``jsonSchemaExample`` (inferred) or ``inputSchema`` (given)."""
    try:
        if params.get("schemaType") == "manual":
            schema = json.loads(params.get("inputSchema", "{}"))
            return schema if isinstance(schema, dict) else None
        example = params.get("jsonSchemaExample")
        return _infer(json.loads(example)) if isinstance(example, str) else None
    except ValueError:
        cx.lost(src, "schema", "the output schema is not valid JSON and was not carried over")
        return None


def output_schema(cx: N8nImport, src: Src) -> dict[str, Any] | None:
    """The schema of a connected structured output parser (auto-fixing parsers wrap one)."""
    for sub in src.subs.get("ai_outputParser") or []:
        inner = sub.subs.get("ai_outputParser") or []
        for model_sub in sub.subs.get("ai_languageModel") or []:
            cx.fold(model_sub, sub, "the model of an auto-fixing parser (πlot re-asks the step's own model)")
        target = inner[0] if inner else sub
        if inner:
            cx.fold(sub, src, "πlot re-asks the model when the reply does not match the schema")
        cx.fold(target, src, "its schema is the πlot step's output_schema")
        return schema_from(cx, src, target.params)
    return None


def addresses(cx: N8nImport, src: Src, value: Any) -> Any:
    """E-mail recipients as a list: a literal "a@x, b@y" is split, an expression is split when it runs."""
    if isinstance(value, str) and not value.startswith("="):
        return [escape_text(a.strip()) for a in re.split(r"[,;]", value) if a.strip()]
    return "{{ ((" + cx.expr(src, value, "toEmail") + ") | string).split(',') | map('trim') | list }}"
