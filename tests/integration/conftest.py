"""Fixtures shared by the run tests over a real socket (test_runs, test_runs_reliability, test_sse)."""

from __future__ import annotations

import pytest

from tests.support.scripted import scripted_tool


@pytest.fixture
def probe():
    """The scripted tool's call recorder, installed for the test's duration."""
    with scripted_tool() as scripted:
        yield scripted
