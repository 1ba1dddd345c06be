"""A worker's start-up ends with its heap frozen (pilot.core.heap): full garbage collections
mid-run then skip the start-up objects (modules, SDK types, the runtime) — under load they
paused workers 170–460 ms each (``bench_background.py --gc-log``) — while objects made later are
collected as before."""

from __future__ import annotations

import gc
import uuid
import weakref

import pytest

from pilot.background import worker
from pilot.background.keys import RedisKeys
from pilot.background.launcher import connect_arq
from tests.conftest import build_settings

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_worker_start_up_freezes_what_it_built_and_later_garbage_is_still_collected(tmp_path) -> None:
    prefix = f"pilot-test-{uuid.uuid4().hex[:10]}"
    settings = build_settings(tmp_path / ".pilot", REDIS_URL=REDIS_URL, PILOT_REDIS_PREFIX=prefix)
    redis = connect_arq(REDIS_URL, RedisKeys(prefix))
    ctx = {"settings": settings, "redis": redis}
    gc.unfreeze()
    try:
        await worker.on_startup(ctx)
        assert await redis.exists(ctx["ready_key"])
        # The runtime it built is frozen with the rest of the start-up heap.
        assert gc.get_freeze_count() > 10_000
        assert all(o is not ctx["runtime"] for o in gc.get_objects(generation=2))

        class Cycle:
            pass

        made_later = Cycle()
        made_later.me = made_later
        gone = weakref.ref(made_later)
        del made_later
        gc.collect()
        assert gone() is None  # a cycle made after start-up is still collected
    finally:
        await worker.on_shutdown(ctx)
        gc.unfreeze()  # the test process's heap goes back to normal
        if "ready_key" in ctx:
            assert not await redis.exists(ctx["ready_key"])  # on_shutdown removed the only key start-up set
        await redis.aclose()
