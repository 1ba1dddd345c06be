"""Every Redis key and channel πlot uses, in one place, all under ``settings.redis.key_prefix``.

Two processes agree on a key only through this module, so a typo cannot silently split a
stream in two. arq's own per-job keys (``arq:job:<id>``, ``arq:in-progress:<id>``, …) are fixed
by arq; job ids are execution ids (``exe_<uuid>``), which keeps them unique across prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)


@dataclass(frozen=True)
class RedisKeys:
    """Key names for one deployment (``prefix`` = ``settings.redis.key_prefix``)."""

    prefix: str

    # ---- event streams (RedisStreamBus)
    def stream(self, stream_id: str) -> str:
        """The Redis Stream holding a run's (or chat turn's) events; entry id = ``<seq>-0``."""
        return f"{self.prefix}:stream:{stream_id}"

    def stream_closed(self, stream_id: str) -> str:
        """Set (with the stream's TTL) once a stream has ended, so late subscribers stop waiting."""
        return f"{self.prefix}:stream-closed:{stream_id}"

    def stream_owner(self, stream_id: str) -> str:
        """The lease token of the writer that took the stream over last; a publish under any other
        token is refused (absent: nobody took it over, its first writer publishes freely). No TTL
        while the stream is open — a stalled writer may wake up at any time — and the stream's TTL
        once it is closed (:meth:`pilot.background.redis_bus.RedisStreamBus.close_stream`)."""
        return f"{self.prefix}:stream-owner:{stream_id}"

    # ---- background runs (arq)
    @property
    def queue(self) -> str:
        """The arq queue (a sorted set) background runs are enqueued on."""
        return f"{self.prefix}:queue"

    @property
    def health_check(self) -> str:
        return f"{self.prefix}:queue:health-check"

    def worker(self, host: str, pid: int) -> str:
        """Set by a worker once it is ready to take jobs, removed when it stops (ops visibility)."""
        return f"{self.prefix}:worker:{host}:{pid}"

    @property
    def cancel_channel(self) -> str:
        """Pub/sub channel: message = execution id whose cancellation was requested."""
        return f"{self.prefix}:cancel"

    @property
    def cache_channel(self) -> str:
        """Pub/sub channel: message = the tables a committed transaction changed, so every other
        process empties its caches of them (:mod:`pilot.background.invalidation`)."""
        return f"{self.prefix}:cache-invalidate"

    def cancel_flag(self, execution_id: str) -> str:
        """A short-lived flag mirroring ``executions.cancel_requested`` (cheap to check from Redis)."""
        return f"{self.prefix}:cancel:{execution_id}"

    # ---- arq's fixed per-job keys (job id = execution id)
    @staticmethod
    def arq_job(job_id: str) -> str:
        return job_key_prefix + job_id

    @staticmethod
    def arq_in_progress(job_id: str) -> str:
        return in_progress_key_prefix + job_id

    @staticmethod
    def arq_retry(job_id: str) -> str:
        return retry_key_prefix + job_id

    @staticmethod
    def arq_result(job_id: str) -> str:
        return result_key_prefix + job_id

    @staticmethod
    def arq_abort() -> str:
        return abort_jobs_ss
