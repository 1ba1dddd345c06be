"""``/panel``: the reference panel page — plain HTML, CSS and JavaScript modules shipped inside
the package (``pilot/panel/static``), so it works offline with no build step and no CDN.

The page itself needs no authentication (it asks for the API key and keeps it in the tab's
sessionStorage); every API call it makes sends the key. Because it holds a key, it is served with
a strict Content-Security-Policy: scripts and styles only from the page's own origin (no inline
code), so text coming from workflows or models can never run as script. ``connect-src`` allows
other origins because the page may talk to an API elsewhere (``/panel?api=https://…``, CORS).
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response
from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router

from pilot.auth.roles import PUBLIC

STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def panel_router() -> Router:
    """``GET /panel`` (index.html) and ``GET /panel/<file>``; revalidated on every load so a
    deploy never leaves a browser on stale modules."""
    return create_static_files_router(
        path="/panel", directories=[STATIC_DIR], html_mode=True, name="panel", include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True), after_request=_secure,
        opt=PUBLIC,  # static files; the page asks for credentials itself (pilot.auth.roles)
    )
