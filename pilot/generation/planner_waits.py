"""Waits relative to something's time: "text the patient 1 hour before their appointment in Google
Calendar", "会议开始前15分钟提醒我".

The wait ends at the appointment's time moved back an hour (``until`` + ``offset_s``), not at a
time someone types in. Where that time comes from: the event that started the run (the
booking's ``start_time``), or, when the request names a calendar and no trigger, a new entry of
that calendar starts the run (one run per appointment, each waiting for its own). A calendar
named only as where the appointment lives is where it is read from, never a place the workflow
writes to: :func:`relative_waits` drops the "create in Google Calendar" the clause read as a
delivery.
"""

from __future__ import annotations

import msgspec

from pilot.generation import entities as ent
from pilot.generation.conditions import seconds_of
from pilot.generation.plan import DeliverStep, SourceStep, Step, WaitStep
from pilot.workflows.model import AppEventTrigger, ManualTrigger, Trigger
from pilot.generation.prefilter import compile_filtered

_EN = compile_filtered(
    r"^(?P<n>\d+|an?|one|two|three|four|five|six|seven|ten|twenty|thirty)\s*(?P<unit>minute|min|hour|day|week)s?\s+"
    r"(?P<dir>before|ahead of|prior to|after)\s+(?:the|their|each|its|your|our|his|her)\s+(?P<what>[a-z][a-z -]{1,30}?)"
    r"(?:\s+(?:starts?|begins?))?(?:\s+(?:in|on|from|via)\s+.+)?$")
_ZH = compile_filtered(r"^(?P<what>[\u4e00-\u9fff]{1,4}?)(?:开始|结束)?(?P<dir>前|后)\s*(?P<n>\d+|[一二三四五六七八九十两半]+)\s*(?P<unit>分钟|小时|天)$")
_EVENTS = (("appointment", "new appointment"), ("booking", "new booking"), ("预约", "new appointment"),
           ("call", "new booking"), ("interview", "new booking"))


def _offset(until: str) -> tuple[float, str] | None:
    """(seconds from the time, what the time is of) of "1 hour before their appointment" (negative)
    or "24 hours after the meeting" (positive), or None."""
    found = _EN.search(until) or _ZH.search(until)
    if found is None:
        return None
    unit = found.group("unit")
    seconds = seconds_of(found.group("n"), "minute" if unit == "min" else unit)
    return (seconds if found.group("dir") in ("after", "后") else -seconds), found.group("what").strip()


def relative_waits(trigger: Trigger, steps: list[Step], raw: str) -> tuple[Trigger, list[Step]]:
    """The trigger and steps with each top-level wait "N before <something>" ending then."""
    for wait in [s for s in steps if isinstance(s, WaitStep) and s.until and not s.offset_s]:
        found = _offset(wait.until or "")
        if found is None:
            continue
        offset, what = found
        calendar = next((i for i in ent.find_integrations(raw.lower())[0]
                         if (integ := ent.BY_ID.get(i)) is not None and integ.category == "calendar"), None)
        if isinstance(trigger, ManualTrigger) and calendar is not None:
            trigger = AppEventTrigger(service=calendar, event=next((ev for word, ev in _EVENTS if word in what), "new event"))
            steps = [s for s in steps if not (s.quote == wait.quote and (
                isinstance(s, SourceStep) and s.service == calendar
                or isinstance(s, DeliverStep) and s.service == calendar and s.operation != "send"))]
        # after an appointment: from its end (the booking's end_time); before it: from its start
        until = ("payload.end_time" if offset > 0 else "payload.start_time") if isinstance(trigger, AppEventTrigger) else what
        index = steps.index(wait)
        steps = [*steps[:index], msgspec.structs.replace(wait, until=until, offset_s=offset), *steps[index + 1:]]
    return trigger, steps
