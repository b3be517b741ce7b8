"""Swagger UI at /docs and ReDoc at /redoc, with their scripts and styles served by the service itself.

FastAPI's own pages load them from a public CDN, which a ministry's separated network (망분리)
cannot reach. The files come from the `fastapi-offline` package (swagger-ui-dist and redoc's
standalone bundle, pinned by uv.lock) and are served at /docs/assets/.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from mpe_kit.errors import Problem

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
# The pages' own origin only: ReDoc's sidebar still shows its vendor's logo from a CDN, which the
# browser then never asks for. FastAPI's pages start the UIs with an inline script, and ReDoc
# runs its search in a worker made from a blob.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def _same_origin(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def install(app: FastAPI, *, docs_url: str | None, redoc_url: str | None) -> None:
    """Add the self-hosted API documentation pages that are asked for (None leaves one out)."""
    if docs_url is None and redoc_url is None:
        return
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{ASSETS_PATH}/favicon.png"

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in FILES:
            raise Problem("Not Found", status=404, ko="그런 파일은 없습니다.")
        return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})

    if docs_url is not None:
        oauth2_redirect_url = f"{docs_url}/oauth2-redirect"

        @app.get(docs_url, include_in_schema=False)
        async def swagger_ui() -> HTMLResponse:
            return _same_origin(
                get_swagger_ui_html(
                    openapi_url=openapi_url,
                    title=f"{app.title} - Swagger UI",
                    oauth2_redirect_url=oauth2_redirect_url,
                    swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                    swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                    swagger_favicon_url=favicon,
                )
            )

        @app.get(oauth2_redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    if redoc_url is not None:

        @app.get(redoc_url, include_in_schema=False)
        async def redoc() -> HTMLResponse:
            return _same_origin(
                get_redoc_html(
                    openapi_url=openapi_url,
                    title=f"{app.title} - ReDoc",
                    redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
                    redoc_favicon_url=favicon,
                    with_google_fonts=False,
                )
            )
