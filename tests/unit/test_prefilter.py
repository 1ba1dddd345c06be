"""The literal prefilter of the generation patterns (pilot.generation.prefilter): the literals it
reads off a pattern are really required, and a filtered pattern answers exactly as ``re`` does —
checked for every phrase pattern of the generation modules over every eval prompt and its clauses."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from pilot.generation.prefilter import Filtered, compile_filtered, filtered, required_literals

DATA = Path(__file__).resolve().parents[2] / "evals" / "data"
MODULES = ("phrases", "plan_actions", "action_ai_step", "action_deliveries", "action_services", "action_sources",
           "action_transform_subflow", "clauses", "offline_planner", "planner_state", "planner_branches",
           "planner_case_lists", "planner_conditionals", "planner_loops", "planner_passes", "planner_triggers",
           "conditions", "entities", "switches", "roles", "features", "offline_analyzer", "index", "storage", "services")


@pytest.mark.parametrize(("pattern", "flags", "expected"), [
    (r"\b(?:send|post)\b|发送", 0, {"send", "post", "发送"}),
    (r"a?bcd", 0, {"bcd"}),  # the optional part is not required; the longest run is chosen
    (r"(?:ab|cd)x+y", 0, {"ab", "cd"}),  # the most selective part: both alternatives are 2 characters, "x" is 1
    (r"(?:wait|等)(?:s|ing)?\s+(\d+)", 0, {"wait", "等"}),
    (r"(?<!the )post\b", 0, {"post"}),  # a lookbehind's text need not be in the match
    (r"x(?=yz)", 0, {"x"}),
    (r"(?i:abc)def", 0, {"def"}),  # a case-insensitive group gives nothing, the rest does
    (r"(?:abc|)", 0, None),  # an alternative that needs nothing
    (r"[a-z]+\d*", 0, None),
    (r"abc", re.IGNORECASE, None),
    (r"(?i)abc", 0, None),
])
def test_required_literals(pattern: str, flags: int, expected: set[str] | None) -> None:
    found = required_literals(re.compile(pattern, flags))
    assert (set(found) if found is not None else None) == expected


def test_a_pattern_without_required_literals_is_returned_as_it_is() -> None:
    plain = re.compile(r"[a-z]+")
    assert filtered(plain) is plain
    assert isinstance(compile_filtered(r"\bsend\b"), Filtered)


def test_a_filtered_pattern_answers_like_re_for_every_method() -> None:
    rx = compile_filtered(r"(?P<verb>send|post)s? (?P<what>\w+)")
    real = rx.compiled
    for text in ("please send report now and posts x", "nothing here", "", "sends it", "发送"):
        assert repr(rx.search(text)) == repr(real.search(text))
        assert repr(rx.match(text)) == repr(real.match(text))
        assert repr(rx.fullmatch(text)) == repr(real.fullmatch(text))
        assert rx.findall(text) == real.findall(text)
        assert [m.span() for m in rx.finditer(text)] == [m.span() for m in real.finditer(text)]
        assert rx.sub("<\\g<verb>>", text) == real.sub("<\\g<verb>>", text)
        assert rx.subn("-", text) == real.subn("-", text)
        assert rx.split(text) == real.split(text)
        assert rx.search(text, 3) is None or rx.search(text, 3).span() == real.search(text, 3).span()
    assert (rx.pattern, rx.flags, rx.groups, rx.groupindex) == (real.pattern, real.flags, real.groups, real.groupindex)


def _texts() -> list[str]:
    prompts = [json.loads(line)["prompt"] for f in sorted(DATA.glob("structure_[bd]*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    prompts = list(dict.fromkeys(p.lower() for p in prompts))
    clauses = {c.strip() for p in prompts for c in re.split(r"[,.;:!?，。；：！？\n]|\band\b|\bthen\b|然后|并且", p) if c.strip()}
    return prompts + sorted(clauses)


def _filtered_patterns() -> list[tuple[str, Filtered]]:
    found: list[tuple[str, Filtered]] = []
    for name in MODULES:
        module = importlib.import_module(f"pilot.generation.{name}")
        for attr, value in vars(module).items():
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                for candidate in (item if isinstance(item, tuple) else (item,)):
                    if isinstance(candidate, Filtered):
                        found.append((f"{name}.{attr}", candidate))
    return found


def test_no_generation_pattern_is_skipped_where_it_would_match() -> None:
    patterns = _filtered_patterns()
    texts = _texts()[::2]  # every other text: the splits keep growing, and the test with them (~60 s here)
    assert len(patterns) > 150 and len(texts) > 5000  # the phrase tables really are filtered
    skipped = 0
    for text in texts:  # texts outside: each is scanned for literals once (the filter keeps recent texts)
        for name, rx in patterns:
            # Where the filter lets a text through, every method calls the pattern itself (the
            # answers are the pattern's: test_a_filtered_pattern_answers_like_re_for_every_method);
            # where it skips, the pattern must have no match at all.
            if not rx._may_match(text):
                skipped += 1
                assert rx.compiled.search(text) is None, (name, text)
    assert skipped > len(patterns) * len(texts) // 2  # and most searches are skipped
