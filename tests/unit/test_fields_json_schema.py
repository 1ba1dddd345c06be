"""One JSON Schema of a workflow's input fields serves forms, MCP tools and agent workflow tools."""

from __future__ import annotations

from pilot.engine.nodes.input import fields_json_schema
from pilot.workflows.model import InputField


def test_required_fields_without_defaults_are_required_and_forms_get_titles() -> None:
    fields = [InputField(name="email", description="your address"), InputField(name="n", type="integer", default=3),
              InputField(name="note", required=False)]
    schema = fields_json_schema(fields)
    assert schema == {"type": "object", "required": ["email"], "properties": {
        "email": {"type": "string", "description": "your address"}, "n": {"type": "integer", "default": 3},
        "note": {"type": "string"}}}
    assert fields_json_schema(fields, titled=True)["properties"]["n"] == {"type": "integer", "title": "n", "default": 3}
    assert "required" not in fields_json_schema([InputField(name="x", required=False)])
