"""Browser tests of the /panel page: Playwright (Python) driving Debian's Chromium.

The browser is the system package (``/usr/bin/chromium``, or ``PILOT_CHROMIUM``), launched with
``executable_path`` — never a Playwright browser download. Without it the tests skip with the
reason, except in CI (``CI`` or ``PILOT_REQUIRE_BROWSER`` set), where they fail: ``.ci/run``
installs it and sets ``PILOT_REQUIRE_BROWSER``.

One browser and one server for the whole session: the app (embedded SQLite, offline planner and
LLM) on uvicorn over a real socket, reached through a TCP proxy that can cut every connection
(a network drop). Screenshots go to ``artifacts/panel/`` (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from pilot.app import create_app
from tests.conftest import build_settings
from tests.support.servers import free_port, serve_in_thread
from tests.support.tcp_proxy import TcpProxy

CHROMIUM = os.environ.get("PILOT_CHROMIUM", "/usr/bin/chromium")


@dataclass
class PanelServer:
    app: object
    proxy: TcpProxy
    key: str

    @property
    def url(self) -> str:
        """The API and the page, through the proxy (what the browser talks to)."""
        return f"http://127.0.0.1:{self.proxy.port}"

    @property
    def other_origin(self) -> str:
        """The same server under another origin (``localhost``), allowed by PILOT_CORS_ORIGINS."""
        return f"http://localhost:{self.proxy.port}"

    def llm_delay(self, seconds: float) -> None:
        """Pause the offline LLM between stream deltas, so a run streams long enough to watch."""
        self.app.state.runtime.engine_services.llm.delay_s = seconds


@pytest.fixture(scope="session")
def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (what .ci/run does) or set PILOT_CHROMIUM"
        if os.environ.get("CI") or os.environ.get("PILOT_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def panel_server(tmp_path_factory) -> Iterator[PanelServer]:
    data_dir = tmp_path_factory.mktemp("panel") / ".pilot"
    port = free_port()
    with TcpProxy(port).running() as proxy:
        settings = build_settings(data_dir, PILOT_CORS_ORIGINS=f"http://localhost:{proxy.port}")
        app = create_app(settings)
        with serve_in_thread(app, port=port):
            # The embedded first start made the workspace `local` and saved its dev key: the key
            # a user pastes into the page.
            yield PanelServer(app=app, proxy=proxy, key=(data_dir / "dev-key").read_text().strip())


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        yield browser
        await browser.close()


@pytest.fixture
def artifacts(request) -> Path:
    path = request.config.rootpath / "artifacts" / "panel"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def new_page(browser: Browser, panel_server: PanelServer) -> AsyncIterator:
    """``await new_page(locale)``: a fresh browser context (own sessionStorage) and page; page
    errors fail the test."""
    contexts = []
    errors: list[str] = []

    async def make(locale: str = "en-US") -> Page:
        context = await browser.new_context(locale=locale, viewport={"width": 1920, "height": 900})
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    panel_server.llm_delay(0.0)
    for context in contexts:
        await context.close()
    assert not errors, errors
