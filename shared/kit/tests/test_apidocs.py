"""The write services' Swagger UI and ReDoc pages load their scripts from the service, not a CDN."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mpe_kit.service import ServiceSpec, create_app
from mpe_kit.settings import ServiceSettings


async def _client(**fastapi_kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    spec = ServiceSpec(
        name="demo",
        title="demo service",
        migrations=list,
        routers=list,
        has_outbox=False,
        staff_auth=False,
        fastapi_kwargs=lambda _s: fastapi_kwargs,
    )
    app = create_app(spec, ServiceSettings(), with_workers=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        yield c


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A service built by the kit with its default pages."""
    async for c in _client():
        yield c


def _loaded(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: '([^']+)'", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_page_loads_its_assets_from_the_service_only(client: httpx.AsyncClient, page: str) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    # Whatever a bundled script still asks of another origin, the browser does not send.
    assert r.headers["content-security-policy"].startswith("default-src 'self';")
    assert "img-src 'self' data:" in r.headers["content-security-policy"]
    loaded = _loaded(r.text)
    assert loaded
    assert not [u for u in loaded if not u.startswith("/")], loaded
    assert "fonts.googleapis" not in r.text
    for url in loaded:
        if url.startswith("/docs/assets/"):
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000


async def test_swagger_ui_has_its_oauth2_redirect_and_no_other_assets(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
    unknown = await client.get("/docs/assets/secret.py")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_a_service_may_turn_the_pages_off() -> None:
    async for c in _client(docs_url=None, redoc_url=None):
        assert (await c.get("/docs")).status_code == 404
        assert (await c.get("/redoc")).status_code == 404
        assert (await c.get("/docs/assets/swagger-ui.css")).status_code == 404
