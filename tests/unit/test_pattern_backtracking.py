"""No phrase pattern of the offline generator backtracks badly on hostile text.

The offline planner runs inside the request, so one pattern that is quadratic (a ``\\d+`` tried
from every digit of a long run) or exponential (a list item that may or may not take its leading
space) holds an API worker for seconds or forever. Every compiled pattern that a
``pilot.generation`` module keeps at module level (alone, or in a tuple, list or dict) is searched
here on hostile texts of the analysed length, normalised as the planner sees them, and the whole
generator is run on hostile prompts of the maximum length.

The bounds are CPU time (not wall time, so a loaded machine does not make them flaky) with wide
margins: every pattern takes under 0.1 s on the worst text here, and a generation under 0.1 s.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Iterator

import pilot.generation as generation
from pilot.generation.pipeline import build_offline
from pilot.generation.prefilter import Filtered
from pilot.generation.schemas import MAX_PROMPT_CHARS
from pilot.generation.service import check_prompt
from pilot.generation.text import MAX_ANALYZED_CHARS, normalize

PATTERN_BOUND_S = 0.5
GENERATION_BOUND_S = 3.0


def _units(n: int) -> list[str]:
    """Texts of about ``n`` characters that make ambiguous repetitions backtrack: runs of one
    character class, separators repeated, list shapes, numbers, addresses."""
    return [
        "a" * n, "a " * (n // 2), "ab " * (n // 3), "a-" * (n // 2), "-" * n, "1" * n, "1 " * (n // 2),
        "1,000" * (n // 5), "$1,000 " * (n // 7), "的" * n, "是" * n, "要" * n, "判断" * (n // 2), "判断它是" + "甲" * n,
        "发到" * (n // 2), "、a" * (n // 2), "a," * (n // 2), ", a" * (n // 3), "a, " * (n // 3), "a and " * (n // 6),
        "or a " * (n // 5), "a b c d, " * (n // 9), "into " + "a b, " * (n // 5), "whether it's a " + "a, " * (n // 3),
        "x@" * (n // 2), "http://" + "a/" * (n // 2), "#a " * (n // 3), "'a " * (n // 3), "send " * (n // 5), "if " * (n // 3),
        "。" * n, "\n" * n + "a",
    ]


def _patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    def unwrap(value: object) -> re.Pattern[str] | None:
        value = value.compiled if isinstance(value, Filtered) else value
        return value if isinstance(value, re.Pattern) and isinstance(value.pattern, str) else None

    for info in pkgutil.iter_modules(generation.__path__):
        module = importlib.import_module(f"{generation.__name__}.{info.name}")
        for name, value in vars(module).items():
            members = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (tuple, list)) else ()
            for key, member in [(None, value), *members]:
                for candidate in member if isinstance(member, tuple) else (member,):
                    pattern = unwrap(candidate)
                    if pattern is not None:
                        yield (f"{info.name}.{name}" + (f"[{key!r}]" if key is not None else "")), pattern


def test_the_collector_finds_the_generators_patterns():
    names = {name for name, _ in _patterns()}
    assert len(names) > 300
    # the ones that were quadratic or exponential before, each under its own name
    for name in ("phrases.OR_MORE", "phrases.CMP_ZH_VALUE_FIRST", "phrases.API_NAME", "action_ai_step._CATEGORIES",
                 "action_ai_step._CATEGORIES_ZH", "planner_conditionals._NOUN_THRESHOLD", "planner_passes._ONLY_THIS",
                 "services.EMAIL_RE", "action_deliveries._DESTINATION_NOUN"):
        assert name in names, name


def test_no_pattern_backtracks_on_hostile_text():
    texts = list(dict.fromkeys(t for t in (normalize(u) for u in _units(MAX_ANALYZED_CHARS)) if t))
    slow: list[str] = []
    for name, pattern in _patterns():  # unfiltered: the literal prefilter must not be what saves us
        for text in texts:
            started = time.process_time()
            pattern.search(text)
            spent = time.process_time() - started
            if spent > PATTERN_BOUND_S:
                slow.append(f"{name} on {text[:16]!r}…: {spent:.2f} s")
                break
    assert slow == []


def test_generation_of_hostile_prompts_of_the_maximum_length_is_bounded():
    build_offline("warm the catalog and the literal automaton up")
    for unit in _units(MAX_PROMPT_CHARS):
        prompt = unit[:MAX_PROMPT_CHARS]
        try:
            text = check_prompt(prompt)
        except Exception:  # noqa: BLE001 - refused before generation (no readable text): nothing to bound
            continue
        started = time.process_time()
        graph = build_offline(text)
        spent = time.process_time() - started
        assert graph.nodes, prompt[:16]
        assert spent < GENERATION_BOUND_S, (prompt[:16], spent)


# Clause ends that match no character (after "时", "后", before a numbered step) inside brackets:
# the splitter must step past them, or it finds the same empty end for ever.
_BRACKETED = ("（会议主题、参会人、时间）后", "(时)", "（提交时）", "(以后", "（1) 2) 3)", "(的时候", "（时）时", "(after 1) then 2) ", "（",
              "((时后))", "(。)")


def test_generation_ends_when_brackets_hold_empty_clause_ends():
    import signal

    def stuck(*_: object) -> None:
        raise TimeoutError("generation did not end")

    previous = signal.signal(signal.SIGPROF, stuck)
    try:
        for inner in _BRACKETED:
            for prompt in (f"同事填完表单{inner}，让AI生成一份清单，用飞书私信发给他。", f"when someone submits the form {inner}, email me",
                           f"收到新订单时{inner}发到钉钉", inner * 3 + "后发邮件"):
                signal.setitimer(signal.ITIMER_PROF, GENERATION_BOUND_S)  # CPU time: a loaded machine does not fail it
                try:
                    graph = build_offline(prompt)
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                assert graph.nodes, prompt
    finally:
        signal.signal(signal.SIGPROF, previous)


def test_the_form_request_with_a_bracketed_field_list_is_planned_whole():
    graph = build_offline("同事填完会议信息表单（会议主题、参会人、时间）后，让AI生成一份会前准备清单，用飞书私信发给他。")
    by_type = {n.__struct_config__.tag: n for n in graph.nodes}
    assert by_type["input"].config.trigger.__struct_config__.tag == "form"
    assert "llm" in by_type
    assert by_type["tool"].config.tool == "feishu"
