"""The partner portal's routes (gateway.portal) and what the explorer setting changes.

The browser test (tests/test_portal_browser.py) runs the built pages themselves; here a small
site in a temporary directory stands in for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.portal import CSP, portal_router
from gateway.settings import GatewaySettings
from mpe_kit import db, problems

from .conftest import new_key
from .test_access import serving

INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built portal in miniature, with a secret beside it that no route may reach."""
    (tmp_path / "docs" / "reference").mkdir(parents=True)
    (tmp_path / "docs" / "index.html").write_text("<h1>docs</h1>")
    (tmp_path / "docs" / "reference" / "index.html").write_text("<h1>reference</h1>")
    (tmp_path / "docs" / "docs.css").write_text("body {}")
    (tmp_path / "explorer").mkdir()
    (tmp_path / "explorer" / "index.html").write_text("<div id=root></div>")
    (tmp_path / "secret.txt").write_text("not for the web")
    return tmp_path


async def _client(dist: Path, *, graphiql: bool) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI(docs_url=None, redoc_url=None)
    problems.install(app)
    app.include_router(portal_router(GatewaySettings(graphiql=graphiql), dist))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as c:
        yield c


@pytest.fixture
async def portal(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The portal's routes with the explorer on."""
    async for c in _client(dist, graphiql=True):
        yield c


async def test_the_docs_and_the_explorer_are_served_with_a_same_origin_policy(
    portal: httpx.AsyncClient,
) -> None:
    for path, body in [
        ("/docs/", "<h1>docs</h1>"),
        ("/docs/reference/", "<h1>reference</h1>"),
        ("/docs/docs.css", "body {}"),
        ("/explorer/", "<div id=root></div>"),
    ]:
        r = await portal.get(path)
        assert r.status_code == 200, path
        assert r.text == body
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in CSP
    assert "connect-src 'self'" in CSP
    assert "script-src 'self';" in CSP + ";"  # no inline or remote scripts


async def test_the_bare_paths_redirect_to_the_pages(portal: httpx.AsyncClient) -> None:
    assert (await portal.get("/docs")).headers["location"] == "/docs/"
    assert (await portal.get("/explorer")).headers["location"] == "/explorer/"
    # Found by a review: /docs/reference answered its index.html, whose relative stylesheet and
    # script then resolved under /docs/ and were not found.
    r = await portal.get("/docs/reference")
    assert (r.status_code, r.headers["location"]) == (307, "/docs/reference/")


async def test_the_pages_are_revalidated_so_an_upgrade_is_never_stale(portal: httpx.AsyncClient) -> None:
    r = await portal.get("/docs/docs.css")
    assert r.headers["cache-control"] == "no-cache"
    assert "etag" in r.headers


@pytest.mark.parametrize("path", ["/docs/missing.html", "/docs/../secret.txt", "/docs/%2e%2e/secret.txt"])
async def test_nothing_outside_the_built_pages_is_served(portal: httpx.AsyncClient, path: str) -> None:
    r = await portal.get(path)
    assert r.status_code == 404
    assert "not for the web" not in r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_the_explorer_is_off_unless_the_setting_is_on(dist: Path) -> None:
    async for c in _client(dist, graphiql=False):
        assert (await c.get("/explorer/")).status_code == 404
        assert (await c.get("/docs/")).status_code == 200


async def test_with_the_explorer_on_introspection_answers_a_valid_key_only(
    conn: db.Conn, gateway_db: str
) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, graphiql=True) as served:
        on = await served.query(key.secret, INTROSPECTION)
        nobody = await served.query(None, INTROSPECTION)
        wrong = await served.query("mpe_" + "x" * 43, INTROSPECTION)
        page = await served.client.get("/graphql", headers={"accept": "text/html"})
    assert on.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert nobody.status_code == wrong.status_code == 401
    # A browser opening /graphql is sent to the explorer.
    assert page.status_code == 307
    assert page.headers["location"] == "/explorer/"


async def test_with_the_explorer_off_introspection_stays_off(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        off = await served.query(key.secret, INTROSPECTION)
        page = await served.client.get("/graphql", headers={"accept": "text/html"})
        explorer = await served.client.get("/explorer/")
    assert off.json()["errors"][0]["extensions"] == {"code": "INTROSPECTION_DISABLED"}
    assert page.status_code == explorer.status_code == 404


async def test_the_gateway_serves_no_swagger_ui(conn: db.Conn, gateway_db: str) -> None:
    async with serving(gateway_db) as served:
        r = await served.client.get("/redoc")
        assets = await served.client.get("/docs/assets/swagger-ui-bundle.js")
    assert r.status_code == assets.status_code == 404
