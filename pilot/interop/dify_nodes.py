"""Dify node types → πlot nodes: one small mapper per ``data.type``.

A mapper returns a πlot node (``{type, config}``; the importer adds id and title) or a list of
them with ids, or raises :class:`NoMapping`. ``cx`` is :class:`pilot.interop.dify_import.DifyImport`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pilot.interop.n8n_triggers import field_name
from pilot.interop.textparts import Untranslatable, literal, marker

if TYPE_CHECKING:
    from pilot.interop.dify_import import DifyImport

# Dify calls main(var1, var2, …) with the node's variables; πlot calls main(inputs) with one dict.
# The adapter also keeps the node's declared outputs, so an export back to Dify restores them.
ADAPTER_HEAD = "\n\n# --- πlot: Dify called main(**variables); πlot calls main(inputs) ---\n"


def code_adapter(outputs: Any) -> str:
    """What an imported Dify code node's source gets appended."""
    return (ADAPTER_HEAD + "# dify-outputs: " + json.dumps(outputs if isinstance(outputs, dict) else {}, ensure_ascii=False)
            + "\n_dify_main = main\n\n\ndef main(inputs):\n    return _dify_main(**inputs)\n")


def split_adapter(code: str) -> tuple[str, dict[str, Any] | None]:
    """``(original Dify code, its declared outputs)``, or ``(code, None)`` without an adapter."""
    at = code.rfind(ADAPTER_HEAD)
    if at == -1:
        return code, None
    line = code[at + len(ADAPTER_HEAD):].split("\n", 1)[0]
    try:
        outputs = json.loads(line.removeprefix("# dify-outputs: "))
    except ValueError:
        outputs = {}
    return code[:at], outputs if isinstance(outputs, dict) else {}
_TYPES = {"string": "string", "number": "number", "bool": "boolean", "boolean": "boolean", "select": "string",
          "object": "object", "array[string]": "array", "array[number]": "array", "array[object]": "array", "array[bool]": "array"}


class NoMapping(Exception):
    """This node has no faithful πlot form; the message says why."""


def start_fields(cx: DifyImport, dify_id: str) -> dict[str, dict[str, Any]]:
    """Start variables → input fields (keyed by the Dify variable name)."""
    taken: set[str] = {"message"} if cx.chat else set()
    out: dict[str, dict[str, Any]] = {}
    for v in cx.nodes[dify_id]["data"].get("variables") or []:
        if not isinstance(v, dict) or not v.get("variable"):
            continue
        kind = v.get("type", "text-input")
        description = str(v.get("label") or "")
        if v.get("options"):
            description += f" (one of: {', '.join(map(str, v['options']))})"
        field: dict[str, Any] = {"name": field_name(v["variable"], taken), "required": bool(v.get("required", True)),
                                 "type": {"number": "number", "file": "object", "file-list": "array"}.get(kind, "string"),
                                 "description": description.strip()[:500]}
        if v.get("default") not in (None, ""):
            field["default"] = v["default"]
        out[str(v["variable"])] = field
    return out


def map_start(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    fields = list(start_fields(cx, dify_id).values())
    for f in fields:
        if f["type"] in ("object", "array") and "file" in str(f):
            cx.lost(dify_id, f["name"], f"'{f['name']}' was a file upload; πlot inputs are JSON values")
    config: dict[str, Any] = {"fields": fields}
    if cx.chat:
        config["fields"] = [{"name": "message", "type": "string", "required": True, "description": "the user's message"}, *fields]
        config["trigger"] = {"kind": "chat"}
    return {"type": "input", "config": config}


def map_end(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    outputs = {str(o.get("variable") or f"output_{i}"): cx.selector_value(o.get("value_selector"), dify_id, f"outputs.{o.get('variable')}")
               for i, o in enumerate(data.get("outputs") or []) if isinstance(o, dict)}
    return {"type": "output", "config": {"outputs": outputs}}


def map_answer(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "output", "config": {"outputs": {"answer": cx.tmpl(data.get("answer", ""), dify_id, "answer")}}}


def _model(data: dict[str, Any]) -> dict[str, Any]:
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    out: dict[str, Any] = {"model": str(model.get("name") or model.get("model") or "gpt-4o-mini")}
    params = model.get("completion_params") or {}
    if isinstance(params.get("temperature"), (int, float)) and 0 <= params["temperature"] <= 2:
        out["temperature"] = params["temperature"]
    if isinstance(params.get("max_tokens"), int) and 1 <= params["max_tokens"] <= 200_000:
        out["max_tokens"] = params["max_tokens"]
    return out


def jinja_with(cx: DifyImport, dify_id: str, template: str, variables: Any, where: str) -> str:
    """A Dify jinja2 template with its named variables bound first (``{% set x = <ref> %}``)."""
    sets = "".join("{% set " + v["variable"] + " = " + cx.selector_expr(v.get("value_selector"), dify_id, f"{where}.{v['variable']}") + " %}"
                   for v in variables or [] if isinstance(v, dict) and re.fullmatch(r"[A-Za-z_]\w*", str(v.get("variable", ""))))
    return sets + str(template or "")


def map_llm(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    context = data.get("context") or {}
    extra = {"context": context.get("variable_selector")} if context.get("enabled") and context.get("variable_selector") else None
    template = data.get("prompt_template")
    messages = template if isinstance(template, list) else [template] if isinstance(template, dict) else []
    roles: dict[str, list[str]] = {"system": [], "user": [], "assistant": []}
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("edition_type") == "jinja2":
            text = jinja_with(cx, dify_id, m.get("jinja2_text", ""), data.get("variables"), "prompt_template")
        else:
            text = cx.tmpl(m.get("text", ""), dify_id, "prompt_template", extra=extra)
        roles.get(m.get("role", "user"), roles["user"]).append(text)
    prompt = "\n\n".join(roles["user"])
    if roles["assistant"]:
        cx.lost(dify_id, "prompt_template", "assistant turns of the prompt are folded into the πlot prompt")
        prompt = "\n\n".join([*roles["user"], *(f"Assistant: {a}" for a in roles["assistant"])])
    memory = data.get("memory")
    if isinstance(memory, dict):
        cx.lost(dify_id, "memory", "conversation memory is not carried over: each πlot run starts without history")
        if not roles["user"] and cx.chat:
            prompt = cx.tmpl(memory.get("query_prompt_template") or "{{#sys.query#}}", dify_id, "memory.query_prompt_template")
    if (data.get("vision") or {}).get("enabled"):
        cx.lost(dify_id, "vision", "image inputs (vision) are not carried over")
    config: dict[str, Any] = {"prompt": prompt, "system": "\n\n".join(roles["system"]), **_model(data)}
    if data.get("structured_output_enabled") and isinstance((data.get("structured_output") or {}).get("schema"), dict):
        config["output_schema"] = data["structured_output"]["schema"]
    return {"type": "llm", "config": config}


def _condition(cx: DifyImport, dify_id: str, cond: dict[str, Any]) -> str:
    left = cx.selector_expr(cond.get("variable_selector"), dify_id, "conditions")
    op = str(cond.get("comparison_operator", "is"))
    raw = cond.get("value")
    numeric = cond.get("varType") == "number" or op in ("=", "≠", ">", "<", "≥", "≤", ">=", "<=")
    if isinstance(raw, str) and "{{#" in raw:
        right = cx.selector_expr(raw.strip()[3:-3].split("."), dify_id, "conditions") if raw.strip().startswith("{{#") else literal(raw)
    elif numeric and isinstance(raw, str):
        try:
            right = literal(float(raw) if "." in raw else int(raw))
        except ValueError:
            right = literal(raw)
    else:
        right = literal(raw)
    ops = {"is": "==", "=": "==", "is not": "!=", "≠": "!=", "!=": "!=", ">": ">", "<": "<", "≥": ">=", ">=": ">=", "≤": "<=", "<=": "<="}
    if op in ops:
        return f"(({left}) {ops[op]} ({right}))"
    tests = {"contains": f"(({right}) in ({left}))", "not contains": f"(({right}) not in ({left}))",
             "start with": f"(({left}) | string).startswith({right})", "end with": f"(({left}) | string).endswith({right})",
             "empty": f"(not ({left}))", "not empty": f"(({left}) and true)", "null": f"(({left}) is none)",
             "not null": f"(({left}) is not none)", "exists": f"(({left}) is not none)", "not exists": f"(({left}) is none)",
             "in": f"(({left}) in ({right}))", "not in": f"(({left}) not in ({right}))"}
    if op not in tests:
        raise Untranslatable(f"comparison '{op}'")
    return tests[op]


def map_if_else(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> dict[str, Any]:
    cases_in = data.get("cases")
    if not isinstance(cases_in, list):  # the older single-case form
        cases_in = [{"case_id": "true", "conditions": data.get("conditions") or [], "logical_operator": data.get("logical_operator", "and")}]
    cases, handles = [], {"false": "false"}
    for i, case in enumerate(c for c in cases_in if isinstance(c, dict)):
        case_id = str(case.get("case_id") or case.get("id") or i)
        pilot_id = case_id if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", case_id) and case_id != "false" else f"case_{i + 1}"
        try:
            tests = [_condition(cx, dify_id, c) for c in case.get("conditions") or [] if isinstance(c, dict)]
            when = (" or " if case.get("logical_operator") == "or" else " and ").join(tests) or "true"
        except Untranslatable as exc:
            cx.expression_item(dify_id, f"cases[{i}]", str(case.get("conditions"))[:300], exc)
            when = marker("dify", str(case.get("conditions"))[:500]).jinja
        cases.append({"id": pilot_id, "when": when})
        handles[case_id] = pilot_id
    if not cases:
        raise NoMapping("an if/else node with no cases")
    cx.handles[dify_id] = handles
    return {"type": "condition", "config": {"cases": cases, "else": "false"}}


def map_classifier(cx: DifyImport, dify_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    classes = [c for c in data.get("classes") or [] if isinstance(c, dict) and c.get("name")]
    if not classes:
        raise NoMapping("a question classifier with no classes")
    pid = cx.pids[dify_id]
    names = [str(c["name"]) for c in classes]
    query = cx.selector_value(data.get("query_variable_selector"), dify_id, "query_variable_selector")
    instruction = str(data.get("instruction") or data.get("instructions") or "")
    prompt = (f"Classify the text into exactly one of these categories: {', '.join(names)}.\n"
              + (cx.tmpl(instruction, dify_id, "instruction") + "\n" if instruction else "") + "\nText:\n" + query)
    llm = {"id": pid, "type": "llm", "config": {
        "prompt": prompt, "system": "You are a text classifier. Answer with the category only.", **_model(data),
        "output_schema": {"type": "object", "properties": {"category": {"type": "string", "enum": names}}, "required": ["category"]}}}
    route = cx.b.new_id(f"{pid}_route", "route")
    cases = [{"id": f"class_{i + 1}", "when": f"nodes.{pid}.output.category == {literal(name)}"} for i, name in enumerate(names)]
    cx.handles[dify_id] = {str(c.get("id")): case["id"] for c, case in zip(classes, cases, strict=True)}
    cx.route[dify_id] = route
    cx.extra_edges[cx.parent(dify_id)].append({"id": f"e_{route}", "source": pid, "target": route})
    title = str(data.get("title") or "Classifier")
    return [llm, {"id": route, "type": "condition", "title": f"Route: {title}"[:200],
                  "config": {"cases": cases, "else": "unclassified"}}]
