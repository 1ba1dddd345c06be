"""A lease holder that cannot beat stops before another worker may take its run over.

The holder's clock is a fake that moves 0.1 s per heartbeat attempt, so what is checked is the
rule (give up once no beat got through for ``stale_after - interval``), not the machine's speed."""

from __future__ import annotations

import asyncio
import types

import pytest

from pilot.background import lease as lease_module
from pilot.background.lease import Lease

STEP_S = 0.1  # fake seconds per heartbeat attempt
INTERVAL_S = 0.001  # real sleep between attempts (the fake clock is what counts)


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1000.0}
    monkeypatch.setattr(lease_module, "time", types.SimpleNamespace(monotonic=lambda: now["t"]))
    return now


def _lease(stale_after_s: float) -> Lease:
    return Lease(sessions=None, execution_id="exe_1", stale_after_s=stale_after_s)  # type: ignore[arg-type]


async def test_a_holder_whose_beats_keep_failing_gives_the_lease_up_before_it_goes_stale(monkeypatch, clock) -> None:
    calls = 0

    async def unreachable(*_args, **_kwargs):
        nonlocal calls
        calls += 1
        clock["t"] += STEP_S
        raise OSError("database unreachable")

    monkeypatch.setattr(lease_module.lifecycle, "heartbeat", unreachable)
    lease = _lease(stale_after_s=0.5)
    await asyncio.wait_for(lease.heartbeat(INTERVAL_S, lambda: None), timeout=10)
    assert lease.lost.is_set()
    assert calls == 5  # 0.5 s without a beat >= 0.5 - one interval: not at 0.4 s, and no later


async def test_a_holder_whose_beats_fail_now_and_then_keeps_its_lease(monkeypatch, clock) -> None:
    calls = 0

    async def flaky(*_args, **_kwargs):
        nonlocal calls
        calls += 1
        clock["t"] += STEP_S
        if calls % 4:  # three failures (0.3 s), then a beat that gets through
            raise OSError("hiccup")
        return False

    monkeypatch.setattr(lease_module.lifecycle, "heartbeat", flaky)
    lease = _lease(stale_after_s=0.5)
    task = asyncio.create_task(lease.heartbeat(INTERVAL_S, lambda: None))
    while calls < 60:  # 6 fake seconds: twelve stale thresholds, each failure streak shorter than one
        await asyncio.sleep(INTERVAL_S)
        assert not task.done() and not lease.lost.is_set()
    task.cancel()
