"""Offline generations in worker processes, off the API process's event loop.

An offline generation is pure CPU: ~3 ms for a typical request here, 20–30 ms at the 99th
percentile of the eval prompts and over 100 ms for a long pasted brief. Run on the event loop,
each one holds up every other request and SSE stream of that process for that long; run in a
thread, it would still hold the GIL. :class:`GenerationPool` runs them in a few processes (forked
from a forkserver that has already imported the generator, so a process starts warm) and the API
process only decodes the result (msgpack into the same Structs, ~0.1 ms): the event loop stays
free, and one uvicorn worker can use the machine's other cores for generation.

Each process has one pipe to the API process and holds up to :data:`DEPTH` requests; the event
loop writes the requests and reads the replies itself (``loop.add_reader``), and requests that
find every process full wait in the pool's queue, first come first served. That costs the API
process ~0.08 ms per request; a ``ProcessPoolExecutor`` cost ~0.3 ms here, in its feeder and
result threads, which contend with the event loop for the GIL (a micro-benchmark of 2,000 calls,
16 in flight; the README's per-request section).

The pool never makes a request wait for it to start: until :meth:`GenerationPool.warm` has
started its processes (the warm-up, one second after start-up), :meth:`GenerationPool.generate`
answers ``None`` and the caller generates inline. A process that dies (killed, out of memory)
answers ``None`` for its request, which is then generated inline, and is replaced in the
background. Generation is a pure function of (catalog, prompt, preferences), so the result is the
one inline generation gives (``tests/unit/test_generation_offload.py`` holds them equal).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import multiprocessing
import pickle
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:  # the generator's modules load with the warm-up, not with the app
    from multiprocessing.process import BaseProcess

    from pilot.generation.offline_result import OfflineGeneration
    from pilot.generation.schemas import GeneratePreferences

log = logging.getLogger("pilot.generation")

_ENCODER = msgspec.msgpack.Encoder()
_REQUEST = msgspec.msgpack.Decoder(tuple[str, bytes])
# Requests a process holds at once: while it answers one, the next ones already wait in its pipe.
# One at a time, a process idled for each round trip through the API process's event loop, which
# shares the cores with it; at 4 the machine is busier than at 2 (174-180 % against 169-173 % of a
# core over three alternating bench runs each, 2 vCPUs). Requests go to the least loaded process, so
# below saturation each still starts at once; above it they queue either way.
DEPTH = 4
# A process's requests in flight stay under this many bytes (a prompt is at most 8,000 characters,
# ~24 kB of UTF-8; a socketpair buffers more than 200 kB on Linux), so a send never blocks.
_IN_FLIGHT_BYTES = 64 * 1024
_OK, _ERROR = b"R", b"E"  # a reply's first byte: the msgpack generation, or the pickled exception

# what a warm-up generates (pilot.startup's too): one English and one Chinese request
WARM_PROMPTS = ("Every morning at 9 summarise new Zendesk tickets and post it to #support on Slack",
                "每天早上9点总结36氪的新闻，翻译成英文后发到飞书群")


@functools.cache
def _decoder(kind: str) -> msgspec.msgpack.Decoder:
    from pilot.generation.offline_result import OfflineGeneration
    from pilot.generation.schemas import GeneratePreferences

    return msgspec.msgpack.Decoder(OfflineGeneration if kind == "generation" else GeneratePreferences)


def _serve(conn: Connection, templates_dir: str | None) -> None:
    """A generation process: read (text, preferences) requests, answer each, until the pipe closes."""
    from pilot.generation.offline_result import generate_offline
    from pilot.templates.catalog import catalog_for

    catalog = catalog_for(Path(templates_dir) if templates_dir else None)
    while True:
        try:
            text, preferences = _REQUEST.decode(conn.recv_bytes())
        except (EOFError, OSError):  # the API process closed the pool or died
            return
        try:
            prefs = _decoder("preferences").decode(preferences) if preferences else None
            reply = _OK + _ENCODER.encode(generate_offline(catalog, text, prefs))
        except Exception as exc:  # noqa: BLE001 - raised in the API process as inline
            reply = _ERROR + pickle.dumps(exc)
        conn.send_bytes(reply)


class _Process:
    """One generation process, the API process's end of its pipe, and the requests it holds
    (answered in the order they were sent)."""

    __slots__ = ("conn", "process", "futures", "sent_bytes")

    def __init__(self, conn: Connection, process: BaseProcess) -> None:
        self.conn, self.process = conn, process
        self.futures: collections.deque[tuple[asyncio.Future[bytes | None], int]] = collections.deque()  # (reply, request size)
        self.sent_bytes = 0  # of the requests it holds

    def takes(self, request: bytes) -> bool:
        """Whether a send of ``request`` cannot block: an idle process takes any request, a busy
        one up to DEPTH whose bytes fit in the socket's buffer (the event loop must never wait)."""
        return not self.futures or (len(self.futures) < DEPTH and self.sent_bytes + len(request) <= _IN_FLIGHT_BYTES)

    def stop(self) -> None:
        self.conn.close()  # the process reads EOF and exits
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


class GenerationPool:
    """``processes`` generation processes for the catalog in ``templates_dir`` (None: the
    package's templates), started by :meth:`warm` and stopped by :meth:`close`."""

    def __init__(self, processes: int, templates_dir: Path | None) -> None:
        if processes < 1:
            raise ValueError("a generation pool needs at least one process")
        self.processes = processes
        self.templates_dir = str(templates_dir) if templates_dir is not None else None
        self._catalog: Any = None  # the catalog object the processes load (catalog_for(templates_dir))
        self._lock = threading.Lock()  # guards the counts, _started and _closed (warm and close run in threads)
        self._started: list[_Process] = []  # warmed by a thread, not yet taken by the event loop
        self._live = 0  # processes warmed and not known dead
        self._starting = 0  # processes a warm() is starting
        self._procs: list[_Process] = []  # taken by the event loop; only it uses them from here on
        self._waiting: collections.deque[tuple[bytes, asyncio.Future[bytes | None]]] = collections.deque()
        self._closed = False

    @property
    def ready(self) -> bool:
        return self._live > 0 and not self._closed

    def serves(self, catalog: Any) -> bool:
        """Whether the processes generate from ``catalog`` (a runtime given another catalog
        generates inline)."""
        return catalog is self._catalog

    def pids(self) -> list[int]:
        """The processes' ids (tests kill them)."""
        return [p.process.pid for p in (*self._started, *self._procs) if p.process.pid is not None]

    def warm(self) -> None:
        """Start the processes and generate once in each (blocking, ~1 s: call it in a thread)."""
        from pilot.templates.catalog import catalog_for

        self._catalog = catalog_for(Path(self.templates_dir) if self.templates_dir else None)
        with self._lock:
            missing = max(self.processes - self._live - self._starting, 0)
            self._starting += missing  # claimed now, so a concurrent warm() starts no extra ones
        try:
            for n in range(missing):
                self._start_one(WARM_PROMPTS[n % len(WARM_PROMPTS)])
        finally:
            with self._lock:
                self._starting -= missing

    def _start_one(self, warm_prompt: str) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["pilot.generation.offline_result", "pilot.templates.catalog"])
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self.templates_dir), name="pilot-generation", daemon=True)
        process.start()
        theirs.close()
        started = _Process(ours, process)
        try:  # warm: the first generation loads the catalog and compiles the planner's patterns
            ours.send_bytes(_ENCODER.encode((warm_prompt, b"")))
            if not ours.recv_bytes().startswith(_OK):
                raise RuntimeError("the warm-up generation failed in a generation process")
        except BaseException:
            started.stop()
            raise
        with self._lock:
            if not self._closed:
                self._started.append(started)
                self._live += 1
                return
        started.stop()

    async def generate(self, text: str, preferences: GeneratePreferences | None) -> OfflineGeneration | None:
        """The generation from a pool process, or None when no process is ready (the caller
        generates inline). Errors of the generation itself are raised as they are inline."""
        if not self.ready:
            return None
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((_ENCODER.encode((text, _ENCODER.encode(preferences) if preferences is not None else b"")), future))
        self._dispatch()
        reply = await future
        if reply is None:
            return None
        if reply.startswith(_ERROR):
            raise pickle.loads(reply[1:])  # noqa: S301 - our own process's exception
        return _decoder("generation").decode(memoryview(reply)[1:])

    def _dispatch(self) -> None:
        """Send waiting requests to the least loaded processes, at most DEPTH to each."""
        if self._started:
            with self._lock:
                started, self._started = self._started, []
            self._procs.extend(started)
        while self._waiting and self._procs:
            request, future = self._waiting[0]
            if future.done():  # cancelled while it waited
                self._waiting.popleft()
                continue
            proc = min(self._procs, key=lambda p: len(p.futures))
            if not proc.takes(request):
                return
            self._waiting.popleft()
            try:
                proc.conn.send_bytes(request)
            except OSError:
                self._waiting.appendleft((request, future))
                self._lost(proc)
                return
            proc.futures.append((future, len(request)))
            proc.sent_bytes += len(request)
            if len(proc.futures) == 1:
                loop = asyncio.get_running_loop()
                loop.add_reader(proc.conn.fileno(), self._on_reply, loop, proc)
        if self._waiting and not self._procs:  # no process left: they run inline
            while self._waiting:
                _resolve_none(self._waiting.popleft()[1])

    def _on_reply(self, loop: asyncio.AbstractEventLoop, proc: _Process) -> None:
        try:
            reply = proc.conn.recv_bytes()
        except (EOFError, OSError):
            self._lost(proc)
            return
        future, size = proc.futures.popleft()
        proc.sent_bytes -= size
        if not future.done():
            future.set_result(reply)
        if proc.futures:
            return  # the next reply follows on the same pipe
        loop.remove_reader(proc.conn.fileno())
        if self._closed:
            self._drop(proc)
            proc.stop()
        else:
            self._dispatch()

    def _lost(self, proc: _Process) -> None:
        """``proc`` died: its requests are generated inline, and a new process replaces it."""
        self._drop(proc)
        if proc.futures:  # its reader is registered while it holds requests (on this, the loop's thread)
            asyncio.get_running_loop().remove_reader(proc.conn.fileno())
        while proc.futures:
            _resolve_none(proc.futures.popleft()[0])
        with self._lock:
            self._live -= 1
            closed = self._closed
        proc.stop()
        if not closed:
            log.warning("a generation process died; starting another (its requests run inline)")
            threading.Thread(target=self._warm_quietly, name="generation-pool-restart", daemon=True).start()
        self._dispatch()  # the waiting requests go to the processes that are left

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - generation stays inline; the next death tries again
            log.exception("a generation process could not be started")

    def _drop(self, proc: _Process) -> None:
        with contextlib.suppress(ValueError):  # close() and the event loop may both drop it
            self._procs.remove(proc)

    def close(self) -> None:
        """Stop the processes. Called from a thread while the event loop runs, it first lets the
        requests in flight get their replies (each takes milliseconds); requests still waiting
        run inline."""
        with self._lock:
            self._closed = True
            started, self._started = self._started, []
        for proc in started:
            proc.stop()
        for _request, future in self._waiting:
            future.get_loop().call_soon_threadsafe(_resolve_none, future)
        self._waiting.clear()
        for proc in [p for p in self._procs if not p.futures]:
            self._drop(proc)
            proc.stop()
        if not _on_a_running_loop():
            deadline = time.monotonic() + 5
            while self._procs and time.monotonic() < deadline:  # the loop stops each as it replies
                time.sleep(0.01)
        for proc in list(self._procs):  # on the loop thread, or the loop is gone: they run inline
            self._drop(proc)
            if proc.futures and not proc.futures[0][0].get_loop().is_closed():
                loop = proc.futures[0][0].get_loop()
                loop.call_soon_threadsafe(functools.partial(_forget, loop, proc.conn.fileno(), [f for f, _ in proc.futures]))
            proc.stop()


def _on_a_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _forget(loop: asyncio.AbstractEventLoop, fd: int, futures: list[asyncio.Future[bytes | None]]) -> None:
    loop.remove_reader(fd)
    for future in futures:
        _resolve_none(future)


def _resolve_none(future: asyncio.Future[bytes | None]) -> None:
    if not future.done():
        future.set_result(None)
