"""Structured-output helpers of the llm node: JSON extraction, schema validation, offline values."""

from __future__ import annotations

import pytest

from pilot.engine.nodes.llm_json import offline_instance, parse_json_reply, validate, wants_json_object

SCHEMA = {
    "type": "object",
    "required": ["category", "confidence", "reason"],
    "properties": {
        "category": {"type": "string", "enum": ["billing", "bug", "other"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string", "minLength": 1},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        'Sure! Here it is: {"a": 1} Hope that helps.',
    ],
)
def test_parse_json_reply_tolerates_fences_and_prose(text: str) -> None:
    assert parse_json_reply(text) == {"a": 1}


def test_parse_json_reply_arrays_and_failures() -> None:
    assert parse_json_reply("[1, 2]") == [1, 2]
    with pytest.raises(ValueError):
        parse_json_reply("no json here")


def test_validate_accepts_a_valid_value() -> None:
    assert validate({"category": "bug", "confidence": 0.9, "reason": "crash", "tags": ["x"]}, SCHEMA) == []


def test_validate_reports_paths() -> None:
    problems = validate({"category": "sales", "confidence": 2, "reason": "", "tags": [1], "extra": True}, SCHEMA)
    text = "\n".join(problems)
    assert "$.category: 'sales' is not one of" in text
    assert "$.confidence: 2 is above the maximum 1" in text
    assert "$.reason: shorter than 1" in text
    assert "$.tags[0]: expected string, got int" in text
    assert "$.extra: unexpected property" in text
    assert validate({"confidence": 0.5}, SCHEMA)[0] == "$.category: required property is missing"


def test_validate_types() -> None:
    assert validate(True, {"type": "number"})  # bools are not numbers
    assert validate(3.0, {"type": "integer"}) == []
    assert validate(None, {"type": ["string", "null"]}) == []
    assert validate("x", {"anyOf": [{"type": "integer"}, {"type": "boolean"}]})


def test_offline_instance_is_valid_and_deterministic() -> None:
    value = offline_instance(SCHEMA, "classify")
    assert validate(value, SCHEMA) == []
    assert value["category"] == "billing" and value["confidence"] == 0.5
    assert value["reason"] == "[offline] reason"
    assert offline_instance(SCHEMA) == value
    assert validate(offline_instance({"type": "array", "items": {"type": "integer"}, "minItems": 2}),
                    {"type": "array", "items": {"type": "integer"}, "minItems": 2}) == []


def test_json_object_mode_only_for_objects() -> None:
    assert wants_json_object(SCHEMA)
    assert not wants_json_object({"type": "array"})
