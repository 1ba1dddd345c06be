"""Brute-force protection of POST /api/auth/login (pilot.auth.limits): per account and per client
address, 429 with Retry-After through the error tree; shared through Redis by several processes."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from pilot.app import create_app
from pilot.auth.limits import RedisLoginLimiter
from pilot.core.errors import TooManyRequestsError
from pilot.settings import Settings
from tests.support.identity import PASSWORD, make_user, make_workspace, unique_email


async def _attempt(client, email: str, password: str):
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_an_account_is_locked_after_its_failures_even_for_the_right_password(make_settings):
    app = create_app(make_settings(PILOT_LOGIN_MAX_FAILURES_ACCOUNT="3", PILOT_LOGIN_MAX_FAILURES_IP="100"))
    async with AsyncTestClient(app=app) as client:
        _, email = await make_user(app, await make_workspace(app))
        _, other = await make_user(app, await make_workspace(app))
        for _ in range(3):
            assert (await _attempt(client, email, "wrong password")).status_code == 401
        locked = await _attempt(client, email, PASSWORD)
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 900
        body = locked.json()
        assert body["status_code"] == 429 and "account" in body["detail"] and body["extra"]["retry_after_s"] > 0
        assert (await _attempt(client, email.upper(), PASSWORD)).status_code == 429  # the same account
        assert (await _attempt(client, other, PASSWORD)).status_code == 200  # others are unaffected
        # A success clears the account's count: two failures, a success, two more failures are fine.
        for _ in range(2):
            assert (await _attempt(client, other, "wrong password")).status_code == 401
        assert (await _attempt(client, other, PASSWORD)).status_code == 200
        for _ in range(2):
            assert (await _attempt(client, other, "wrong password")).status_code == 401
        assert (await _attempt(client, other, PASSWORD)).status_code == 200


async def test_an_address_is_limited_across_accounts(make_settings):
    app = create_app(make_settings(PILOT_LOGIN_MAX_FAILURES_ACCOUNT="5", PILOT_LOGIN_MAX_FAILURES_IP="4"))
    async with AsyncTestClient(app=app) as client:
        _, email = await make_user(app, await make_workspace(app))
        for _ in range(4):  # unknown accounts count against the address too
            assert (await _attempt(client, unique_email("guess"), "guess")).status_code == 401
        refused = await _attempt(client, email, PASSWORD)
        assert refused.status_code == 429 and "address" in refused.json()["detail"] and "retry-after" in refused.headers


@pytest.mark.redis
async def test_with_redis_the_counts_are_shared_by_every_process():
    """Two limiters on one Redis (two API processes): failures seen by either count for both."""
    settings = Settings.from_env({"PILOT_LOGIN_MAX_FAILURES_ACCOUNT": "3", "PILOT_LOGIN_WINDOW_S": "60",
                                  "PILOT_REDIS_PREFIX": f"pilot-test-{uuid.uuid4().hex[:8]}"})
    redis = Redis.from_url("redis://127.0.0.1:6379/13")
    try:
        first, second = RedisLoginLimiter(settings, redis), RedisLoginLimiter(settings, redis)
        await first.failed("ada@example.test", "10.0.0.1")
        await second.failed("ADA@example.test", "10.0.0.2")
        await first.check("ada@example.test", "10.0.0.3")  # 2 < 3: still allowed
        await second.failed("ada@example.test", "10.0.0.2")
        with pytest.raises(TooManyRequestsError) as refused:
            await first.check("ada@example.test", "10.0.0.9")
        assert 1 <= refused.value.retry_after <= 60
        await second.succeeded("ada@example.test")
        await first.check("ada@example.test", "10.0.0.9")
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{settings.redis.key_prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
