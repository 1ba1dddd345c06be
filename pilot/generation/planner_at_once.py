"""Deliveries said to happen at once run side by side (offline planner pass, pure).

"page the on-call engineer through PagerDuty and post in #incidents on Slack at the same time",
"post it to Slack, to Teams, and email it to all-staff@, all at once", "P0的，同时发短信给值班人、发钉钉群
消息": the clause assembler keeps each clause's deliveries in order; this pass puts a run of
consecutive deliveries of one step list (a case's, a loop body's, the top level) into one parallel
step when the request says they happen together. Runs that the assembler already made parallel
are left as they are."""

from __future__ import annotations

import msgspec

from pilot.generation.plan import BranchStep, DeliverStep, LoopStep, ParallelStep, Step
from pilot.generation.prefilter import compile_filtered

# said at the end of the last one: all of the run together
_ALL_AT_ONCE = compile_filtered(r"\b(?:both|all)?\s*(?:at the same time|at once|in parallel|simultaneously|concurrently)\s*[.!]?\s*$"
                                r"|(?:两个|都|一起)?同时(?:进行|做|发)?$")
# said at the start of the first one ("同时发短信给值班人、发钉钉群消息": all of them), or of a later one
# ("发面试邀请邮件，同时在企业微信上通知HR": that one and the one before it)
_STARTS_AT_ONCE = compile_filtered(r"^(?:and\s+)?(?:at the same time|simultaneously|meanwhile)\b|^(?:同时|与此同时)(?!也)")


def deliveries_at_once(steps: list[Step], uid) -> list[Step]:
    """``steps`` with every run of consecutive deliveries said to happen at once made one
    :class:`ParallelStep` (``uid`` names it), in nested step lists too."""
    out: list[Step] = []
    run: list[DeliverStep] = []
    for s in [*_nested(steps, uid), None]:
        if isinstance(s, DeliverStep):
            run.append(s)
            continue
        out.extend(_together(run, uid))
        run = []
        if s is not None:
            out.append(s)
    return out


def _together(run: list[DeliverStep], uid) -> list[Step]:
    if len(run) < 2:
        return list(run)
    if _ALL_AT_ONCE.search(run[-1].quote):
        start = 0
    elif _STARTS_AT_ONCE.match(run[0].quote) and len({d.quote for d in run}) > 1:
        start = 0
    elif (later := next((k for k in range(1, len(run)) if _STARTS_AT_ONCE.match(run[k].quote)), None)) is not None:
        start = later - 1
    else:
        return list(run)
    together = run[start:]
    if len({d.service for d in together}) < len(together):
        return list(run)  # two writes to one place in a row are a sequence, not a fan-out
    return [*run[:start], ParallelStep(id=uid("at_once"), quote=together[-1].quote[:200], branches=[[d] for d in together])]


def _nested(steps: list[Step], uid) -> list[Step]:
    out: list[Step] = []
    for s in steps:
        if isinstance(s, BranchStep):
            s = msgspec.structs.replace(s, cases=[msgspec.structs.replace(c, steps=deliveries_at_once(c.steps, uid)) for c in s.cases],
                                        otherwise=None if s.otherwise is None else deliveries_at_once(s.otherwise, uid))
        elif isinstance(s, LoopStep):
            s = msgspec.structs.replace(s, steps=deliveries_at_once(s.steps, uid))
        out.append(s)
    return out
