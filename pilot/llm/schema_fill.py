"""Build a deterministic example instance of a JSON Schema.

Used by the offline provider (``response_format`` with a json_schema) and by the test suite's
fake OpenAI server (tool calls answering an instructor response model). Handles ``$ref`` /
``$defs``, ``anyOf``/``oneOf``/``allOf``, ``enum``/``const``/``default``, objects, arrays and
scalars with their common bounds.
"""

from __future__ import annotations

import hashlib
from typing import Any

_MAX_DEPTH = 8


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        ref = schema["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            if part:
                target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def example_from_schema(schema: dict[str, Any], *, seed: str = "", root: dict[str, Any] | None = None,
                        name: str = "value", depth: int = 0) -> Any:
    """A deterministic value valid for ``schema`` (required and optional properties filled)."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if schema.get("enum"):
        options = schema["enum"]
        return options[_pick(seed + name, len(options))]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            choices = [_resolve(c, root) for c in schema[key]]
            non_null = [c for c in choices if c.get("type") != "null"] or choices
            return example_from_schema(non_null[0], seed=seed, root=root, name=name, depth=depth)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        return example_from_schema(merged, seed=seed, root=root, name=name, depth=depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if depth > _MAX_DEPTH:
        return None if kind not in ("object", "array") else ({} if kind == "object" else [])
    if kind == "object":
        props = schema.get("properties", {})
        return {
            key: example_from_schema(sub, seed=seed, root=root, name=key, depth=depth + 1)
            for key, sub in props.items()
        }
    if kind == "array":
        items = schema.get("items", {"type": "string"})
        count = max(int(schema.get("minItems", 1)), 1)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [example_from_schema(items, seed=seed, root=root, name=f"{name}_{i}", depth=depth + 1)
                for i in range(count)]
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 1001) - 1)
        span = min(int(high - low), 9) + 1 if high >= low else 1
        return int(low) + _pick(seed + name, span)
    if kind == "number":
        low = float(schema.get("minimum", schema.get("exclusiveMinimum", 0.0)))
        high = float(schema.get("maximum", schema.get("exclusiveMaximum", low + 1.0)))
        return round(low + (high - low) * 0.5, 4)
    if kind == "boolean":
        return _pick(seed + name, 2) == 1
    if kind == "null":
        return None
    text = f"{name}"
    min_len = int(schema.get("minLength", 0))
    if len(text) < min_len:
        text = text + "x" * (min_len - len(text))
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text


def _pick(key: str, n: int) -> int:
    """A stable index in ``range(n)`` derived from ``key`` (no randomness, same across runs)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % max(n, 1)
