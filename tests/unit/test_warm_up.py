"""What a cold start leaves for later: the template library is loaded by the warm-up once the
server answers (or by the first request that needs it), the chat service on first use, the MCP
session manager by the first /mcp request. Each must still work — and fail — as if it had been
built at start-up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from pilot.mcp import workflow_tools
from pilot.mcp.server import LazySessionManager
from pilot.runtime import Runtime
from pilot.startup import warm_up
from pilot.templates.catalog import TemplateLoadError, package_templates_dir
from tests.conftest import build_settings

GOOD = (package_templates_dir() / "translation.yaml").read_text(encoding="utf-8")


async def _runtime(tmp_path: Path, templates: Path) -> Runtime:
    return Runtime.build(build_settings(tmp_path / ".pilot", PILOT_TEMPLATES_DIR=str(templates)))


async def test_warm_up_loads_the_runtimes_own_library_once(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "translation.yaml").write_text(GOOD, encoding="utf-8")
    runtime = await _runtime(tmp_path, library)
    try:
        assert vars(runtime)["_templates"] is None  # nothing loaded by building the runtime
        await warm_up(runtime, delay_s=0)
        loaded = vars(runtime)["_templates"]
        assert loaded.ids() == ["translation"]  # the configured directory, not the repo's library
        assert runtime.templates is loaded
        assert runtime.chat is runtime.chat  # one ChatService per runtime, built on first read
    finally:
        await runtime.aclose()


async def test_a_broken_library_is_logged_by_the_warm_up_and_raised_to_its_users(tmp_path: Path, caplog) -> None:
    library = tmp_path / "broken"
    library.mkdir()
    (library / "translation.yaml").write_text(GOOD.replace("id: translation", "id: [not, a, string]"), encoding="utf-8")
    runtime = await _runtime(tmp_path, library)
    try:
        with caplog.at_level(logging.ERROR, logger="pilot"):
            await warm_up(runtime, delay_s=0)  # does not raise: the server keeps serving
        assert "template file translation.yaml" in caplog.text
        with pytest.raises(TemplateLoadError, match="template file translation.yaml"):
            runtime.templates  # every request that needs the library gets the error, naming the file
    finally:
        await runtime.aclose()


async def test_concurrent_first_mcp_requests_share_one_session_manager() -> None:
    lazy = LazySessionManager(1_000_000)
    managers = await asyncio.gather(*(lazy.get() for _ in range(5)))
    assert all(m is managers[0] for m in managers)
    assert await lazy.get() is managers[0]
    await lazy.aclose()
    assert lazy._task is not None and lazy._task.done()


async def test_a_failed_mcp_start_fails_its_requests_and_the_next_request_starts_it_again(monkeypatch) -> None:
    real = workflow_tools.session_manager
    calls = []

    def flaky(max_body_bytes: int):
        calls.append(max_body_bytes)
        if len(calls) == 1:
            raise RuntimeError("no manager this time")
        return real(max_body_bytes)

    monkeypatch.setattr(workflow_tools, "session_manager", flaky)
    lazy = LazySessionManager(1234)
    results = await asyncio.gather(lazy.get(), lazy.get(), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]  # both waiters, one attempt
    manager = await lazy.get()
    assert calls == [1234, 1234] and manager is await lazy.get()
    await lazy.aclose()
