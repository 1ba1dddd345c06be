"""Parent side of the sandbox: pre-booted sandbox processes, one per execution, never reused.

A *spare* is a sandbox process, forked from the pool's zygote (:mod:`pilot.sandbox.zygote`, ~2
ms) or, where that cannot work, started as a new interpreter (~60 ms of CPU), that has locked
itself down (:mod:`pilot.sandbox.child`) and is blocked reading its job. Handing a job to a spare
costs a pipe write, so the pool keeps :data:`SPARES` of them ready and starts a replacement as
soon as one is taken. A spare runs
exactly one job and is then killed and its scratch directory removed: no state (module globals,
files, memory) is ever shared between executions or tenants.

The parent enforces what the child cannot be trusted with: the wall-time limit (SIGKILL), the output cap (it reads at most that many bytes, then kills), and the decision
whether the isolation the child reports is enough to run anything (:data:`REQUIRED` layers).
Missing optional layers are logged once per process.

Pools belong to an event loop (their pipes do): :func:`get_pool` returns the running loop's,
created on first use; :func:`shutdown_pool` kills its spares (start-up registers it, see
:func:`sandbox_lifetime`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
import weakref
from dataclasses import dataclass
from typing import Any

import msgspec

from pilot.sandbox.lockdown import NOBODY
from pilot.sandbox.outcome import Limits, Outcome, SandboxError, SandboxUnavailable, failure_message, read_capped, remove_tree
from pilot.sandbox.protocol import MAX_JOB_BYTES, REQUIRED
from pilot.sandbox.spawn import Sandbox, Zygote, ZygoteGone, start_direct

log = logging.getLogger("pilot.sandbox")
SPARES = 2
MAX_ACTIVE = 8  # concurrent executions per process; more wait for a slot
BOOT_TIMEOUT_S = 15.0
OPTIONAL = ("userns", "landlock", "chroot")  # PILOT_SANDBOX_SKIP may turn these off (to test the fallbacks)
_logged: set[str] = set()


@dataclass(slots=True)
class _Spare:
    proc: Sandbox
    scratch: str
    layers: dict[str, str]


def _log_layers_once(layers: dict[str, str], missing: dict[str, str]) -> None:
    for name, reason in missing.items():
        if name not in _logged:
            _logged.add(name)
            log.warning("code sandbox: the %s layer is unavailable on this machine (%s); the other layers still apply", name, reason)
    if "active" not in _logged:
        _logged.add("active")
        log.info("code sandbox layers: %s", "; ".join(f"{k}: {v}" for k, v in layers.items()))


class SandboxPool:
    """Spares for one event loop; ``run`` executes one job in a fresh sandbox process."""

    def __init__(self, spares: int = SPARES, max_active: int = MAX_ACTIVE, skip: tuple[str, ...] = ()) -> None:
        unknown = set(skip) - set(OPTIONAL)
        if unknown:
            raise ValueError(f"only optional layers can be skipped ({', '.join(OPTIONAL)}), not {sorted(unknown)}")
        self.spares, self.skip = spares, tuple(skip)
        self._zygote: Zygote | None = None
        self._zygote_error: str | None = None
        self._zygote_lock = asyncio.Lock()
        self.layers: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        self._ready: asyncio.Queue[_Spare | BaseException] = asyncio.Queue()
        self._slots = asyncio.Semaphore(max_active)
        self._booting = self._waiting = 0
        self._tasks: set[asyncio.Task] = set()
        self._unavailable: str | None = None
        self._closed = False

    # ------------------------------------------------------------------ spares
    async def _boot(self) -> _Spare:
        scratch = tempfile.mkdtemp(prefix="pilot-code-")
        if os.geteuid() == 0:
            os.chown(scratch, NOBODY, NOBODY)  # the child drops to nobody
        try:
            proc = await self._start_process(scratch)
        except OSError as exc:
            remove_tree(scratch)
            raise SandboxUnavailable(f"the code sandbox could not start: {exc}") from exc
        first = b""
        try:
            first = await asyncio.wait_for(proc.stdout.readline(), BOOT_TIMEOUT_S)
            hello = json.loads(first)
        except (asyncio.TimeoutError, ValueError) as exc:
            proc.kill()
            self._spawn(self._reap(proc, scratch))
            detail = first.decode("utf-8", "replace").strip()[-300:] or "no answer"
            raise SandboxUnavailable(f"the code sandbox did not start: {detail}") from exc
        self.layers, self.missing = hello["layers"], hello["missing"]
        _log_layers_once(self.layers, self.missing)
        absent = [name for name in REQUIRED if name not in self.layers]
        if hello.get("fatal") or absent:
            self._unavailable = f"code nodes are disabled on this machine: {hello.get('fatal') or 'missing ' + ', '.join(absent)}"
            log.error("code sandbox: %s", self._unavailable)
            self._spawn(self._reap(proc, scratch))
            raise SandboxUnavailable(self._unavailable)
        return _Spare(proc, scratch, self.layers)

    async def _start_process(self, scratch: str) -> Sandbox:
        """Fork through the zygote (started on first use, restarted if it died); a new
        interpreter when the zygote cannot work here (said once in the log)."""
        if self._zygote_error is None:
            async with self._zygote_lock:
                if self._zygote is None or not self._zygote.alive:
                    self._zygote = Zygote()
                    try:
                        await self._zygote.start(BOOT_TIMEOUT_S)
                    except (ZygoteGone, OSError) as exc:
                        self._zygote, self._zygote_error = None, str(exc)
                        if "zygote" not in _logged:
                            _logged.add("zygote")
                            log.warning("code sandbox: %s; each sandbox starts a new interpreter instead (slower)", exc)
            if self._zygote is not None:
                try:
                    return await self._zygote.fork(scratch, self.skip)
                except ZygoteGone:
                    pass  # it died: this sandbox starts directly, the next boot restarts it
        return await start_direct(scratch, self.skip)

    async def _boot_into_queue(self) -> None:
        item: _Spare | BaseException = SandboxUnavailable("the code sandbox did not start")
        try:
            for _attempt in range(2):  # a second try: the zygote may have died under the first
                try:
                    item = await self._boot()
                    break
                except SandboxUnavailable as exc:
                    item = exc
                    if self._unavailable or self._closed:  # final: no isolation here, or shutting down
                        break
                except Exception as exc:  # noqa: BLE001 - handed to the waiter that needs a spare
                    item = exc
                    break
        finally:
            self._booting -= 1
        if self._closed and isinstance(item, _Spare):
            await self._reap(item.proc, item.scratch)
        else:
            self._ready.put_nowait(item)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _top_up(self) -> None:
        if self._closed or self._unavailable:
            return
        for _ in range(self.spares + self._waiting - self._ready.qsize() - self._booting):
            self._booting += 1
            self._spawn(self._boot_into_queue())

    async def _take(self) -> _Spare:
        self._waiting += 1
        try:
            self._top_up()
            while True:
                item = await self._ready.get()
                if isinstance(item, BaseException):
                    raise item
                if item.proc.running:
                    return item
                self._spawn(self._reap(item.proc, item.scratch))  # died while waiting
                self._top_up()
        finally:
            self._waiting -= 1
            self._top_up()

    async def _reap(self, proc: Sandbox, scratch: str) -> None:
        proc.kill()
        try:
            await proc.wait()
        finally:
            proc.close()
            await asyncio.to_thread(remove_tree, scratch)

    async def warm(self) -> None:
        """Boot the spares now (and wait for one), instead of on the first execution."""
        spare = await self._take()
        self._ready.put_nowait(spare)

    # ------------------------------------------------------------------ executions
    async def run(self, code: str, inputs: dict[str, Any], limits: Limits) -> Outcome:
        """Run ``code`` with ``inputs`` in a fresh sandbox process. Raises :class:`SandboxError`
        for limits the parent enforces and :class:`SandboxUnavailable` when nothing can run."""
        t0 = time.monotonic_ns()
        if self._unavailable:
            raise SandboxUnavailable(self._unavailable)
        if self._closed:
            raise SandboxUnavailable("the code sandbox is shut down")
        job = msgspec.json.encode({"code": code, "inputs": inputs, "cpu_time_s": limits.cpu_time_s,
                                   "memory_mb": limits.memory_mb, "max_output_bytes": limits.max_output_bytes})
        if len(job) > MAX_JOB_BYTES:
            raise SandboxError(f"code and inputs are {len(job)} bytes; at most {MAX_JOB_BYTES} may be sent to the sandbox")
        async with self._slots:
            spare = await self._take()
            try:
                return await self._execute(spare, job, limits, t0)
            finally:
                spare.proc.kill()
                self._spawn(self._reap(spare.proc, spare.scratch))

    async def _execute(self, spare: _Spare, job: bytes, limits: Limits, t0: int) -> Outcome:
        proc = spare.proc
        cap = 2 * limits.max_output_bytes + (64 << 10)  # the result and stdout, each capped by the child
        try:
            proc.stdin.write(job)
            await proc.stdin.drain()
            proc.stdin.close()
            sent = time.monotonic()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise SandboxError("the sandbox process died before it received the code") from exc
        try:
            data = await asyncio.wait_for(read_capped(proc.stdout, cap), limits.wall_time_s)
        except asyncio.TimeoutError:
            proc.kill()
            raise SandboxError(f"wall-time limit exceeded: the code ran for more than {limits.wall_time_s:g} s") from None
        if len(data) > cap:
            proc.kill()
            raise SandboxError(f"output limit exceeded: the code wrote more than {cap} bytes (max_output_bytes {limits.max_output_bytes})")
        try:
            rc = await asyncio.wait_for(proc.wait(), 2.0)
        except asyncio.TimeoutError:
            rc = None
        _, _, last = data.rstrip(b"\n").rpartition(b"\n")
        try:
            message = json.loads(last)
            if not isinstance(message, dict) or "ok" not in message:
                raise ValueError("not a result message")
        except ValueError:
            raise SandboxError(failure_message(rc, limits, data, time.monotonic() - sent)) from None
        done = time.monotonic_ns()
        started = message.get("started_ns")
        start_ms = (started - t0) / 1e6 if isinstance(started, int) and t0 <= started <= done else (done - t0) / 1e6
        return Outcome(ok=bool(message["ok"]), result=message.get("result"), stdout=str(message.get("stdout", "")),
                       error=message.get("error"), line=message.get("line"), start_ms=start_ms, total_ms=(done - t0) / 1e6)

    async def close(self) -> None:
        """Kill every spare and remove their scratch directories (running jobs end with their tasks)."""
        self._closed = True
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if isinstance(item, _Spare):
                self._spawn(self._reap(item.proc, item.scratch))
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._zygote is not None:
            await self._zygote.close()


_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SandboxPool]" = weakref.WeakKeyDictionary()


def get_pool() -> SandboxPool:
    """The running event loop's pool (created, without spares, on first use). The environment
    variable ``PILOT_SANDBOX_SKIP`` (e.g. ``landlock,userns``) turns optional layers off, to
    check the fallbacks on a machine that has them all; the required layers cannot be skipped."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        skip = tuple(x.strip() for x in os.environ.get("PILOT_SANDBOX_SKIP", "").split(",") if x.strip())
        pool = _pools[loop] = SandboxPool(skip=skip)
    return pool


async def shutdown_pool() -> None:
    """Close the running loop's pool, if it has one."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


async def sandbox_lifetime(runtime: Any) -> None:
    """Start-up step: the pool starts lazily with the first code node; this only makes sure its
    spares are killed when the runtime shuts down (its background tasks are cancelled then)."""

    async def hold() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await shutdown_pool()

    runtime.spawn(hold(), name="code-sandbox")
