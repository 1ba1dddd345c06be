"""Validation's static facts of a template string (syntax error, referenced node ids) are read
block by block when the string is only text and plain ``{{ … }}`` blocks (pilot.core.templating.
_simple_blocks): the answer must be exactly the whole-string parse's, for the templates the
generator compiles and for strings built to break the shortcut."""

from __future__ import annotations

import random

import pytest

from pilot.core.templating import _facts, _unparsed_facts, _parsed_facts, _unwrap, referenced_nodes, syntax_error
from pilot.generation.compiler import compile_plan
from pilot.generation.pipeline import plan_offline

EDGE_CASES = [
    "a {{ x }} b", "{{ x }}", "{{ }}", "a {{ }} b", "a {{ x b", "a }} b {{ c }}", "{ {{ nodes.a.x }} }", "{{{ x }}}",
    "{{ nodes.a.output }}{{ nodes.b.output }}", "a {{ nodes['b'].c }}", "{{ '}}' }} x", "{{- x }} y", "y {{ x -}}",
    "x\n{{ nodes.a.output | upper }}\n{{ nodes.b.output[0] }}", "{{ 1 + }} a", "a {# c #} {{ x }}",
    "a {% if x %}{{ y }}{% endif %}", "{{ x }} {{ y", "text { single } brace", "a\n\n{{ foo bar }}",
    "{{ nodes.a.output.items | length }} items from {{ inputs.q }}", "{{ nodes.a.b }} and {{ nodes.c.d(1) }} end",
]
PROMPTS = [
    "Every morning at 9 summarise new Zendesk tickets and post it to #support on Slack",
    "When a Typeform is submitted, score the lead with AI; if the score is above 80 email sales, otherwise add it to HubSpot",
    "每天早上9点总结36氪的新闻，翻译成英文后发到飞书群",
    "For each row in my Google Sheet, fetch the URL, summarise the page and write the summary back",
]


def _strings(value, found: set[str]) -> set[str]:
    if isinstance(value, str) and "{" in value:
        found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, found)
    return found


def _generated() -> list[str]:
    import msgspec

    found: set[str] = set()
    for prompt in PROMPTS:
        _strings(msgspec.to_builtins(compile_plan(plan_offline(prompt))), found)
    return sorted(found)


@pytest.mark.parametrize("src", EDGE_CASES + _generated())
def test_block_by_block_answers_like_the_whole_parse(src: str) -> None:
    _facts.cache_clear()
    assert _facts(src, False) == _parsed_facts(src, False)


def test_references_and_errors_of_a_mixed_template() -> None:
    src = "Summary of {{ nodes.fetch.output }} for {{ inputs.team }}:\n{{ nodes.rank.output | join(', ') }}"
    assert syntax_error(src) is None
    assert referenced_nodes(src) == {"fetch", "rank"}
    assert syntax_error("Hello {{ nodes.x.output + }}!\nbye") == _parsed_facts("Hello {{ nodes.x.output + }}!\nbye", False).error
    assert syntax_error("Hello {{ nodes.x.output + }}!") is not None


def test_a_name_path_is_read_without_a_parse_and_answers_as_the_parse() -> None:
    """``{{ inputs.payload }}``, ``nodes.fetch.output``, ``nodes.c.output.category == "bug"`` need
    no parse; paths with words the parser reads as operators or literals, odd spacing, wrong
    operators, odd literals and near-misses are compared with it too."""
    words = ["nodes", "inputs", "fetch", "output", "x", "_a", "a1", "not", "and", "or", "in", "is", "if", "else",
             "true", "True", "none", "None", "false", "loop", "self", "range", "items", "1a", "é", ""]
    spaces = ["", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\u3000"]
    rng = random.Random(11)
    checked = fast = 0
    operators = ["==", "!=", ">=", "<=", ">", "<", "=", "=>", "===", "<>", "> ="]
    literals = ["5000", "-5", "1.5", "1.", ".5", "1e5", "--1", "'billing'", '"bug"', "'账单'", "'it''s'", "'a\\'",
                '"}}"', "'}}'", "'{{ x }}'", "'%}'", "''", "true", "None", "x", "'a' 'b'", "(1)"]
    for _ in range(6_000):
        path = ".".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.5:  # a branch condition: a path compared with a literal
            path += rng.choice(spaces) + rng.choice(operators) + rng.choice(spaces) + rng.choice(literals)
        inner = rng.choice(spaces) + path + rng.choice(spaces)
        for src, expression in (("{{" + inner + "}}", False), (inner, True), ("{{" + inner + "}}", True)):
            if not src.strip():
                continue
            _facts.cache_clear()
            assert _facts(src, expression) == _parsed_facts(src, expression), (src, expression)
            checked += 1
            fast += (_unparsed_facts(_unwrap(src)) if expression else _unparsed_facts(src[2:-2])) is not None
    assert checked > 15_000 and fast > 1_000  # the shortcut was taken, and compared, many times
