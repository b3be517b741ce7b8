"""Budget fixtures: the app on a fresh database whose replicas are pre-filled."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
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

from budget.app import all_migrations, create_app
from budget.settings import BudgetSettings
from mpe_devstack.ports import free_port
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import migrations
from mpe_kit.auth import issue_token
from mpe_kit.db import connect as db_connect
from mpe_kit.readthrough import OwnerReader
from mpe_replicas.technology import CatalogReader

SECRET = "budget-test-secret-of-32-bytes-or-more"

LISTED = ["SEMI-001", "SEMI-002", "DISP-001", "AUTO-001"]
RETIRED = ["SEMI-099"]
# BRN -> size class, in the firm replica.
FIRMS = {"1000000014": "large", "1000000028": "mid", "1000000033": "sme"}
REGIONS = {"1000000014": "서울", "1000000028": "경기", "1000000033": "충남"}


def token(*roles: str, sub: str = "tester") -> str:
    """A staff token signed with the test secret."""
    return issue_token(SECRET, sub=sub, roles=list(roles))


@pytest.fixture
async def budget_settings(new_database: Callable[[str], str], topic_prefix: str) -> BudgetSettings:
    dsn = new_database("budget")
    await migrations.migrate(dsn, all_migrations())
    conn = await db_connect(dsn)
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
        for brn, size in FIRMS.items():
            await conn.execute(
                "insert into firm_replica (brn, size, size_since, region, version) values ($1, $2, $3, $4, 1)",
                brn,
                size,
                date(2020, 1, 1),
                REGIONS[brn],
            )
    finally:
        await conn.close()
    unreachable = f"http://127.0.0.1:{free_port()}"
    return BudgetSettings(
        database_url=dsn,
        jwt_secret=SECRET,  # type: ignore[arg-type]
        topic_prefix=topic_prefix,
        kafka_bootstrap="127.0.0.1:1",  # REST tests run without the relay
        catalog_url=unreachable,
        firms_url=unreachable,
        log_json=False,
    )


@pytest.fixture
async def budget(budget_settings: BudgetSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the budget API (no workers), authenticated as an editor."""
    app = create_app(budget_settings, with_workers=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://budget",
            headers={"Authorization": f"Bearer {token('editor')}"},
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


# helpers shared by the budget tests

PROBLEM_JSON = "application/problem+json"
# Business tables, in a stable order; replicas and idempotency keys are compared where it matters.
TABLES = {
    "fiscal_years": "year",
    "programs": "code",
    "projects": "code",
    "disbursements": "id",
}


def client_for(app: Any, **headers: str) -> httpx.AsyncClient:
    """Another client of the same running app; a server error comes back as the client sees it."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://budget", headers=headers)


def assert_problem(resp: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """An RFC 9457 answer with `status`, a detail, and an error naming each of `fields`."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_JSON), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body.get("detail")
    named = [e["field"] for e in body.get("errors") or []]
    for field in fields:
        assert any(field in n for n in named), f"no error names {field!r}: {body}"
    return body


async def snapshot(db: asyncpg.Connection, *, replicas: bool = True) -> dict[str, Any]:
    """Everything a request could change (idempotency keys aside: a refusal is remembered)."""
    snap: dict[str, Any] = {
        name: [dict(r) for r in await db.fetch(f"select * from {name} order by {key}")]
        for name, key in TABLES.items()
    }
    if replicas:
        snap["firm_replica"] = [dict(r) for r in await db.fetch("select * from firm_replica order by brn")]
        snap["technology_replica"] = [
            dict(r) for r in await db.fetch("select * from technology_replica order by code")
        ]
    snap["outbox"] = await db.fetchval("select count(*) from outbox")
    return snap


async def rejected(
    db: asyncpg.Connection,
    request: Awaitable[httpx.Response],
    status: int,
    *fields: str,
    replicas: bool = True,
) -> dict[str, Any]:
    """Send `request`, expect a problem, and check that nothing changed."""
    before = await snapshot(db, replicas=replicas)
    body = assert_problem(await request, status, *fields)
    assert await snapshot(db, replicas=replicas) == before, "a rejected request changed the database"
    return body


async def outbox_since(db: asyncpg.Connection, count: int) -> list[asyncpg.Record]:
    """Outbox rows written after the first `count`, in write order."""
    return await db.fetch(
        "select topic, key, type, source, subject, payload from outbox order by seq offset $1", count
    )


async def ok(request: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    """The JSON body of an answer with `status`."""
    resp = await request
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def set_year(client: httpx.AsyncClient, year: int, envelope: int) -> dict[str, Any]:
    """PUT a fiscal year's envelope; asserts it was accepted."""
    return await ok(client.put(f"/v1/fiscal-years/{year}", json={"envelope_krw": envelope}))


async def get_year(client: httpx.AsyncClient, year: int) -> dict[str, Any]:
    return await ok(client.get(f"/v1/fiscal-years/{year}"))


def program_body(code: str, **overrides: Any) -> dict[str, Any]:
    """A program of 2023 (override anything)."""
    return {
        "code": code,
        "fiscal_year": 2023,
        "name_en": f"Program {code}",
        "name_ko": f"사업 {code}",
        "kind": "rnd",
        "budget_krw": 1_000_000_000,
        **overrides,
    }


async def add_program(client: httpx.AsyncClient, code: str, **overrides: Any) -> dict[str, Any]:
    """Create a program; asserts it was accepted."""
    return await ok(client.post("/v1/programs", json=program_body(code, **overrides)), 201)


def project_body(code: str, program: str = "RND", **overrides: Any) -> dict[str, Any]:
    """A new institute-led project (no lead firm, so no cost-share cap) of `program`."""
    return {
        "code": code,
        "program_code": program,
        "title": f"Project {code}",
        "kind": "new",
        "technology_codes": ["SEMI-001"],
        "government_krw": 100_000_000,
        "start_on": "2023-04-01",
        "end_on": "2025-12-31",
        **overrides,
    }


async def add_project(
    client: httpx.AsyncClient, code: str, program: str = "RND", **overrides: Any
) -> dict[str, Any]:
    """Propose a project; asserts it was accepted."""
    return await ok(client.post("/v1/projects", json=project_body(code, program, **overrides)), 201)


async def move(
    client: httpx.AsyncClient, code: str, *steps: str, reason: str | None = None
) -> dict[str, Any]:
    """Move a project through `steps`; asserts each was accepted; returns the last answer."""
    body: dict[str, Any] = {}
    for to in steps:
        payload: dict[str, Any] = {"to": to, **({"reason": reason} if reason else {})}
        body = await ok(client.post(f"/v1/projects/{code}/transitions", json=payload))
    return body


def pay(
    client: httpx.AsyncClient, code: str, amount: int, *, key: str | None = None, paid_on: str = "2023-06-01"
) -> Awaitable[httpx.Response]:
    """POST a disbursement with a fresh Idempotency-Key (or the given one)."""
    return client.post(
        f"/v1/projects/{code}/disbursements",
        json={"amount_krw": amount, "paid_on": paid_on},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


@pytest.fixture
async def db(budget_settings: BudgetSettings) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the budget database (migrated, replicas filled)."""
    conn = await db_connect(budget_settings.database_dsn())
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def viewer(budget: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app with a viewer token."""
    async with client_for(budget.app, Authorization=f"Bearer {token('viewer')}") as client:  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def funded(budget: httpx.AsyncClient) -> httpx.AsyncClient:
    """The `budget` client, with 2023's envelope at ₩10bn and program RND (₩1bn) in it."""
    await set_year(budget, 2023, 10_000_000_000)
    await add_program(budget, "RND")
    return budget


@dataclass
class StubOwners:
    """Stand-ins for the catalog's and the firms service's read endpoints, over real HTTP."""

    url: str
    technologies: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    firms: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    answer_status: int | None = None
    requests: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture
async def owners(budget: httpx.AsyncClient) -> AsyncIterator[StubOwners]:
    """Serve stubs of GET /v1/technologies/{code} and GET /v1/firms/{brn}; point the app at them."""
    stub = StubOwners(url="")
    app = FastAPI()

    def answer(kind: str, key: str, found: dict[str, Any] | None, request: Request) -> JSONResponse:
        stub.requests.append(f"{kind} {key} {request.headers.get('authorization', '')}")
        if stub.answer_status is not None:
            return JSONResponse({"detail": "stubbed failure"}, status_code=stub.answer_status)
        if found is None:
            return JSONResponse({"detail": f"{key} does not exist"}, status_code=404)
        return JSONResponse(found)

    @app.get("/v1/technologies/{code}")
    async def technology(code: str, request: Request) -> JSONResponse:
        return answer("technology", code, stub.technologies.get(code), request)

    @app.get("/v1/firms/{brn}")
    async def firm(brn: str, request: Request) -> JSONResponse:
        return answer("firm", brn, stub.firms.get(brn), request)

    async with uvicorn_serving(app) as stub.url:
        state = budget.app.state  # type: ignore[attr-defined]
        state.catalog_reader = CatalogReader(base_url=stub.url, token="service-token")
        state.firms_reader = OwnerReader(owner="firms", base_url=stub.url, token="service-token")
        yield stub


@pytest.fixture
async def locker(budget_settings: BudgetSettings) -> AsyncIterator[asyncpg.Connection]:
    """Another connection, to hold row locks while a request is in flight."""
    conn = await db_connect(budget_settings.database_dsn())
    try:
        yield conn
    finally:
        await conn.close()


async def wait_until_blocked(db: asyncpg.Connection, key: str) -> None:
    """Until the request holding `key` has claimed it and waits on a row lock."""
    async with asyncio.timeout(10):
        while True:
            # The request takes its key's lock first, so once it waits on the row it holds the key.
            waiting = await db.fetchval(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and wait_event_type = 'Lock' and query ilike '%for update%'"
            )
            if waiting:
                return
            await asyncio.sleep(0.02)
