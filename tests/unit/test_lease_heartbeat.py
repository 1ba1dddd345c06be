"""A lease holder that cannot beat stops before another worker may take its run over."""

from __future__ import annotations

import asyncio

from pilot.background import lease as lease_module
from pilot.background.lease import Lease


def _lease(stale_after_s: float) -> Lease:
    return Lease(sessions=None, execution_id="exe_1", stale_after_s=stale_after_s)  # type: ignore[arg-type]


async def test_a_holder_whose_beats_keep_failing_gives_the_lease_up_before_it_goes_stale(monkeypatch) -> None:
    calls = 0

    async def unreachable(*_args, **_kwargs):
        nonlocal calls
        calls += 1
        raise OSError("database unreachable")

    monkeypatch.setattr(lease_module.lifecycle, "heartbeat", unreachable)
    lease = _lease(stale_after_s=0.5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(lease.heartbeat(0.05, lambda: None), timeout=5)
    gave_up = loop.time() - began
    assert lease.lost.is_set()
    assert calls >= 2  # it retried through the hiccup window first
    assert gave_up >= 0.45 - 0.05  # not before stale_after - one beat (the asyncio clock may round)


async def test_a_holder_whose_beats_fail_now_and_then_keeps_its_lease(monkeypatch) -> None:
    calls = 0

    async def flaky(*_args, **_kwargs):
        nonlocal calls
        calls += 1
        if calls % 3:  # two failures, then a beat that gets through
            raise OSError("hiccup")
        return False

    monkeypatch.setattr(lease_module.lifecycle, "heartbeat", flaky)
    lease = _lease(stale_after_s=0.5)
    task = asyncio.create_task(lease.heartbeat(0.05, lambda: None))
    began = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - began < 1.5 or calls < 30:  # three stale thresholds, 10 good beats
        await asyncio.sleep(0.05)
        assert not task.done() and not lease.lost.is_set()
    task.cancel()
