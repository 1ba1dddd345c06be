"""/panel is served from the package without a key and with a strict CSP; CORS
(PILOT_CORS_ORIGINS) lets a frontend on another origin call the API with its bearer key, resume
streams with Last-Event-ID and read a chat reply's X-Message-Id. (The page itself is tested in a
browser: tests/browser.)"""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.panel.controllers import STATIC_DIR

FRONTEND = "https://panel.example.com"


async def test_panel_files_and_cors(make_settings) -> None:
    async with AsyncTestClient(app=create_app(make_settings(PILOT_CORS_ORIGINS=FRONTEND))) as client:
        page = await client.get("/panel")  # no Authorization: the page asks for the key itself
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.text == (STATIC_DIR / "index.html").read_text()
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        for name in ("main.js", "api.js", "graph.js", "run.js", "i18n.js"):
            module = await client.get(f"/panel/{name}")
            assert module.status_code == 200 and "javascript" in module.headers["content-type"], name
        assert (await client.get("/panel/settings.py")).status_code == 404
        assert "/panel" not in (await client.get("/schema/openapi.json")).json()["paths"]

        preflight = await client.options("/api/executions/exe_x/stream", headers={
            "Origin": FRONTEND, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, last-event-id"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "last-event-id"} <= allowed

        answer = await client.get("/api/workflows", headers={"Origin": FRONTEND})
        assert answer.status_code == 401  # CORS opens the door to the browser, not to the data
        assert answer.headers["access-control-allow-origin"] == FRONTEND
        assert "x-message-id" in answer.headers["access-control-expose-headers"].lower()

        stranger = await client.get("/api/workflows", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
