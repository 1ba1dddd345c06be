"""Dify node types → πlot nodes, part two (data and code steps), and the mapper table."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pilot.interop.builder import carried_node
from pilot.interop.dify_nodes import (
    NoMapping,
    _model,
    code_adapter,
    jinja_with,
    map_answer,
    map_classifier,
    map_end,
    map_if_else,
    map_llm,
    map_start,
)
from pilot.interop.textparts import literal, to_expression

# How the Dify export wraps πlot's main(inputs) (any JSON value) as a Dify main(**variables) -> dict.
PILOT_CODE_WRAPPER = "\n\n_pilot_main = main\n\n\ndef main(**inputs) -> dict:\n    return {\"result\": {\"value\": _pilot_main(inputs)}}\n"

if TYPE_CHECKING:
    from pilot.interop.dify_import import DifyImport

_SCHEMA = {"string": {"type": "string"}, "number": {"type": "number"}, "bool": {"type": "boolean"}, "boolean": {"type": "boolean"},
           "array[string]": {"type": "array", "items": {"type": "string"}}, "array[number]": {"type": "array", "items": {"type": "number"}},
           "array[object]": {"type": "array", "items": {"type": "object"}}, "array[bool]": {"type": "array", "items": {"type": "boolean"}},
           "object": {"type": "object"}}


def map_iteration(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    pid = cx.pids[dify_id]
    if not any(cx.parent(child) == dify_id for child in cx.pids):
        raise NoMapping("the iteration has no steps inside it (none names it as parentId)")
    items = cx.selector_expr(data.get("iterator_selector"), dify_id, "iterator_selector")
    selector = data.get("output_selector") if isinstance(data.get("output_selector"), list) else []
    inner = str(selector[0]) if selector else ""
    nodes, edges = [], []
    sinks = {str(n) for n in cx.pids if cx.parent(str(n)) == dify_id} - {str(e.get("source")) for e in cx.raw_edges}
    try:
        plain = inner in sinks and cx.ref(selector, inner) == f"nodes.{cx.pids[inner]}.output"
    except Exception:  # noqa: BLE001 - any untranslatable selector takes the general path below
        plain = False
    if plain:  # the last step's whole output: πlot's own rule for an item's result
        cx.plain_loops.add(dify_id)
    elif inner in cx.pids and cx.parent(inner) == dify_id:
        out_id = cx.b.new_id(f"{pid}_value", "output")
        nodes.append({"id": out_id, "type": "output", "title": "Iteration value",
                      "config": {"outputs": {"value": cx.selector_value(selector, inner, "output_selector")}}})
        edges.append({"id": f"e_{out_id}", "source": cx.route.get(inner, cx.pids[inner]), "target": out_id})
    else:
        cx.lost(dify_id, "output_selector", "the iteration's output selector does not point inside it; each item's result is "
                "its last step's output")
    parallel = data.get("parallel_nums") if data.get("is_parallel") else 1
    if data.get("error_handle_mode") not in (None, "terminated"):
        cx.lost(dify_id, "error_handle_mode", f"error mode '{data['error_handle_mode']}': in πlot a failing item fails the loop")
    return {"type": "loop", "config": {"items": items, "max_concurrency": parallel if isinstance(parallel, int) and 1 <= parallel <= 64 else 1,
                                       "max_items": 10_000, "body": {"nodes": nodes, "edges": edges}}}


def _lines(cx: DifyImport, dify_id: str, text: Any, where: str) -> dict[str, str]:
    """Dify's ``"Key:Value\\nKey2:Value2"`` headers / params as a dict of templates."""
    out: dict[str, str] = {}
    for line in str(text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out[key.strip()] = cx.tmpl(value.strip(), dify_id, f"{where}.{key.strip()}")
    return out


def map_http(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    pid = cx.pids[dify_id]
    method = str(data.get("method") or "get").upper()
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
        raise NoMapping(f"HTTP method {method}")
    config: dict[str, Any] = {"method": method, "url": cx.tmpl(data.get("url", ""), dify_id, "url")}
    headers, query = _lines(cx, dify_id, data.get("headers"), "headers"), _lines(cx, dify_id, data.get("params"), "params")
    auth = data.get("authorization") or {}
    if auth.get("type") == "api-key":
        auth_config = auth.get("config") or {}
        credential = f"{pid}_api_key"
        scheme = auth_config.get("type", "bearer")
        header = str(auth_config.get("header") or "Authorization") if scheme == "custom" else "Authorization"
        headers[header] = {"bearer": "Bearer ", "basic": "Basic "}.get(scheme, "") + "{{ credentials." + credential + " }}"
        cx.b.item("credential", f"the API key of this request was not imported: create the credential '{credential}' "
                  "(POST /api/credentials) with it", node_id=pid, source=dify_id, source_type="http-request", field="authorization")
    if headers:
        config["headers"] = headers
    if query:
        config["query"] = query
    body = data.get("body") or {}
    kind, content = body.get("type", "none"), body.get("data")
    if kind in ("json", "raw-text", "raw"):
        text = "".join(str(d.get("value", "")) for d in content if isinstance(d, dict)) if isinstance(content, list) else content
        config["body"] = cx.tmpl(text or "", dify_id, "body")
    elif kind in ("x-www-form-urlencoded", "form-data"):
        pairs = ({str(d.get("key")): d.get("value", "") for d in content if isinstance(d, dict) and d.get("key")}
                 if isinstance(content, list) else {k.strip(): v.strip() for k, _s, v in (line.partition(":") for line in str(content or "").splitlines()) if k.strip()})
        fields = ", ".join(f"{literal(k)}: {to_expression(cx.parts(v, dify_id, f'body.{k}'))}" for k, v in pairs.items())
        config["body"] = "{{ {" + fields + "} | urlencode }}"
        if kind == "form-data":
            cx.lost(dify_id, "body", "multipart form data is sent URL-encoded")
    elif kind == "binary":
        raise NoMapping("a binary (file) request body")
    timeout = data.get("timeout") or {}
    seconds = max([t for t in (timeout.get("max_connect_timeout"), timeout.get("max_read_timeout"), timeout.get("max_write_timeout"))
                   if isinstance(t, (int, float))] or [0])
    if 0 < seconds <= 86_400:
        config["timeout_s"] = float(seconds)
    return {"type": "api", "config": config}


def map_knowledge(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    datasets = [str(d) for d in data.get("dataset_ids") or []]
    if not datasets:
        raise NoMapping("a knowledge retrieval with no dataset")
    if len(datasets) > 1:
        cx.lost(dify_id, "dataset_ids", f"it searched {len(datasets)} datasets; πlot searches the first ({datasets[0]})")
    retrieval = data.get("multiple_retrieval_config") or data.get("single_retrieval_config") or {}
    top_k = retrieval.get("top_k") if isinstance(retrieval.get("top_k"), int) and 1 <= retrieval.get("top_k") <= 50 else 4
    cx.lost(dify_id, "result", f"results are passages {{text, score, document_id, title}} from the πlot knowledge base "
            f"'{datasets[0]}' (create one of that name, or pick another: readiness lists it)")
    return {"type": "knowledge", "config": {"knowledge_base": datasets[0], "top_k": top_k,
                                            "query": cx.selector_value(data.get("query_variable_selector"), dify_id, "query_variable_selector")}}


def map_code(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    carried = carried_node(data.get("code"))
    if carried is not None:  # a πlot step exported without a Dify counterpart comes back as it was
        return {k: v for k, v in carried.items() if k != "id"}
    if data.get("code_language", "python3") != "python3":
        raise NoMapping(f"{data.get('code_language')} code: πlot code steps run Python")
    inputs = {str(v["variable"]): cx.selector_value(v.get("value_selector"), dify_id, f"variables.{v['variable']}")
              for v in data.get("variables") or [] if isinstance(v, dict) and v.get("variable")}
    code = str(data.get("code") or "")
    if not re.search(r"^def main\(", code, re.M):
        raise NoMapping("the code defines no main function")
    if code.endswith(PILOT_CODE_WRAPPER):  # πlot's own code, exported: main(inputs) again
        cx.native_code.add(dify_id)
        return {"type": "code", "config": {"language": "python", "code": code[: -len(PILOT_CODE_WRAPPER)], "inputs": inputs}}
    return {"type": "code", "config": {"language": "python", "code": code + code_adapter(data.get("outputs")), "inputs": inputs}}


def map_template(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    template = jinja_with(cx, dify_id, data.get("template", ""), data.get("variables"), "variables")
    return {"type": "transform", "config": {"mode": "set", "fields": {"output": template or '{{ "" }}'}}}


def map_aggregator(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    selectors = [s for s in data.get("variables") or [] if isinstance(s, list)]
    if (data.get("advanced_settings") or {}).get("group_enabled"):
        raise NoMapping("a variable aggregator with groups")
    if not selectors:
        raise NoMapping("a variable aggregator with no variables")
    chain = cx.selector_expr(selectors[-1], dify_id, "variables")
    for selector in reversed(selectors[:-1]):  # the first branch that ran
        ref = cx.selector_expr(selector, dify_id, "variables")
        node = cx.pids.get(str(selector[0]))
        guard = f"nodes.{cx.route.get(str(selector[0]), node)}.output is not none" if node else f"({ref}) is not none"
        chain = f"(({ref}) if {guard} else {chain})"
    return {"type": "transform", "config": {"mode": "set", "fields": {"output": "{{ " + chain + " }}"}}}


def map_extractor(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for p in data.get("parameters") or []:
        if isinstance(p, dict) and p.get("name"):
            schema = dict(_SCHEMA.get(str(p.get("type")), {"type": "string"}))
            if p.get("options"):
                schema["enum"] = list(p["options"])
            properties[str(p["name"])] = {**schema, "description": str(p.get("description", ""))}
    required = [str(p["name"]) for p in data.get("parameters") or [] if isinstance(p, dict) and p.get("required") and p.get("name")]
    query = cx.selector_value(data.get("query"), dify_id, "query")
    instruction = cx.tmpl(data.get("instruction") or "", dify_id, "instruction")
    return {"type": "llm", "config": {"prompt": (instruction + "\n\n" if instruction else "") + "Text:\n" + query,
                                      "system": "Extract the requested parameters from the text as JSON.", **_model(data),
                                      "output_schema": {"type": "object", "properties": properties, "required": required}}}


def map_agent(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    params = data.get("agent_parameters") or {}

    def value(name: str) -> Any:
        entry = params.get(name)
        return entry.get("value") if isinstance(entry, dict) else None

    model = value("model") or {}
    tools = []
    for tool in value("tools") or []:
        if isinstance(tool, dict) and tool.get("enabled", True):
            name = str(tool.get("tool_name") or tool.get("provider_name") or "tool")
            tools.append("tool:" + (re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_") or "tool"))
    if value("mcp_server"):
        cx.lost(dify_id, "mcp_server", "the MCP server is not registered: add it (POST /api/mcp-servers) and list it as mcp:<id>")
    cx.lost(dify_id, "agent_strategy", f"the Dify agent strategy '{data.get('agent_strategy_name')}' runs as πlot's tool-calling "
            "agent; its tools are references readiness asks you to register")
    prompt = cx.tmpl(value("query") or "{{#sys.query#}}", dify_id, "query")
    return {"type": "agent", "config": {"prompt": prompt or '{{ "" }}', "system": cx.tmpl(value("instruction") or "", dify_id, "instruction"),
                                        "model": str(model.get("model") or "gpt-4o-mini") if isinstance(model, dict) else "gpt-4o-mini",
                                        "tools": tools}}


def map_tool(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    raise NoMapping(f"the Dify tool {data.get('provider_id') or data.get('provider_name')}/{data.get('tool_name')} has no πlot connector")


MAPPERS = {"start": map_start, "end": map_end, "answer": map_answer, "llm": map_llm, "if-else": map_if_else,
           "question-classifier": map_classifier, "iteration": map_iteration, "http-request": map_http,
           "knowledge-retrieval": map_knowledge, "code": map_code, "template-transform": map_template,
           "variable-aggregator": map_aggregator, "variable-assigner": map_aggregator, "parameter-extractor": map_extractor,
           "agent": map_agent, "tool": map_tool}
