"""The partner portal: the GraphiQL explorer at /explorer/ and the documentation at /docs/.

Both are static files built from npm packages pinned in `services/gateway/portal/package-lock.json`
(`make docs`, which bootstrap runs), so a partner on a closed network (망분리) needs nothing but
this gateway: every page carries a Content-Security-Policy that lets the browser load and
connect to this origin only. The pages hold no data; the explorer's requests carry the
partner's key like any client's, and the documentation is public.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from gateway.settings import GatewaySettings
from mpe_kit.errors import Problem

EXPLORER_PATH = "/explorer/"
DOCS_PATH = "/docs/"

# 'self' only; inline styles are allowed because React and GraphiQL set style attributes, which
# load nothing. connect-src 'self' covers the graphql-ws socket on the same host and port.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # The files keep their names across releases: a browser asks again each time (a 304 while
    # unchanged, by the ETag), so an upgraded gateway never serves yesterday's explorer.
    "Cache-Control": "no-cache",
}


def _file(root: Path, path: str, prefix: str) -> Response:
    """A built file under `root`, or 404; a directory answers with its index.html.

    A directory asked without its trailing slash is redirected to it: its page's relative links
    (stylesheets, scripts) resolve against the URL, and would miss without it.
    """
    base = root.resolve()
    target = (base / path).resolve()
    if target.is_dir():
        if path and not path.endswith("/") and target.is_relative_to(base):
            return RedirectResponse(f"{prefix}{path}/")
        target = target / "index.html"
    if not target.is_relative_to(base) or not target.is_file():
        raise Problem("Not Found", status=404, ko="그런 경로는 없습니다.")
    return FileResponse(target, headers=HEADERS)


def portal_router(settings: GatewaySettings, dist: Path | None = None) -> APIRouter:
    """The explorer's routes (only where `GATEWAY_GRAPHIQL` is on) and the documentation's."""
    # Unset, the documentation answers 404 and the explorer is not served: nothing to serve.
    dist = dist or settings.portal_dir or Path("/nonexistent")
    router = APIRouter(include_in_schema=False)

    @router.get(DOCS_PATH.rstrip("/"))
    async def docs_root() -> RedirectResponse:
        return RedirectResponse(DOCS_PATH)

    @router.get(DOCS_PATH + "{path:path}")
    async def docs(path: str) -> Response:
        return _file(dist / "docs", path, DOCS_PATH)

    if settings.graphiql:

        @router.get(EXPLORER_PATH.rstrip("/"))
        async def explorer_root() -> RedirectResponse:
            return RedirectResponse(EXPLORER_PATH)

        @router.get(EXPLORER_PATH + "{path:path}")
        async def explorer(path: str) -> Response:
            return _file(dist / "explorer", path, EXPLORER_PATH)

    return router
