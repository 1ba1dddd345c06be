"""Structured output for ``llm`` nodes with an ``output_schema``.

- :func:`schema_instruction`: the system-prompt addition asking for JSON matching the schema;
- :func:`parse_json_reply`: pulls the JSON value out of a reply (tolerates ```json fences and
  prose around one object, which models produce even when asked not to);
- :func:`validate`: checks the value against the JSON-Schema subset node schemas use (type, enum,
  const, required, properties, additionalProperties, items, min/max, minLength/maxLength,
  minItems/maxItems, anyOf) and returns the problems with their JSON paths;
- :func:`offline_instance`: a deterministic value that satisfies the schema, so workflows with
  structured steps still run end to end on the offline provider (strings say "[offline]").
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def schema_instruction(schema: dict[str, Any]) -> str:
    return (
        "Respond with a single JSON value and nothing else (no prose, no code fences). "
        f"It must validate against this JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}"
    )


def wants_json_object(schema: dict[str, Any]) -> bool:
    """OpenAI's ``json_object`` response format only allows a top-level object."""
    return schema.get("type") == "object" or "properties" in schema


def parse_json_reply(text: str) -> Any:
    """The JSON value in ``text``; raises ValueError when there is none."""
    candidates = [text.strip()]
    candidates += [m.strip() for m in _FENCE.findall(text)]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("the reply is not valid JSON")


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Problems of ``value`` against ``schema`` (empty list: valid)."""
    problems: list[str] = []
    if not isinstance(schema, dict):
        return problems
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        if options and all(validate(value, option, path) for option in options):
            problems.append(f"{path}: matches none of the allowed alternatives")
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, n) for n in names):
            return [*problems, f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: must be {schema['const']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']} characters")
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}.{name}: required property is missing")
        for name, item in value.items():
            if name in props:
                problems += validate(item, props[name], f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}.{name}: unexpected property")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += validate(item, schema["additionalProperties"], f"{path}.{name}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{path}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                problems += validate(item, schema["items"], f"{path}[{i}]")
    return problems


def offline_instance(schema: dict[str, Any], label: str = "value") -> Any:
    """A deterministic value valid against ``schema`` (defaults and enums first)."""
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return offline_instance(options[0], label)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: offline_instance(sub, name) for name, sub in props.items()}
    if kind == "array":
        count = max(schema.get("minItems", 1), 1) if isinstance(schema.get("items"), dict) else 0
        return [offline_instance(schema["items"], label) for _ in range(count)]
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", 0), schema.get("maximum")
        value = low if high is None else (low + high) / 2
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    text = f"[offline] {label}"
    if "maxLength" in schema:
        text = text[: schema["maxLength"]]
    return text.ljust(schema.get("minLength", 0), ".")
