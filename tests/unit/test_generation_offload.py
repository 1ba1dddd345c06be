"""Offline generations in worker processes (pilot.generation.offload), with real processes.

The pool must give byte-for-byte what inline generation gives, never make a request wait for it
to start, survive a process that dies, and leave the event loop free while it works."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import msgspec
import pytest

from pilot.generation.offload import GenerationPool
from pilot.generation.offline_result import generate_offline
from pilot.generation.schemas import GeneratePreferences
from pilot.generation.service import GenerationService, check_prompt
from pilot.settings import Settings
from pilot.templates.catalog import catalog_for

DATA = Path(__file__).resolve().parents[2] / "evals" / "data"


def _prompts(n: int) -> list[str]:
    rows = [json.loads(x) for f in sorted(DATA.glob("structure_dev*.jsonl")) for x in f.read_text("utf-8").splitlines() if x.strip()]
    prompts = list(dict.fromkeys(r["prompt"] for r in rows))
    return prompts[:: max(1, len(prompts) // n)][:n]


@pytest.fixture(scope="module")
def pool():
    pool = GenerationPool(1, None)
    pool.warm()
    yield pool
    pool.close()


async def test_the_pool_gives_exactly_what_inline_generation_gives(pool: GenerationPool) -> None:
    catalog = catalog_for(None)
    assert pool.serves(catalog)
    prompts = [check_prompt(p) for p in _prompts(60)]
    prefs = GeneratePreferences(integrations=["Discord"], complexity="simple")
    pooled = await asyncio.gather(*[pool.generate(p, prefs if i % 3 == 0 else None) for i, p in enumerate(prompts)])
    for i, (prompt, made) in enumerate(zip(prompts, pooled)):
        inline = generate_offline(catalog, prompt, prefs if i % 3 == 0 else None)
        assert made is not None
        assert msgspec.json.encode(made) == msgspec.json.encode(inline), prompt
    assert "discord" in msgspec.json.encode(pooled[0].graph).decode()  # the preferences reached the process


async def test_a_pool_that_has_not_started_answers_none_so_the_request_runs_inline(tmp_path: Path) -> None:
    cold = GenerationPool(1, None)
    assert not cold.ready
    assert await cold.generate("Every morning send me the weather by email", None) is None
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path)})
    service = GenerationService(catalog_for(None), settings, pool=cold)
    response = await service.generate("Every morning send me the weather by email", save=False)
    assert response.workflow.nodes and response.blueprint.source == "offline"
    cold.close()


async def test_the_event_loop_runs_while_a_pool_process_generates(pool: GenerationPool) -> None:
    long_prompt = " ".join(_prompts(12))[:6000]  # a long pasted brief: tens of ms of planning
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    made = await pool.generate(check_prompt(long_prompt), None)
    done.set()
    await task
    assert made is not None
    # inline, the generation would hold the loop: the ticker could not run while it planned
    assert ticks - before > 1


async def test_a_process_that_dies_is_replaced_and_that_request_runs_inline() -> None:
    pool = GenerationPool(1, None)
    await asyncio.to_thread(pool.warm)
    try:
        for pid in pool.pids():
            os.kill(pid, signal.SIGKILL)
        answer = await pool.generate("每天早上9点把36氪的新闻发到飞书群", None)
        assert answer is None  # the caller generates inline
        for _ in range(600):  # restarted in the background
            if pool.ready:
                break
            await asyncio.sleep(0.05)
        assert pool.ready
        made = await pool.generate("每天早上9点把36氪的新闻发到飞书群", None)
        assert made is not None and made.blueprint.language == "zh"
    finally:
        pool.close()
    assert not pool.ready
    assert await pool.generate("anything", None) is None  # closed: inline


async def test_the_chat_plans_in_the_pool_too(pool: GenerationPool, tmp_path: Path, monkeypatch) -> None:
    from pilot.chat.generate import analyze

    calls: list[str] = []
    real = pool.generate

    async def counted(text: str, preferences: GeneratePreferences | None):
        calls.append(text)
        return await real(text, preferences)

    monkeypatch.setattr(pool, "generate", counted)
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path)})
    prompt = "When a new row is added to our Google Sheet, translate it to English and post it to #intl on Slack"
    pooled = await analyze(prompt, catalog=catalog_for(None), settings=settings, pool=pool)
    assert calls == [check_prompt(prompt)]
    inline = await analyze(prompt, catalog=catalog_for(None), settings=settings)
    assert msgspec.json.encode(pooled) == msgspec.json.encode(inline)
    assert pooled.plan is not None and pooled.plan.steps


async def test_killing_a_busy_process_answers_its_request_and_the_queued_ones_inline() -> None:
    pool = GenerationPool(1, None)
    await asyncio.to_thread(pool.warm)
    long_prompt = check_prompt(" ".join(_prompts(12))[:6000])
    try:
        tasks = [asyncio.create_task(pool.generate(long_prompt, None)) for _ in range(3)]
        await asyncio.sleep(0.01)  # the first is in the process, two wait in the queue
        for pid in pool.pids():
            os.kill(pid, signal.SIGKILL)
        answers = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        assert answers == [None, None, None]  # none hangs: each caller generates inline
        for _ in range(600):
            if pool.ready:
                break
            await asyncio.sleep(0.05)
        assert pool.ready and len(pool.pids()) == 1
    finally:
        pool.close()


async def test_closing_from_a_thread_lets_the_request_in_flight_finish() -> None:
    pool = GenerationPool(1, None)
    await asyncio.to_thread(pool.warm)
    pids = pool.pids()
    task = asyncio.create_task(pool.generate(check_prompt(" ".join(_prompts(12))[:6000]), None))
    await asyncio.sleep(0.01)
    await asyncio.to_thread(pool.close)
    made = await asyncio.wait_for(task, timeout=30)
    assert made is not None and made.graph.nodes
    assert not pool.ready
    for pid in pids:  # the process has exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_long_requests_queue_without_blocking_the_loop(pool: GenerationPool) -> None:
    # five 8,000-character Chinese prompts (~24 kB each) at once: more bytes than a process is sent
    # ahead, so some wait in the API process's queue; every one is answered, each as inline
    briefs = [check_prompt(("每天早上9点把36氪的新闻总结后发到飞书群，" * 400)[i: i + 8000]) for i in range(5)]
    made = await asyncio.wait_for(asyncio.gather(*[pool.generate(b, None) for b in briefs]), timeout=120)
    catalog = catalog_for(None)
    for brief, answer in zip(briefs, made):
        assert answer is not None
        assert msgspec.json.encode(answer) == msgspec.json.encode(generate_offline(catalog, brief, None))
