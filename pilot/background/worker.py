"""The arq worker: every setting in one place (:func:`worker_settings`), the job functions, and a
worker class that survives Redis outages.

``pilot worker`` runs it (:class:`ResilientWorker`). ``python -m arq
pilot.background.worker.WorkerSettings`` also works, but with arq's own Worker class: no Redis
outage tolerance and arq's per-job claim round trips (slow pickup with many runs in flight). Jobs:

- ``run_execution(ctx, execution_id)`` — claims the execution (see :mod:`pilot.background.lease`),
  heartbeats, routes cancels, and runs the same executor as inline mode (resuming from persisted
  node results when an earlier attempt died). Job id = execution id, so a duplicate enqueue is a
  no-op and a duplicate *delivery* finds the execution already claimed and returns.
- ``sweep:<prefix>`` (cron, unique per tick across workers, also at start-up) — the crash
  sweeper (:mod:`pilot.background.sweeper`).

Shutdown (SIGTERM/SIGINT): the worker stops taking jobs, lets running ones finish for up to
``PILOT_WORKER_SHUTDOWN_GRACE_S``, then hands the rest back (status ``queued``, arq re-queues the
job) so another worker resumes them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import sqlalchemy as sa
from arq.connections import RedisSettings as ArqRedisSettings
from arq.constants import in_progress_key_prefix
from arq.cron import cron
from arq.worker import Worker, func

from pilot.background.cancel import CancelSignals
from pilot.background.keys import RedisKeys
from pilot.background.lease import HOST, Lease
from pilot.background.redis_bus import UNAVAILABLE
from pilot.background.resume import reconcile
from pilot.background.sweeper import RUN_FUNCTION, end_execution, sweep
from pilot.core.heap import freeze_startup_heap
from pilot.db.models import ExecutionRow
from pilot.observability.tracing import remote_parent
from pilot.settings import Settings, get_settings

log = logging.getLogger("pilot.background.worker")

# Upper bound on handing one run back (or finishing its cancel) once the job is cancelled.
HAND_BACK_TIMEOUT_S = 8.0


# ---------------------------------------------------------------------------------------- jobs
async def run_execution(ctx: dict[str, Any], execution_id: str, traceparent: str | None = None) -> str:
    """Run one background execution to a terminal state (or hand it back on shutdown).
    ``traceparent``: the trace context of the request that enqueued it (tracing on)."""
    runtime = ctx["runtime"]
    rs = runtime.settings.redis
    cancels: CancelSignals = ctx["cancels"]
    lease = Lease(runtime.sessions, execution_id, stale_after_s=rs.stale_after_s)
    # Registered before the claim: a cancel signalled at any moment from now on is caught (one
    # committed earlier comes back in claim.cancel_requested; the heartbeat re-reads the flag).
    cancel_event = asyncio.Event()
    cancels.register(execution_id, cancel_event)
    run: asyncio.Task | None = None
    beat: asyncio.Task | None = None
    try:
        claim = await lease.claim()
        if claim is None:
            log.info("execution %s is not runnable here (finished, unknown, or running elsewhere)", execution_id)
            return "skipped"
        if claim.attempts > rs.max_run_attempts:
            await end_execution(runtime.sessions, runtime.bus, execution_id, status="failed",
                                error=f"worker lost: the run was interrupted {claim.attempts - 1} time(s) and will not be retried")
            return "failed"
        if claim.cancel_requested:
            cancel_event.set()
        if claim.resumed:
            # What the dead attempt wrote is reconciled first (events, node results: resume.py).
            # Under this lease's token: the stream is taken over before the bus is read.
            await reconcile(runtime.sessions, runtime.bus, execution_id, token=lease.token)
        # The same executor as inline mode, told that this lease claimed the row; it stops without
        # ending the stream when the lease is lost (see lease.py) or the worker hands the run back.
        with remote_parent(traceparent):  # the run task's spans continue the request's trace
            run = asyncio.create_task(
                runtime.runs.run_execution(execution_id, token=lease.token, claim=claim, cancelled=cancel_event,
                                            lease_lost=lease.lost),
                name=f"run:{execution_id}",
            )
        beat = asyncio.create_task(lease.heartbeat(rs.heartbeat_s, cancel_event.set))
        return await asyncio.shield(run)
    except asyncio.CancelledError:
        # arq cancelled the job: an abort (the user cancelled) or the worker is stopping. Bounded:
        # with the database unreachable a stopping worker must still exit (the sweeper recovers).
        try:
            async with asyncio.timeout(HAND_BACK_TIMEOUT_S):
                await _wind_down(runtime, execution_id, cancels, cancel_event, lease, run)
        except BaseException as exc:  # noqa: BLE001 - timed out (or DB down): never block the exit
            log.warning("execution %s: could not hand back cleanly (%s); the sweeper will recover it",
                        execution_id, type(exc).__name__)
        finally:
            if run is not None and not run.done():
                run.cancel()
        raise
    finally:
        if beat is not None:
            beat.cancel()
        cancels.unregister(execution_id)


async def _wind_down(runtime: Any, execution_id: str, cancels: CancelSignals, cancel_event: asyncio.Event,
                     lease: Lease, run: asyncio.Task | None) -> None:
    if run is not None:
        if await _cancel_requested(runtime, execution_id, cancels):
            cancel_event.set()
            await _settle(run, grace_s=5.0)  # ends the stream with run.finished cancelled
            return
        lease.lost.set()  # stop without ending the stream: the next attempt resumes it
        await _settle(run, grace_s=5.0)
    if await lease.hand_back():  # claimed but not finished: queued again for the next attempt
        log.info("execution %s handed back for another worker to resume", execution_id)


async def _settle(task: asyncio.Task, *, grace_s: float) -> None:
    """Wait for the executor to wind down; cancel it if it does not within ``grace_s``."""
    done, _ = await asyncio.wait({task}, timeout=grace_s)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _cancel_requested(runtime: Any, execution_id: str, cancels: CancelSignals) -> bool:
    if await cancels.was_requested(execution_id):
        return True
    async with runtime.sessions() as session:
        return bool(await session.scalar(sa.select(ExecutionRow.cancel_requested).where(ExecutionRow.id == execution_id)))


async def sweep_stale_executions(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: resume or end executions whose worker died (see :mod:`pilot.background.sweeper`)."""
    runtime = ctx["runtime"]
    s = runtime.settings.redis
    report = await sweep(runtime.sessions, ctx["redis"], runtime.bus, RedisKeys(s.key_prefix),
                         stale_after_s=s.stale_after_s, max_attempts=s.max_run_attempts)
    return {"requeued": len(report.requeued), "failed": len(report.failed), "reenqueued": len(report.reenqueued),
            "resumed": len(report.resumed)}


# ------------------------------------------------------------------------------ start / stop
async def on_startup(ctx: dict[str, Any]) -> None:
    """Build this process's Runtime (database, bus, run service, LLM/tools) like the API does."""
    from pilot.core.redaction import install_redaction
    from pilot.observability.sentry import configure_sentry
    from pilot.observability.tracing import configure_tracing
    from pilot.runtime import Runtime
    from pilot.startup import start_runtime

    settings: Settings = ctx.get("settings") or get_settings()
    install_redaction(settings)  # also under `python -m arq …WorkerSettings` (idempotent)
    configure_tracing(settings, role="worker")  # each only when configured (an endpoint, a DSN)
    configure_sentry(settings)
    runtime = Runtime.build(settings)
    await start_runtime(runtime)
    ctx["runtime"] = runtime
    cancels = CancelSignals(ctx["redis"], RedisKeys(settings.redis.key_prefix))
    cancels.start()
    await _warm_up(runtime)
    ctx["cancels"] = cancels
    keys = RedisKeys(settings.redis.key_prefix)
    # Once start-up is done: full collections would otherwise walk its whole heap mid-run (pilot.core.heap).
    frozen = freeze_startup_heap()
    ctx["ready_key"] = keys.worker(HOST, os.getpid())
    await ctx["redis"].set(ctx["ready_key"], f"pid={os.getpid()} started={time.time():.0f}".encode(), ex=7 * 86400)
    log.info("πlot worker ready (queue %s, %d start-up objects frozen)", keys.queue, frozen)


async def _warm_up(runtime: Any) -> None:
    """Pay one-time costs now rather than in the first run's time-to-first-event: the openai SDK
    import and client (seconds on a busy machine), and a few pooled database connections."""
    if runtime.settings.llm.enabled:
        from pilot.llm.openai_provider import shared_client

        # The SDK imports ``openai.resources`` (~1.5 s) on first use of ``client.chat``.
        _ = shared_client(runtime.settings.llm).chat.completions

    async def ping() -> None:
        async with runtime.sessions() as session:
            await session.execute(sa.text("SELECT 1"))

    await asyncio.gather(*(ping() for _ in range(min(5, runtime.settings.db.pool_size))))


async def on_shutdown(ctx: dict[str, Any]) -> None:
    from pilot.startup import stop_runtime

    if "cancels" in ctx:
        await ctx["cancels"].stop()
    if "ready_key" in ctx:
        try:
            await ctx["redis"].delete(ctx["ready_key"])
        except UNAVAILABLE:
            pass
    if "runtime" in ctx:
        await stop_runtime(ctx["runtime"])
    from pilot.observability.tracing import aflush_tracing

    await aflush_tracing()  # the last runs' spans (nothing while tracing is off)


# ---------------------------------------------------------------------------- configuration
def _sweep_seconds(interval_s: float) -> set[int]:
    step = max(1, min(round(interval_s), 60))
    return set(range(0, 60, step))


def worker_settings(settings: Settings) -> dict[str, Any]:
    """All arq worker options, derived from πlot settings (the one place they are decided)."""
    if not settings.redis.url:
        raise RuntimeError("the background worker needs REDIS_URL")
    r = settings.redis
    keys = RedisKeys(r.key_prefix)
    redis_settings = ArqRedisSettings.from_dsn(r.url)
    redis_settings.conn_retries = 30  # ride out a Redis restart at start-up
    return {
        "functions": [
            # Attempts are counted (and capped) by the executions row, not by arq.
            func(run_execution, name=RUN_FUNCTION, max_tries=1000, timeout=r.job_timeout_s, keep_result=60),
        ],
        "cron_jobs": [
            cron(sweep_stale_executions, name=f"sweep:{r.key_prefix}", second=_sweep_seconds(r.sweep_interval_s),
                 microsecond=0, run_at_startup=True, unique=True, timeout=60, max_tries=1),
        ],
        "queue_name": keys.queue,
        "health_check_key": keys.health_check,
        "redis_settings": redis_settings,
        "max_jobs": r.worker_max_jobs,
        "poll_delay": r.worker_poll_delay_s,  # bounds time-to-first-event (an idle poll is one ZRANGEBYSCORE)
        "job_timeout": r.job_timeout_s,
        "keep_result": 60,
        "allow_abort_jobs": True,
        "retry_jobs": True,  # a job cancelled by shutdown is re-queued (and resumed)
        "job_completion_wait": r.worker_shutdown_grace_s,  # SIGTERM: let runs finish, then hand back
        "health_check_interval": 30,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "ctx": {"settings": settings},
        "log_results": False,
        "worker_class": ResilientWorker,
    }


class ResilientWorker(Worker):
    """arq's Worker, but a Redis outage pauses it instead of killing it (and leaking job slots).

    arq's poll loop lets a connection error escape (the process would exit, abandoning the
    runs in flight); here the poll is retried with backoff while running jobs carry on.
    """

    _redis_backoff = 0.0

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except UNAVAILABLE as exc:
            self._redis_backoff = min(max(self._redis_backoff * 2, 0.1), 2.0)
            log.warning("Redis unreachable (%s); worker polling again in %.1fs", type(exc).__name__, self._redis_backoff)
            await asyncio.sleep(self._redis_backoff)
        else:
            self._redis_backoff = 0.0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's start_jobs, with two changes.

        - Jobs already running (here or on another worker) stay in the queue until they finish,
          and arq tries to claim each of them on every poll (a WATCH/EXISTS/ZSCORE round trip
          per job): with hundreds of runs in flight a new job waited behind all of them. Here
          one pipelined EXISTS per poll filters them out first, so pickup stays O(1) round trips.
        - The job slot is released when Redis fails mid-claim (arq leaks it).
        """
        ids = [j.decode() for j in job_ids]
        ids = [j for j in ids if j not in self.tasks]
        if not ids:
            return
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(in_progress_key_prefix + job_id)
            busy = await pipe.execute()
        for job_id, running in zip(ids, busy, strict=True):
            if running:
                continue
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                return
            self.job_counter += 1
            try:
                started = await self._claim_job(job_id)
            except BaseException:
                self.job_counter -= 1
                self.sem.release()
                raise
            if not started:
                self.job_counter -= 1
                self.sem.release()

    async def _claim_job(self, job_id: str) -> bool:
        from arq.utils import timestamp_ms
        from redis.exceptions import ResponseError, WatchError

        in_progress_key = in_progress_key_prefix + job_id
        async with self.pool.pipeline(transaction=True) as pipe:
            await pipe.watch(in_progress_key)
            ongoing_exists = await pipe.exists(in_progress_key)
            score = await pipe.zscore(self.queue_name, job_id)
            if ongoing_exists or not score or score > timestamp_ms():
                return False  # started elsewhere, finished, or deferred
            pipe.multi()
            pipe.psetex(in_progress_key, int(self.in_progress_timeout_s * 1000), b"1")
            try:
                await pipe.execute()
            except (ResponseError, WatchError):
                return False
        task = self.loop.create_task(self.run_job(job_id, int(score)))
        task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        self.tasks[job_id] = task
        return True

    async def close(self) -> None:
        try:
            await super().close()
        except UNAVAILABLE as exc:  # Redis gone at shutdown: nothing left to tidy there
            log.warning("worker closed without reaching Redis (%s)", type(exc).__name__)


def build_worker(settings: Settings | None = None, **overrides: Any) -> ResilientWorker:
    options = {**worker_settings(settings or get_settings()), **overrides}
    options.pop("worker_class", None)
    return ResilientWorker(**options)


def run_worker(settings: Settings | None = None, **overrides: Any) -> None:
    """Run a worker until SIGTERM/SIGINT (what ``pilot worker`` calls)."""
    build_worker(settings, **overrides).run()


def __getattr__(name: str) -> Any:
    # ``python -m arq pilot.background.worker.WorkerSettings``: built from the environment on use,
    # so importing this module (e.g. for the job names) never reads settings.
    if name == "WorkerSettings":
        options = worker_settings(get_settings())
        options.pop("worker_class", None)
        return options
    raise AttributeError(name)


__all__ = ["build_worker", "run_execution", "run_worker", "sweep_stale_executions", "worker_settings"]
