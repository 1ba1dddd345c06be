"""Patterns around a name (pilot.generation.around) and the helpers that replaced a pattern
compiled per name: each must answer exactly as ``re`` does for the pattern it replaced —
checked on random texts built from the fragments that matter, and on every service name found in
the eval prompts for the planner's own patterns."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from pilot.generation import action_services as svc
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.around import AroundName
from pilot.generation.clauses import _EVENT_WORD
from pilot.generation.plan_actions import _VIA
from pilot.generation.planner_conditionals import _category_end, listed_after_comma
from pilot.generation.planner_passes import _spelled_in
from pilot.generation.text import AB, clean

DATA = Path(__file__).resolve().parents[2] / "evals" / "data"

# The patterns as they were written before (a name spliced into each, compiled per name).
READ_FROM = (r"\b(?:from|out of|of)\s+(?:our\s+|the\s+|my\s+|their\s+|your\s+)?{a}\b|从\s*{a}|{a}'s\b"
             r"|\bfrom\b[^,.;]{{0,30}}\b(?:in|on)\s+(?:our\s+|the\s+)?{a}\b"
             r"|\b(?:with|of|from)\s+(?:my|our)\s+(?:\w+\s+)?{a}\b|\babout\s+(?:our\s+|the\s+|your\s+)?{a}\b"
             r"|\b(?:my|our)\s+(?:unread|new|incoming|latest|recent)\s+{a}\b"
             r"|\b(?:we|i|you|they)\s+(?:published|posted|wrote|sent|shared)\s+(?:on|to|in)\s+(?:our\s+|the\s+)?{a}"
             r"|数据(?:都)?(?:在|存在|放在)\s*{a}|把\s*{a}[^,，。;；]{{0,8}}?的|把[^,，。;；写存同发推记加导插到进]{{0,8}}?{a}\s*的?\s*(?:交易|支付|销售|用户)?(?:记录|数据|订单|交易|明细|列表|信息)"
             r"|(?:根据|基于)\s*{a}|{a}\s*(?:账号|店铺|后台|频道|主页)的?\s*(?:数据|报表|统计|指标|播放量|粉丝数?)|(?<![到进入在往给成为])(?<!到我)(?<!进我)(?<!到我们)(?<!到我的)(?<!进我们){a}"
             r"\s*(?:crm|erp|系统|后台|平台)?\s*(?:上|里|中)(?:新增|新建|新来|最新|今天|当天)?的"
             r"|{a}\s*(?:工作)?群(?:聊)?(?:里|中|内)的?(?:讨论|聊天|消息|对话|发言)|{a}\s+(?:sales|revenue|numbers|figures|metrics|stats|kpis?|analytics)\b")
SENT_FROM = r"\b(?:send|sends|sent|reply|replies|forward|forwards)\b[^,.;]{{0,60}}?\bfrom\s+(?:our\s+|my\s+|the\s+)?{a}\b"
UPDATED_IN = r"把\s*{a}[^,，。;；]{{0,16}}?(?:更新|改为|改成|标记为|标成|设为|置为)"
OWNED = r"\b(?:my|our)\s+(?:[\w#-]+\s+)?{a}\b|我的\s*{a}|{a}" + svc._KEPT_RECORDS.replace("{", "{{").replace("}", "}}")
VIA = r"\b(?:on|via|through|in|over)\s+(?:our\s+|my\s+|the\s+)?{a}\b"
EVENT = AB.replace("{", "{{").replace("}", "}}") + r"{a}(?:s|es|ed|ing|up|ups)?(?![a-z])"
WHOLE = r"(?<![a-z0-9]){a}(?![a-z0-9])"
NAMED = [(ph.STYLE_OF, ""), (r"\s+post\b", svc._PUBLISH_THE), ("(?:" + ph.LINK_OF + "|" + ph.CONTENT_OF + ")", ""),
         ("(?:" + ph.STYLE_OF + "|" + ph.LINK_OF + ")", "")]


def old(pattern: str, name: str) -> re.Pattern[str]:
    return re.compile(pattern.format(a=re.escape(name)))


def new_patterns() -> list[tuple[str, object]]:
    """(old pattern with ``{a}``, how the planner now asks it)."""
    pairs: list[tuple[str, object]] = [
        (READ_FROM, lambda t, a: any(p.search(t, a) for p in svc._READ_FROM)),
        (SENT_FROM, svc._SENT_FROM.search), (UPDATED_IN, svc._UPDATED_IN.search),
        (OWNED, lambda t, a: any(p.search(t, a) for p in svc._OWNED)),
        (VIA, _VIA.search), (EVENT, _EVENT_WORD.search)]
    for suffix, before in NAMED:
        pattern = before.replace("{", "{{").replace("}", "}}") + "{a}" + suffix.replace("{", "{{").replace("}", "}}")
        pairs.append((pattern, svc._around(before, suffix).search))
    return pairs


FRAGMENTS = ["from ", "our ", "my ", "the ", "of ", "out of ", "with ", "about ", "we ", "posted ", "on ", "in ", "to ",
             "via ", "over ", "send ", "sent ", "reply ", "forward ", "把", "数据", "都", "在", "存在", "从", "根据", "基于",
             "到", "进", "我", "我们", "我的", "的", "上", "里", "中", "记录", "订单", "更新", "改为", "'s ", "'s", " ", "  ",
             ",", ".", "，", "x", "ab", "post ", "publish the ", "style", "-style", "风格", "link", " url", "的链接", "summary",
             "report", "s", "ed", "ing", "up", "考勤", " records", "attendance", "#eng ", "review", "ing ", "data",
             "send it from our ", "replies from ", "forward this from the ", "把订单", "数据都在", "we posted on ", "from x in "]
NAMES = ["gmail", "slack", "mysql", "飞书表格", "notion", "google sheets", "x", "s", "a b", "钉钉", "sql", "e-mail"]


def random_texts(rng: random.Random, name: str, n: int) -> list[str]:
    pool = [*FRAGMENTS, name, name, name, f"publish the {name} post", f"our {name} link"]
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 9))) for _ in range(n)]


@pytest.mark.parametrize("index", range(len(new_patterns())))
def test_each_planner_pattern_answers_like_the_pattern_compiled_per_name(index: int) -> None:
    pattern, ask = new_patterns()[index]
    rng = random.Random(index)
    checked = matched = 0
    for name in NAMES:
        for text in random_texts(rng, name, 600):
            if name not in text:
                continue
            expected = old(pattern, name).search(text) is not None
            assert ask(text, name) == expected, (pattern, name, text)
            checked += 1
            matched += expected
    assert checked > 1000 and 0 < matched < checked  # both answers were exercised


def eval_clauses() -> list[str]:
    rows = [json.loads(x) for f in sorted(DATA.glob("structure_*.jsonl")) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
    texts = {clean(r["prompt"]).lower() for r in rows if "prompt" in r}
    return sorted({c for t in texts for c in re.split(r"[;；。]|, then |，然后", t) if c.strip()})


def test_the_planner_patterns_agree_on_every_service_name_of_the_eval_prompts() -> None:
    aliases = sorted({a for integ in ent.BY_ID.values() for a in (*integ.en, *integ.zh) if a})
    patterns = new_patterns()
    checked = matched = 0
    for clause in eval_clauses():
        for name in (a for a in aliases if a in clause):
            for pattern, ask in patterns:
                expected = old(pattern, name).search(clause) is not None
                assert ask(clause, name) == expected, (pattern, name, clause)
                checked += 1
                matched += expected
            expected_starts = [m.start() for m in old(WHOLE, name).finditer(clause)]
            assert list(svc._WHOLE_NAME.name_starts(clause, name)) == expected_starts, (name, clause)
    assert checked > 10_000 and matched > 500


def test_around_name_matches_re_on_random_patterns_and_texts() -> None:
    rng = random.Random(7)
    befores = ["", r"a\s+", r"(?:a|ab)\s*", r"\bx[^,]{0,3}?", "b+", r"(?:the\s+)?", r"\w+\s"]
    behinds = ["", r"(?<![a-z])", r"(?<!a )", AB]
    afters = ["", r"\b", r"s?(?![a-z])", r"'s\b", r"[^,]{0,4}?x", r"\s*(?:c|cd)"]
    names = ["a", "ab", "b a", "c", "x", "a,", "aa", "aba"]  # the last two overlap themselves
    for _ in range(6000):
        before, behind, after, name = rng.choice(befores), rng.choice(behinds), rng.choice(afters), rng.choice(names)
        text = "".join(rng.choice(["a", "b", "c", "x", " ", ",", "the ", "'s", "d"]) for _ in range(rng.randint(0, 12)))
        expected = re.search(before + behind + re.escape(name) + after, text) is not None  # behind: at the name
        assert AroundName(before, after, behind=behind).search(text, name) == expected, (behind, before, name, after, text)
        if not before:
            starts = [m.start() for m in re.finditer(behind + re.escape(name) + (after if after in ("", r"\b", r"(?![a-z])") else ""), text)]
            zero_width = AroundName(after=after if after in ("", r"\b", r"(?![a-z])") else "", behind=behind)
            assert list(zero_width.name_starts(text, name)) == starts, (behind, name, after, text)


def test_an_empty_name_or_a_consuming_before_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        AroundName("a").search("abc", "")
    with pytest.raises(ValueError, match="starts at the name"):
        list(AroundName("a").name_starts("abc", "b"))


def test_categories_after_a_comma_are_where_finditer_puts_them() -> None:
    rng = random.Random(3)
    for _ in range(8000):
        name = "".join(rng.choice(["a", "b", " ", ","]) for _ in range(rng.randint(1, 3)))
        text = "".join(rng.choice(["a", "b", " ", ",", "、", "\t"]) for _ in range(rng.randint(0, 14)))
        expected = [m.start() for m in re.finditer(r"[,、]\s*" + re.escape(name), text)]
        assert listed_after_comma(text, name) == expected, (name, text)


@pytest.mark.parametrize(("clause", "cat"), [("complaints: forward", "complaint"), ("complaintsx", "complaint"),
                                             ("complaint go", "complaint"), ("bugses", "bug"), ("bug1", "bug"),
                                             ("投诉的转到", "投诉"), ("咨询", "投诉"), ("bugs", "bugs"), ("", "bug")])
def test_a_category_ends_where_the_per_category_pattern_ended(clause: str, cat: str) -> None:
    m = re.compile(re.escape(cat) + (r"(?:s|es)?(?![a-z])" if cat.isascii() else "")).match(clause) if clause.startswith(cat) else None
    assert _category_end(clause, cat) == (m.end() if m else None)


@pytest.mark.parametrize(("raw", "value"), [("Status is SUCCESS", "success"), ("status 等于 SUCCESS", "success"),
                                            ("订单已支付", "已支付"), ("订单未支付", "已支付"), ("ſuccess", "success"),
                                            ("Kelvin K", "k"), ("İstanbul", "istanbul"), ("no match", "yes"),
                                            ("Café OPEN", "café open"), ("x", "X")])
def test_a_value_keeps_the_spelling_the_request_used(raw: str, value: str) -> None:
    m = re.compile(re.escape(value), re.I).search(raw)
    assert _spelled_in(raw, value) == (m.group(0) if m else None)


@pytest.mark.parametrize(("text", "name", "behind", "after"), [("aaa", "aa", "", ""), ("abababa", "aba", "", ""),
                                                                ("aaaa", "aa", r"(?<!b)", r"(?!b)"), ("x aa aaa", "aa", r"(?<![b])", "")])
def test_name_starts_skip_overlapping_occurrences_as_finditer_does(text: str, name: str, behind: str, after: str) -> None:
    expected = [m.start() for m in re.finditer(behind + re.escape(name) + after, text)]
    assert list(AroundName(after=after, behind=behind).name_starts(text, name)) == expected


def test_a_long_text_full_of_the_name_is_searched_linearly_with_the_same_answers(monkeypatch) -> None:
    """Past a scan budget (a hostile prompt repeating a name) the search compiles the whole pattern
    once instead of re-reading the text for every occurrence; its answers are the same."""
    from pilot.generation import around

    compiled: list[str] = []
    real = around.cached_re
    monkeypatch.setattr(around, "cached_re", lambda pattern, flags=0: compiled.append(pattern) or real(pattern, flags))
    text = "把" + "gmail的 " * 3000 + "从 gmail"
    assert any(p.search(text, "gmail") for p in svc._READ_FROM) is (old(READ_FROM, "gmail").search(text) is not None)
    assert compiled  # the budget was exceeded: the linear path was taken
    monkeypatch.setattr(around, "SCAN_BUDGET", 0)  # every search past its first occurrence takes it
    rng = random.Random(5)
    for index, (pattern, ask) in enumerate(new_patterns()):
        for name in NAMES:
            for text in random_texts(rng, name, 60):
                if name in text:
                    assert ask(text, name) == (old(pattern, name).search(text) is not None), (index, name, text)
