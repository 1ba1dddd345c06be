"""The ``input`` node and the validation of a run's ``input_data`` against declared fields.

:func:`validate_inputs` runs in the API before anything is stored (bad input → 422 naming the
field); the runner re-applies it so a resumed or worker-side run sees the same values.
Undeclared keys are kept (templates may use them); ``null`` counts as absent.
"""

from __future__ import annotations

from typing import Any

from pilot.core.errors import UnprocessableError
from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext

_CHECKS = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "boolean": (lambda v: isinstance(v, bool), "a boolean"),
    "object": (lambda v: isinstance(v, dict), "an object"),
    "array": (lambda v: isinstance(v, list), "an array"),
}


def input_fields(nodes: list[Any]) -> list[Any]:
    """Every field declared by the graph's ``input`` nodes (in order)."""
    return [f for n in nodes if n.__struct_config__.tag == "input" for f in n.config.fields]


def as_delivered(fields: list[Any], data: Any) -> Any:
    """A webhook or form body as its sender posts it (Stripe, Shopify, an ERP, a web form): when the
    workflow takes the whole delivery as one ``object`` input ("payload", "submission", "event")
    and the body does not name that input, the body is it. Keys that name the other declared
    fields stay beside it; a body that names the object input is taken as it is."""
    objects = [f for f in fields if f.type == "object"]
    if len(objects) != 1 or not isinstance(data, dict) or objects[0].name in data:
        return data
    others = {f.name for f in fields} - {objects[0].name}
    return {objects[0].name: {k: v for k, v in data.items() if k not in others}, **{k: v for k, v in data.items() if k in others}}


_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array"})


def fields_json_schema(fields: list[Any], *, titled: bool = False) -> dict[str, Any]:
    """JSON Schema (``type: object``) of input ``fields``: what a form, an MCP tool or an agent's
    workflow tool accepts. ``required`` lists the required fields without a default and is left
    out when empty; ``titled`` gives each property its field name as ``title`` (forms)."""
    properties: dict[str, Any] = {}
    for f in fields:
        prop: dict[str, Any] = {"type": f.type if f.type in _JSON_TYPES else "string"}
        if titled:
            prop["title"] = f.name
        if f.description:
            prop["description"] = f.description
        if f.default is not None:
            prop["default"] = f.default
        properties[f.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [f.name for f in fields if f.required and f.default is None]
    if required:
        schema["required"] = required
    return schema


def validate_inputs(fields: list[Any], data: Any) -> dict[str, Any]:
    """Check ``data`` against ``fields``; returns the inputs with defaults applied.

    Raises :class:`UnprocessableError` naming the first bad field (``extra.field``) and listing all.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UnprocessableError("input_data must be an object", extra={"field": "input_data", "problems": []})
    values = dict(data)
    problems: list[dict[str, str]] = []
    for spec in fields:
        value = values.get(spec.name)
        path = f"input_data.{spec.name}"
        if value is None:
            if spec.default is not None:
                values[spec.name] = spec.default
            elif spec.required:
                problems.append({"field": path, "message": f"{path} is required ({spec.type})"})
            else:
                values.setdefault(spec.name, None)
            continue
        check, label = _CHECKS.get(spec.type, (lambda v: True, spec.type))
        if not check(value):
            problems.append({"field": path, "message": f"{path} must be {label}, got {type(value).__name__}"})
    if problems:
        raise UnprocessableError(problems[0]["message"], extra={"field": problems[0]["field"], "problems": problems})
    return values


class InputRunner:
    """Outputs the run's inputs for its declared fields (or all inputs if it declares none)."""

    node_type = "input"

    async def run(self, ctx: NodeContext) -> Any:
        fields = ctx.node.config.fields
        try:
            values = validate_inputs(fields, ctx.scope.get("inputs", {}))
        except UnprocessableError as exc:
            raise NodeError(exc.detail) from exc
        if not fields:
            return values
        return {f.name: values.get(f.name) for f in fields}


_SAMPLES: dict[str, Any] = {"number": 1.5, "integer": 1, "boolean": True, "object": {}, "array": []}


def sample_inputs(fields: list[Any]) -> dict[str, Any]:
    """Plausible values for a test run: each field's default, else a sample of its type."""
    return {
        f.name: f.default if f.default is not None else _SAMPLES.get(f.type, f"sample {f.name.replace('_', ' ')}")
        for f in fields
    }
