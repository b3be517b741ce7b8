"""Firms fixtures: the app on a fresh database whose technology replica is pre-filled."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from firms.app import all_migrations, create_app
from firms.settings import FirmsSettings
from mpe_devstack.ports import free_port
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import migrations
from mpe_kit.auth import issue_token
from mpe_kit.db import Pool, connect
from mpe_replicas.technology import CatalogReader

SECRET = "firms-test-secret-of-32-bytes-or-more"

# Technologies the replica knows: listed ones, and one retired.
LISTED = ["SEMI-001", "SEMI-002", "DISP-001", "AUTO-001"]
RETIRED = ["SEMI-099"]


def token(*roles: str, sub: str = "tester") -> str:
    """A staff token signed with the test secret."""
    return issue_token(SECRET, sub=sub, roles=list(roles))


def valid_brn(first_nine: str) -> str:
    """A BRN with the right check digit."""
    from firms.domain import brn_check_digit

    return first_nine + str(brn_check_digit(first_nine))


@pytest.fixture
async def firms_settings(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]], topic_prefix: str
) -> FirmsSettings:
    dsn = await migrated_database("firms", all_migrations())
    conn = await connect(dsn)
    try:
        for code in LISTED:
            await conn.execute(
                "insert into technology_replica (code, status, listed_on, version) values ($1, 'listed', $2, 1)",
                code,
                date(2020, 4, 1),
            )
        for code in RETIRED:
            await conn.execute(
                "insert into technology_replica (code, status, listed_on, retired_on, version)"
                " values ($1, 'retired', $2, $3, 2)",
                code,
                date(2020, 4, 1),
                date(2022, 10, 18),
            )
    finally:
        await conn.close()
    return FirmsSettings(
        database_url=dsn,
        jwt_secret=SECRET,  # type: ignore[arg-type]
        topic_prefix=topic_prefix,
        kafka_bootstrap="127.0.0.1:1",  # REST tests run without the relay
        # No catalog listens here: a replica miss must fail as "unreachable", never pass.
        catalog_url=f"http://127.0.0.1:{free_port()}",
        log_json=False,
    )


@pytest.fixture
async def firms(firms_settings: FirmsSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the firms API (no workers), authenticated as an editor."""
    app = create_app(firms_settings, with_workers=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://firms",
            headers={"Authorization": f"Bearer {token('editor')}"},
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


# Shared helpers of the firms tests.

PROBLEM_JSON = "application/problem+json"
# The day the tests pin as "today" (Seoul); every effective date is on or before it.
TODAY = date(2024, 6, 3)


def firm_body(brn: str, **fields: Any) -> dict[str, Any]:
    """A valid registration of a firm."""
    return {
        "brn": brn,
        "name_en": f"Firm {brn}",
        "name_ko": f"기업 {brn}",
        "size": "sme",
        "size_since": "2020-01-01",
        "region": "Gyeonggi",
        "mpe_sales_ratio": 0.6,
        "technology_codes": ["SEMI-001"],
        **fields,
    }


def assert_problem(resp: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """An RFC 9457 answer with `status`, a detail, and an error naming each of `fields`."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body.get("detail")
    named = [e["field"] for e in body.get("errors") or []]
    for field in fields:
        assert any(field in n for n in named), f"no error names {field!r}: {body}"
    return body


async def snapshot(conn: asyncpg.Connection) -> dict[str, Any]:
    """Everything a request could change."""
    return {
        "firms": [dict(r) for r in await conn.fetch("select * from firms order by brn")],
        "confirmations": [dict(r) for r in await conn.fetch("select * from confirmations order by id")],
        "designations": [dict(r) for r in await conn.fetch("select * from designations order by id")],
        "replica": [dict(r) for r in await conn.fetch("select * from technology_replica order by code")],
        "outbox": await conn.fetchval("select count(*) from outbox"),
    }


async def rejected(
    conn: asyncpg.Connection, request: Awaitable[httpx.Response], status: int, *fields: str
) -> dict[str, Any]:
    """Send `request`, expect a problem, and check that nothing changed."""
    before = await snapshot(conn)
    body = assert_problem(await request, status, *fields)
    assert await snapshot(conn) == before, "a rejected request changed the database"
    return body


async def outbox_since(conn: asyncpg.Connection, count: int) -> list[asyncpg.Record]:
    """Outbox rows written after the first `count`, in write order."""
    return await conn.fetch(
        "select topic, key, type, source, subject, payload from outbox order by seq offset $1", count
    )


@pytest.fixture
async def api(firms: httpx.AsyncClient) -> httpx.AsyncClient:
    """The `firms` client with the app's clock pinned to TODAY."""
    firms.app.state.clock = lambda: TODAY  # type: ignore[attr-defined]
    return firms


@pytest.fixture
async def db(firms_settings: FirmsSettings) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the firms database (migrated, replica filled)."""
    conn = await connect(firms_settings.database_dsn())
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def pool(api: httpx.AsyncClient) -> Pool:
    """The running app's pool, for calling use cases such as the expiry task directly."""
    p: Pool = api.app.state.pool  # type: ignore[attr-defined]
    return p


@dataclass
class StubCatalog:
    """A stand-in for the catalog's technology endpoint over real HTTP: code -> (status, body)."""

    url: str
    technologies: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    answer_status: int | None = None
    requests: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture
async def stub_catalog(api: httpx.AsyncClient) -> AsyncIterator[StubCatalog]:
    """Serve a stub of GET /v1/technologies/{code} with uvicorn, and point the firms app at it."""
    stub = StubCatalog(url="")
    app = FastAPI()

    @app.get("/v1/technologies/{code}")
    async def technology(code: str, request: Request) -> JSONResponse:
        stub.requests.append(f"{code} {request.headers.get('authorization', '')}")
        if stub.answer_status is not None:
            return JSONResponse({"detail": "stubbed failure"}, status_code=stub.answer_status)
        if code not in stub.technologies:
            return JSONResponse({"detail": f"{code} does not exist"}, status_code=404)
        return JSONResponse(stub.technologies[code])

    async with uvicorn_serving(app) as stub.url:
        api.app.state.catalog_reader = CatalogReader(base_url=stub.url, token="service-token")  # type: ignore[attr-defined]
        yield stub


def catalog_technology(code: str, *, status: str = "listed", version: int = 1) -> dict[str, Any]:
    """The catalog's answer for one technology, as far as the read-through reads it."""
    return {
        "code": code,
        "status": status,
        "listed_on": "2022-10-18",
        "retired_on": "2024-04-03" if status == "retired" else None,
        "version": version,
    }
