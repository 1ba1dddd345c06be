"""One writer per πlot node type for the Dify export (``ex`` is :class:`pilot.interop.dify_export.DifyExport`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pilot.interop.builder import placeholder_origin
from pilot.interop.dify_export_nodes import (
    _conditions,
    _model,
    _prompt,
    jinja_variables,
    placeholder,
    selector,
    text,
)
from pilot.interop.dify_nodes import split_adapter
from pilot.interop.dify_steps import PILOT_CODE_WRAPPER
from pilot.interop.textparts import Untranslatable

if TYPE_CHECKING:
    from pilot.interop.dify_export import DifyExport



def _start(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    variables = []
    for f in config.get("fields", []):
        if ex.chat and f["name"] == "message":
            continue
        number = f.get("type") in ("number", "integer")
        if f.get("type") in ("object", "array", "boolean"):
            ex.note(node, f"input '{f['name']}' ({f['type']}) is a text input in Dify")
        variables.append({"variable": f["name"], "label": f.get("description") or f["name"], "type": "number" if number else "paragraph",
                          "required": bool(f.get("required", True)), "max_length": None if number else 33024, "options": []})
    ex.add(node, {"type": "start", "variables": variables})


def _llm(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    messages, variables = [], []
    for role, src in (("system", config.get("system")), ("user", config.get("prompt"))):
        if src:
            message, extra = _prompt(ex, node, role, src)
            messages.append(message)
            variables += extra
    data: dict[str, Any] = {"type": "llm", "model": _model(str(config.get("model", "gpt-4o-mini")), config), "prompt_template": messages,
                            "context": {"enabled": False, "variable_selector": []}, "vision": {"enabled": False}, "variables": variables}
    if config.get("output_schema"):
        data.update(structured_output_enabled=True, structured_output={"schema": config["output_schema"]})
    ex.add(node, data)


def _agent(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    model = _model(str(config.get("model", "gpt-4o-mini")), config)
    constant = lambda value: {"type": "constant", "value": value}  # noqa: E731
    params = {"model": constant({"provider": model["provider"], "model": model["name"], "model_type": "llm", "mode": "chat",
                                 "completion_params": {}, "type": "model-selector"}),
              "instruction": constant(text(ex, node, config.get("system", ""), "system")),
              "query": constant(text(ex, node, config.get("prompt", ""), "prompt")), "tools": constant([]),
              "maximum_iterations": constant(config.get("max_steps", 8))}
    ex.add(node, {"type": "agent", "agent_parameters": params, "agent_strategy_label": "FunctionCalling",
                  "agent_strategy_name": "function_calling", "agent_strategy_provider_name": "langgenius/agent/agent",
                  "plugin_unique_identifier": "langgenius/agent", "output_schema": None})
    ex.note(node, "an agent: Dify needs the langgenius/agent plugin" + (f"; its tools ({', '.join(config['tools'])}) are not exported"
                                                                      if config.get("tools") else ""))


def _condition(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    cases = []
    for case in config.get("cases", []):
        try:
            joiner, conditions = _conditions(ex, node, case["when"])
        except Untranslatable as exc:
            ex.note(node, f"case '{case['id']}' not translated ({exc}): `{case['when'][:200]}`")
            joiner, conditions = "and", []
        cases.append({"case_id": case["id"], "id": case["id"], "logical_operator": joiner, "conditions": conditions})
    ex.add(node, {"type": "if-else", "cases": cases}, height=54 + 60 * len(cases))


def _loop(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    body = config["body"]
    outputs = [n for n in body.get("nodes", []) if n["type"] == "output" and len((n.get("config") or {}).get("outputs") or {}) == 1]
    output_selector: list[str] = []
    if outputs:
        ex.skipped.add(outputs[0]["id"])
        ex.refs.viewer = outputs[0]["id"]
        output_selector = selector(ex, node, next(iter(outputs[0]["config"]["outputs"].values())), "iteration value")
        ex.refs.viewer = node["id"]
    else:  # each item's result is its last step's output (πlot's rule for a body without an output node)
        targets = {e["source"] for e in body.get("edges", [])}
        sinks = [n for n in body.get("nodes", []) if n["id"] not in targets]
        whole = len(sinks) == 1 and sinks[0]["type"] in ("llm", "agent") and not sinks[0]["config"].get("output_schema")
        output_selector = [sinks[0]["id"], "text"] if whole else []  # only a selector that is the step's whole output
        if not output_selector:
            ex.note(node, "choose the iteration's output variable")
    parallel = int(config.get("max_concurrency", 1))
    ex.add(node, {"type": "iteration", "iterator_selector": selector(ex, node, config.get("items", ""), "items"),
                  "output_selector": output_selector, "output_type": "array[string]", "start_node_id": f"{node['id']}start",
                  "is_parallel": parallel > 1, "parallel_nums": min(parallel, 10), "error_handle_mode": "terminated",
                  "width": 600, "height": 300}, width=600, height=300)
    ex.nodes.append({"id": f"{node['id']}start", "type": "custom-iteration-start", "parentId": node["id"], "draggable": False,
                     "selectable": False, "position": {"x": 24, "y": 68}, "width": 44, "height": 48, "zIndex": 1002,
                     "data": {"type": "iteration-start", "title": "", "desc": "", "isInIteration": True, "selected": False},
                     "sourcePosition": "right", "targetPosition": "left"})
    ex.types[f"{node['id']}start"] = "iteration-start"


def _lines(ex: DifyExport, node: dict[str, Any], values: dict[str, Any], where: str) -> str:
    return "\n".join(f"{k}:{text(ex, node, v, f'{where}.{k}')}" for k, v in (values or {}).items())


def _http(ex: DifyExport, node: dict[str, Any], method: str, url: Any, headers: dict[str, Any], query: dict[str, Any],
          body: Any, timeout: Any = None) -> None:
    data = [{"id": "key-value-1", "key": "", "type": "text", "value": text(ex, node, body, "body")}] if body is not None else []
    ex.add(node, {"type": "http-request", "method": method.lower(), "url": text(ex, node, url, "url"),
                  "headers": _lines(ex, node, headers, "headers"), "params": _lines(ex, node, query, "query"),
                  "body": {"type": "json" if body is not None else "none", "data": data},
                  "authorization": {"type": "no-auth", "config": None}, "variables": [],
                  "timeout": {"max_connect_timeout": 0, "max_read_timeout": int(timeout or 0), "max_write_timeout": 0}})


def _tool(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    tool, args = config.get("tool", ""), config.get("arguments") or {}
    text_arg = args.get("text", "")
    bodies = {"slack": ("{{ {'text': " + _expr(text_arg) + "} | tojson }}", "webhook_url"),
              "feishu": ("{{ {'msg_type': 'text', 'content': {'text': " + _expr(text_arg) + "}} | tojson }}", "webhook_url"),
              "dingtalk": ("{{ {'msgtype': 'text', 'text': {'content': " + _expr(text_arg) + "}} | tojson }}", "webhook_url"),
              "wecom": ("{{ {'msgtype': 'text', 'text': {'content': " + _expr(text_arg) + "}} | tojson }}", "webhook_url"),
              "webhook": ("{{ " + _expr(args.get("payload")) + " | tojson }}", "url")}
    if tool in bodies and args.get(bodies[tool][1]):
        body, url_key = bodies[tool]
        ex.refs.viewer = node["id"]
        try:
            rendered = ex.refs.text(body)
        except Untranslatable as exc:
            ex.note(node, f"the message is not translated ({exc})")
            rendered = body
        ex.add(node, {"type": "http-request", "method": "post", "url": text(ex, node, args[url_key], "url"),
                      "headers": "Content-Type:application/json", "params": "",
                      "body": {"type": "json", "data": [{"id": "key-value-1", "key": "", "type": "text", "value": rendered}]},
                      "authorization": {"type": "no-auth", "config": None}, "variables": [],
                      "timeout": {"max_connect_timeout": 0, "max_read_timeout": 0, "max_write_timeout": 0}})
        return
    placeholder(ex, node, f"the πlot tool '{tool}' has no Dify node")


def _expr(value: Any) -> str:
    from pilot.interop.textparts import literal

    if isinstance(value, str) and value.startswith("{{") and value.endswith("}}") and value.count("{{") == 1:
        return value[2:-2].strip()
    return literal(value)


def _output(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    outputs = config.get("outputs") or {}
    if ex.chat:
        ex.add(node, {"type": "answer", "answer": "\n".join(text(ex, node, v, f"outputs.{k}") for k, v in outputs.items()), "variables": []})
        return
    ex.add(node, {"type": "end", "outputs": [{"variable": k, "value_selector": selector(ex, node, v, f"outputs.{k}")} for k, v in outputs.items()]})


def _code(ex: DifyExport, node: dict[str, Any], config: dict[str, Any]) -> None:
    code, outputs = split_adapter(config.get("code", ""))
    if outputs is None:
        code, outputs = code + PILOT_CODE_WRAPPER, {"result": {"type": "object", "children": None}}
    variables = [{"variable": k, "value_selector": selector(ex, node, v, f"inputs.{k}")} for k, v in (config.get("inputs") or {}).items()]
    ex.add(node, {"type": "code", "code_language": "python3", "code": code, "variables": variables, "outputs": outputs})


def data_for(ex: DifyExport, node: dict[str, Any]) -> None:
    """Write ``node`` into the export."""
    kind, config = node["type"], node.get("config") or {}
    origin = placeholder_origin(node)
    if origin is not None:
        original = origin.get("original") or {}
        if origin.get("source") == "dify" and isinstance(original.get("data"), dict):
            ex.add(node, {**original["data"], "title": origin.get("name") or node["id"]})
            ex.note(node, "a node πlot could not run, written back as it was imported")
        else:
            placeholder(ex, node, f"it was not imported from {origin.get('source')} ({origin.get('type')})")
        return
    if kind == "input":
        _start(ex, node, config)
    elif kind == "llm":
        _llm(ex, node, config)
    elif kind == "agent":
        _agent(ex, node, config)
    elif kind == "condition":
        _condition(ex, node, config)
    elif kind == "loop":
        _loop(ex, node, config)
    elif kind == "api":
        _http(ex, node, config.get("method", "GET"), config.get("url", ""), config.get("headers") or {}, config.get("query") or {},
              config.get("body"), config.get("timeout_s"))
    elif kind == "knowledge":
        ex.add(node, {"type": "knowledge-retrieval", "dataset_ids": [config.get("knowledge_base", "")],
                      "query_variable_selector": selector(ex, node, config.get("query", ""), "query"), "retrieval_mode": "multiple",
                      "multiple_retrieval_config": {"top_k": config.get("top_k", 4), "reranking_enable": False, "score_threshold": None}})
        ex.note(node, f"set the dataset: πlot searched its knowledge base '{config.get('knowledge_base')}'")
    elif kind == "tool":
        _tool(ex, node, config)
    elif kind == "output":
        _output(ex, node, config)
    elif kind == "code" and config.get("language", "python") == "python":
        _code(ex, node, config)
    elif kind == "transform" and config.get("mode", "set") == "set" and len(config.get("fields") or {}) == 1:
        template, variables = jinja_variables(ex, node, next(iter(config["fields"].values())), "fields")
        ex.add(node, {"type": "template-transform", "template": template, "variables": variables})
    else:
        placeholder(ex, node, f"a πlot {kind} step ({config.get('mode') or config.get('language') or json.dumps(config)[:60]}) "
                              "has no Dify node")

