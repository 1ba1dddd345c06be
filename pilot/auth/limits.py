"""Brute-force protection of ``POST /api/auth/login``.

Failed logins are counted per account (the e-mail address as typed, lower-cased — whether or
not such an account exists, so the answer says nothing about existence) and per client IP, in
fixed windows of ``PILOT_LOGIN_WINDOW_S`` (15 min) that start at the first failure. Once a
count reaches its limit (``PILOT_LOGIN_MAX_FAILURES_ACCOUNT``, 5; ``PILOT_LOGIN_MAX_FAILURES_IP``,
20) every login attempt on it answers 429 with ``Retry-After`` (the rest of the window) — a
correct password included — without checking the password. A successful login clears the
account's count (not the IP's).

With ``REDIS_URL`` the counts live in Redis (``INCR`` + ``EXPIRE``), shared by every API
process; otherwise in this process's memory (the embedded single-process default).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Protocol

from pilot.core.errors import TooManyRequestsError
from pilot.settings import Settings


class LoginLimiter(Protocol):
    async def check(self, email: str, ip: str) -> None:
        """Raise 429 when the account or the IP has used up its failures."""

    async def failed(self, email: str, ip: str) -> None:
        """Count one failed attempt against both."""

    async def succeeded(self, email: str) -> None:
        """Forget the account's failures."""


def _account(email: str) -> str:
    return "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class _Limits:
    def __init__(self, settings: Settings) -> None:
        auth = settings.auth
        self.window_s = auth.login_window_s
        self.max_account = auth.login_max_failures_account
        self.max_ip = auth.login_max_failures_ip

    def refuse(self, what: str, retry_after: float) -> TooManyRequestsError:
        return TooManyRequestsError(
            f"too many failed logins for this {what}: try again in {max(1, round(retry_after))} s",
            retry_after=max(1.0, retry_after),
        )


class MemoryLoginLimiter(_Limits):
    """Counts in this process (``key → (failures, window end)``); expired windows are dropped."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(settings)
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}

    def _get(self, key: str) -> tuple[int, float]:
        count, until = self._counts.get(key, (0, 0.0))
        if until <= self._clock():
            self._counts.pop(key, None)
            return 0, 0.0
        return count, until

    async def check(self, email: str, ip: str) -> None:
        for key, limit, what in ((_account(email), self.max_account, "account"), ("ip:" + ip, self.max_ip, "address")):
            count, until = self._get(key)
            if count >= limit:
                raise self.refuse(what, until - self._clock())

    async def failed(self, email: str, ip: str) -> None:
        now = self._clock()
        if len(self._counts) > 100_000:  # bounded: drop finished windows first
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        for key in (_account(email), "ip:" + ip):
            count, until = self._get(key)
            self._counts[key] = (count + 1, until or now + self.window_s)

    async def succeeded(self, email: str) -> None:
        self._counts.pop(_account(email), None)


class RedisLoginLimiter(_Limits):
    """Counts in Redis, shared by every process using it."""

    def __init__(self, settings: Settings, redis) -> None:
        super().__init__(settings)
        self._redis = redis
        self._prefix = f"{settings.redis.key_prefix}:login:"

    async def check(self, email: str, ip: str) -> None:
        keys = [self._prefix + _account(email), self._prefix + "ip:" + ip]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
                pipe.pttl(key)
            acct, acct_ttl, by_ip, ip_ttl = await pipe.execute()
        for raw, ttl, limit, what in ((acct, acct_ttl, self.max_account, "account"), (by_ip, ip_ttl, self.max_ip, "address")):
            if raw is not None and int(raw) >= limit:
                raise self.refuse(what, (ttl if ttl and ttl > 0 else self.window_s * 1000) / 1000)

    async def failed(self, email: str, ip: str) -> None:
        window_ms = int(self.window_s * 1000)
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in (self._prefix + _account(email), self._prefix + "ip:" + ip):
                pipe.incr(key)
                pipe.pexpire(key, window_ms, nx=True)  # the window starts at the first failure
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(self._prefix + _account(email))


def login_limiter(runtime) -> LoginLimiter:
    """The limiter of a runtime: Redis-backed when it has Redis, else in memory."""
    if runtime.redis is not None:
        return RedisLoginLimiter(runtime.settings, runtime.redis)
    return MemoryLoginLimiter(runtime.settings)
