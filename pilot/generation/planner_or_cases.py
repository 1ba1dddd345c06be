"""A case said as two categories is the rest of them (offline planner pass, pure).

"If it's angry, page the on-call lead; if it's neutral or positive, just add an internal note":
the second case compared the answer with "neutral or positive", which no answer equals, so the
note was never written. When the cases of a classification's switch name every category between
them and one case names two ("neutral or positive", "咨询或建议"), that case is the else side, and
the categories are the ones the cases name."""

from __future__ import annotations

import re

import msgspec

from pilot.generation.plan import AiStep, BranchStep, Step, map_steps, walk

_TWO = re.compile(r"^(?P<a>[\w\u4e00-\u9fff-]+(?: [\w-]+)?)\s*(?:\s(?:or|and)\s|/|或者|或|和|、)\s*(?P<b>[\w\u4e00-\u9fff-]+(?: [\w-]+)?)$")


def two_category_case_is_the_rest(steps: list[Step]) -> list[Step]:
    """``steps`` with each such case made the else side of its switch, and its classification's
    categories the ones the cases name."""
    classes = {s.id: s for s in walk(steps) if isinstance(s, AiStep) and s.task == "classify"}
    said: dict[str, list[str]] = {}

    def the_rest(s: Step) -> Step:
        if not isinstance(s, BranchStep) or s.field != "category" or s.on not in classes:
            return s
        s = _field_said(s, classes[s.on].categories)
        if s.otherwise is not None or len(s.cases) < 2:
            return s
        for k, case in enumerate(s.cases):
            two = _TWO.match(case.label.strip()) if case.when is None else None
            if two is None or not case.steps or re.search(r"\d", case.label):
                continue
            others = [c.label for j, c in enumerate(s.cases) if j != k]
            said[s.on] = list(dict.fromkeys([*others, two.group("a").strip(), two.group("b").strip()]))
            return msgspec.structs.replace(s, cases=[c for j, c in enumerate(s.cases) if j != k], otherwise=case.steps)
        return s

    steps = map_steps(steps, the_rest)
    if not said:
        return steps
    return map_steps(steps, lambda s: msgspec.structs.replace(s, categories=said[s.id]) if isinstance(s, AiStep) and s.id in said else s)


def _field_said(branch: BranchStep, categories: list[str]) -> BranchStep:
    """"意向为高的" after 判断意向等级（高/中/低）: the case is the category 高, the field named before it."""
    cases = []
    for case in branch.cases:
        named = re.fullmatch(r"[\u4e00-\u9fff]{1,6}?(?:等级|级别)?(?:为|是)(?P<cat>.+)", case.label) if case.when is None else None
        cases.append(msgspec.structs.replace(case, label=named.group("cat")) if named and named.group("cat") in categories else case)
    return msgspec.structs.replace(branch, cases=cases)
