"""The injectable wall clock of durable waits (``wait`` nodes, ``executions.resume_at``).

``now()`` is real UTC time shifted by an offset: 0 in production; tests move time forward —
in-process with :func:`set_offset`, across processes with ``PILOT_CLOCK_OFFSET_S`` (read into
``settings.engine.clock_offset_s`` and applied by :func:`configure` at start-up) — so a two-day
wait is tested without waiting two days. Leases and heartbeats keep real time: only *due
times* use this clock. :func:`real` converts a due time back to real time (arq's ``_defer_until``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """Aware UTC now, shifted by the configured offset."""
    return datetime.now(UTC) + _offset


def set_offset(seconds: float) -> None:
    """Shift this process's clock ``seconds`` ahead of real time (tests)."""
    global _offset
    _offset = timedelta(seconds=seconds)


def offset_s() -> float:
    return _offset.total_seconds()


def real(when: datetime) -> datetime:
    """The real wall-clock time at which this clock will read ``when``."""
    return when - _offset


def configure(settings) -> None:
    """Apply ``settings.engine.clock_offset_s`` (called by the run service at start-up)."""
    set_offset(float(getattr(settings.engine, "clock_offset_s", 0.0) or 0.0))
