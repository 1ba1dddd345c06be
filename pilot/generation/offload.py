"""Offline generations in worker processes, off the API process's event loop.

An offline generation is pure CPU: ~3 ms for a typical request here, 20–30 ms at the 99th
percentile of the eval prompts and over 100 ms for a long pasted brief. Run on the event loop,
each one holds up every other request and SSE stream of that process for that long; run in a
thread, it would still hold the GIL. :class:`GenerationPool` runs them in a few processes (a
forkserver that has already imported the generator, so a process starts warm) and the API process
only decodes the result (msgpack into the same Structs, ~0.1 ms): the event loop stays free, and
one uvicorn worker can use the machine's other cores for generation.

The pool never makes a request wait for it to start: until :meth:`GenerationPool.warm` has
started its processes (the warm-up, one second after start-up), :meth:`GenerationPool.generate`
answers ``None`` and the caller generates inline. A process that dies (killed, out of memory)
breaks the pool: that request is generated inline and the pool is started again in the
background. Generation is a pure function of (catalog, prompt, preferences), so the result is the
one inline generation gives (``tests/unit/test_generation_offload.py`` holds them equal).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:  # the generator's modules load with the warm-up, not with the app
    from pilot.generation.offline_result import OfflineGeneration
    from pilot.generation.schemas import GeneratePreferences

log = logging.getLogger("pilot.generation")

_ENCODER = msgspec.msgpack.Encoder()


@functools.cache
def _decoder(kind: str) -> msgspec.msgpack.Decoder:
    from pilot.generation.offline_result import OfflineGeneration
    from pilot.generation.schemas import GeneratePreferences

    return msgspec.msgpack.Decoder(OfflineGeneration if kind == "generation" else GeneratePreferences)

# what a warm-up generates (pilot.startup's too): one English and one Chinese request
WARM_PROMPTS = ("Every morning at 9 summarise new Zendesk tickets and post it to #support on Slack",
                 "每天早上9点总结36氪的新闻，翻译成英文后发到飞书群")


def _generate_in_worker(templates_dir: str | None, text: str, preferences: bytes) -> bytes:
    """Runs in a generation process: the generation, msgpack-encoded."""
    from pilot.generation.offline_result import generate_offline
    from pilot.templates.catalog import catalog_for  # loaded once per process and directory

    prefs = _decoder("preferences").decode(preferences) if preferences else None
    made = generate_offline(catalog_for(Path(templates_dir) if templates_dir else None), text, prefs)
    return _ENCODER.encode(made)


class GenerationPool:
    """``processes`` generation processes for the catalog in ``templates_dir`` (None: the
    package's templates), started by :meth:`warm` and stopped by :meth:`close`."""

    def __init__(self, processes: int, templates_dir: Path | None) -> None:
        if processes < 1:
            raise ValueError("a generation pool needs at least one process")
        self.processes = processes
        self.templates_dir = str(templates_dir) if templates_dir is not None else None
        self._executor: ProcessPoolExecutor | None = None
        self._catalog: Any = None  # the catalog object the processes load (catalog_for(templates_dir))
        self._ready = False  # every process has started and generated once
        self._closed = False
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._ready and not self._closed

    def serves(self, catalog: Any) -> bool:
        """Whether the processes generate from ``catalog`` (a runtime given another catalog
        generates inline)."""
        return catalog is self._catalog

    def warm(self) -> None:
        """Start the processes and generate once in each (blocking, ~1 s: call it in a thread)."""
        from pilot.templates.catalog import catalog_for

        self._catalog = catalog_for(Path(self.templates_dir) if self.templates_dir else None)
        with self._lock:
            if self._closed or self._executor is not None:
                return
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["pilot.generation.offline_result", "pilot.templates.catalog"])
            executor = ProcessPoolExecutor(max_workers=self.processes, mp_context=context)
            self._executor = executor
        try:
            futures = [executor.submit(_generate_in_worker, self.templates_dir, WARM_PROMPTS[i % len(WARM_PROMPTS)], b"")
                       for i in range(self.processes)]
            for future in futures:
                future.result()
        except BaseException:
            with self._lock:
                if self._executor is executor:
                    self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        with self._lock:
            self._ready = self._executor is executor and not self._closed

    async def generate(self, text: str, preferences: GeneratePreferences | None) -> OfflineGeneration | None:
        """The generation from a pool process, or None when the pool is not ready (the caller
        generates inline). Errors of the generation itself are raised as they are inline."""
        executor = self._executor if self.ready else None
        if executor is None:
            return None
        prefs = _ENCODER.encode(preferences) if preferences is not None else b""
        try:
            encoded = await asyncio.get_running_loop().run_in_executor(
                executor, _generate_in_worker, self.templates_dir, text, prefs)
        except BrokenProcessPool:
            self._restart(executor)
            return None
        return _decoder("generation").decode(encoded)

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not broken:
                return
            self._executor, self._ready = None, False
        broken.shutdown(wait=False, cancel_futures=True)
        log.warning("a generation process died; generating inline until the pool has started again")
        threading.Thread(target=self._warm_quietly, name="generation-pool-restart", daemon=True).start()

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - generation stays inline; the next broken call tries again
            log.exception("the generation pool could not be started")

    def close(self) -> None:
        """Stop the processes (waits for the generations in flight: each takes milliseconds)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
