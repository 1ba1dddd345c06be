"""Fixtures shared by the run tests over a real socket (test_runs, test_runs_reliability, test_sse)."""

from __future__ import annotations

import pytest

from tests.support.runs import RunClient
from tests.support.scripted import scripted_tool


@pytest.fixture
async def rc(live_server):
    """A RunClient on the live server, bound to a fresh workspace key."""
    client = RunClient(live_server.url, await live_server.new_key())
    yield client
    await client.aclose()


@pytest.fixture
def probe():
    """The scripted tool's call recorder, installed for the test's duration."""
    with scripted_tool() as scripted:
        yield scripted
