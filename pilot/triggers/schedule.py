"""Cron schedules, pure (no I/O, no clock of its own): validation, next fire time, misfire policy.

Cron is evaluated with croniter (a well-kept library) in the trigger's IANA timezone, so
"every Monday at 9" means 9:00 Monday *there*, through daylight-saving changes. A schedule has 5
fields (minute hour day-of-month month day-of-week); 6 (with seconds) only when the operator
enables ``PILOT_SCHEDULE_SECONDS`` (tests, demos).

Misfire policy (after downtime, or a scheduler that fell behind): **catch up at most one missed
tick** — the most recent one — then continue from the next tick after now. Ticks further back
are skipped, never replayed in a burst.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


class ScheduleError(ValueError):
    """A cron expression or timezone that cannot be scheduled."""


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown timezone {timezone!r} (use an IANA name such as 'Europe/Berlin')") from exc


def check(cron: str, timezone: str, *, allow_seconds: bool = False) -> None:
    """Raise :class:`ScheduleError` with a readable reason unless the schedule is usable."""
    fields = cron.split()
    allowed = (5, 6) if allow_seconds else (5,)
    if len(fields) not in allowed:
        need = "5 fields (minute hour day month weekday)" + (" or 6 (with seconds)" if allow_seconds else "")
        raise ScheduleError(f"cron {cron!r} has {len(fields)} fields; it needs {need}")
    if not croniter.is_valid(cron):
        raise ScheduleError(f"cron {cron!r} is not a valid cron expression")
    _zone(timezone)


def next_after(cron: str, timezone: str, after: datetime) -> datetime:
    """The first tick strictly after ``after`` (aware), as an aware UTC datetime."""
    local = after.astimezone(_zone(timezone))
    nxt = croniter(cron, local, second_at_beginning=False).get_next(datetime)
    return nxt.astimezone(UTC)


def previous_at_or_before(cron: str, timezone: str, at: datetime) -> datetime:
    """The latest tick at or before ``at``."""
    local = at.astimezone(_zone(timezone))
    itr = croniter(cron, local, second_at_beginning=False)
    if croniter.match(cron, local) and local.microsecond == 0:
        return local.astimezone(UTC)
    return itr.get_prev(datetime).astimezone(UTC)


def due(cron: str, timezone: str, next_fire_at: datetime, now: datetime) -> tuple[datetime | None, datetime]:
    """``(tick to fire now or None, the next fire time to store)``.

    Nothing is due before ``next_fire_at``. When it is, the tick fired is the *latest* tick at or
    before ``now`` (catch up at most one missed tick), and the next fire time is the first tick
    after ``now``."""
    if now < next_fire_at:
        return None, next_fire_at
    tick = max(next_fire_at, previous_at_or_before(cron, timezone, now))
    return tick, next_after(cron, timezone, now)

