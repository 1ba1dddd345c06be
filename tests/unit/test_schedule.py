"""Schedules, pure: validation, timezones, weekdays, and the misfire policy (catch up at most one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pilot.core.templating import is_expression, resolve
from pilot.triggers.schedule import ScheduleError, check, due, next_after

SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_every_monday_never_fires_on_saturday_and_respects_the_timezone() -> None:
    ticks = [SATURDAY]
    for _ in range(8):
        ticks.append(next_after("0 9 * * 1", "Europe/Berlin", ticks[-1]))
    for tick in ticks[1:]:
        local = tick.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert local.isoweekday() == 1 and (local.hour, local.minute) == (9, 0)


def test_daylight_saving_keeps_local_time() -> None:
    before = next_after("0 9 * * *", "Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC))
    after = next_after("0 9 * * *", "Europe/Berlin", datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert (before.hour, after.hour) == (8, 7)  # 09:00 CET, then 09:00 CEST


@pytest.mark.parametrize(("cron", "tz", "message"), [
    ("* * * *", "UTC", "needs 5 fields"), ("61 * * * *", "UTC", "not a valid cron"),
    ("0 9 * * 1", "Nowhere/City", "unknown timezone"), ("* * * * * */2", "UTC", "needs 5 fields"),
])
def test_bad_schedules_are_refused_with_a_reason(cron: str, tz: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        check(cron, tz)


def test_seconds_only_when_allowed() -> None:
    check("* * * * * */2", "UTC", allow_seconds=True)


def test_nothing_is_due_early_and_downtime_catches_up_one_tick() -> None:
    first = next_after("0 9 * * *", "UTC", SATURDAY)
    assert due("0 9 * * *", "UTC", first, first - timedelta(seconds=1)) == (None, first)
    assert due("0 9 * * *", "UTC", first, first) == (first, first + timedelta(days=1))
    three_days_late = first + timedelta(days=3, hours=2)
    tick, following = due("0 9 * * *", "UTC", first, three_days_late)
    assert tick == first + timedelta(days=3)  # only the latest missed tick
    assert following == first + timedelta(days=4)


def test_two_blocks_are_a_template_not_an_expression() -> None:
    assert is_expression("{{ inputs.a }}") and not is_expression("{{ inputs.a }} / {{ inputs.b }}")
    assert resolve("{{ inputs.a }} / {{ inputs.b }}", {"inputs": {"a": 1, "b": 2}}) == "1 / 2"
