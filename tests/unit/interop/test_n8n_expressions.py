"""n8n expressions → πlot jinja2: what translates, what stays a marker, and that the result runs."""

from __future__ import annotations

import pytest

from pilot.core.templating import TemplateError, evaluate, render
from pilot.interop.n8n_expr import parameter_parts, translate_js
from pilot.interop.textparts import Untranslatable, path_expr, to_expression, to_template


class Refs:
    """$json is the webhook body (inputs); $('Fetch') is an api node."""

    def json(self, path):
        return path_expr("inputs", path)

    def node(self, name, path):
        if name != "Fetch":
            raise Untranslatable(f"no node {name}")
        return path_expr("nodes.fetch.output.body", path)


SCOPE = {"inputs": {"name": "Ada", "n": 3, "tags": ["a", "b"], "title": "  Hi  ", "empty": "", "none": None},
         "nodes": {"fetch": {"output": {"body": {"items": [{"id": 7}], "ok": True}}}}}


@pytest.mark.parametrize(("js", "value"), [
    ("$json.name", "Ada"),
    ("$json['name']", "Ada"),
    ('$json["tags"][1]', "b"),
    ("$input.item.json.n + 1", 4),
    ("$('Fetch').item.json.items[0].id", 7),
    ("$('Fetch').first().json.ok", True),
    ('$node["Fetch"].json.items[0].id * 2', 14),
    ("$json.n > 2 && $json.name === 'Ada'", True),
    ("!$json.empty || false", True),
    ("$json.n >= 5 ? 'big' : 'small'", "small"),
    ("$json.name.toUpperCase()", "ADA"),
    ("$json.title.trim()", "Hi"),
    ("$json.tags.length", 2),
    ("$json.tags.join('-')", "a-b"),
    ("$json.tags.includes('a')", True),
    ("'Hi ' + $json.name", "Hi Ada"),
    ("`Dear ${$json.name}!`", "Dear Ada!"),
    ("JSON.stringify($json.tags)", '["a","b"]'),
    ("parseInt('42') + 1", 43),
    ("$json.none ?? 'default'", "default"),
    ("$json.name.slice(0, 2)", "Ad"),
])
def test_translated_expressions_evaluate_like_n8n(js, value):
    assert evaluate(translate_js(js, Refs()), SCOPE) == value


@pytest.mark.parametrize("js", [
    "$now.toISO()", "$vars.TOKEN", "$json.items.map(i => i.id)", "$('Other').item.json.x", "DateTime.now()",
    "$json.text.replace(/a/g, 'b')", "$('Fetch').all()", "$execution.id",
])
def test_untranslatable_expressions_raise(js):
    with pytest.raises(Untranslatable):
        translate_js(js, Refs())


def test_a_template_keeps_text_and_marks_what_does_not_translate():
    failures: list[str] = []
    parts = parameter_parts("=Hello {{ $json.name }}, today is {{ $now.toISO() }}", Refs(), failures)
    template = to_template(parts)
    assert template.startswith("Hello {{ inputs.name }}, today is {{ n8n_expression_not_translated(")
    assert failures and "$now.toISO()" in failures[0]
    with pytest.raises(TemplateError, match="n8n_expression_not_translated"):
        render(template, SCOPE)  # the run fails on the marker instead of sending a guess


def test_literals_are_never_read_as_templates():
    assert to_template(parameter_parts("{{ not an expression }}", Refs(), [])) == '{{ "{{" }} not an expression }}'
    assert render(to_template(parameter_parts("{{ x }}", Refs(), [])), {}) == "{{ x }}"
    assert to_expression(parameter_parts("=id-{{ $json.n }}", Refs(), [])) == '"id-" ~ (inputs.n)'
    assert to_template(parameter_parts(5, Refs(), [])) == "{{ 5 }}"
