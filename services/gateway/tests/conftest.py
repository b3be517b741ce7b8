"""Gateway fixtures: the read model on a fresh database, filled through the projection handlers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from graphql import DocumentNode, print_ast
from hypothesis import HealthCheck, settings
from pydantic import BaseModel

from gateway import store
from gateway.app import all_migrations, create_app
from gateway.partners import keys
from gateway.projector.handlers import HANDLERS, record_positions
from gateway.read.compiled import CompiledQuery, Declined, compile_operation, inspect_operation
from gateway.read.compiled.core import Document
from gateway.settings import GatewaySettings
from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_events.envelope import Envelope
from mpe_events.registry import (
    DESIGNATION_EVENTS,
    EVENT_TYPES,
    FIRM_REGISTERED,
    FISCAL_YEAR_SET,
    INDUSTRY_CREATED,
    PROGRAM_CREATED,
    PROGRAM_UPDATED,
    PROJECT_DISBURSED,
    PROJECT_EVENTS,
    TECHNOLOGY_LISTED,
)
from mpe_events.registry import source as event_source
from mpe_kit import db, migrations
from mpe_kit.consumer import Event

from .demo_events import demo_events


def event(event_type: str, data: BaseModel, subject: str) -> Event:
    """A consumed event as the runner would hand it to a handler."""
    env = Envelope(
        id=uuid.uuid4(),
        source=event_source(event_type.split(".")[2]),
        type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
    )
    return Event(env, data, EVENT_TYPES[event_type].topic.name, 0, 0)


def technology(code: str, version: int = 1, **fields: object) -> ev.TechnologyV1:
    base: dict[str, object] = {
        "code": code,
        "industry_code": "SEMI",
        "kind": "material",
        "name_en": f"Tech {code}",
        "name_ko": f"기술 {code}",
        "description": "",
        "status": "listed",
        "listed_on": date(2020, 4, 1),
        "retired_on": None,
        "version": version,
        "revision_id": uuid.uuid4(),
    }
    return ev.TechnologyV1.model_validate({**base, **fields})


def brn(n: int) -> str:
    """A valid BRN (check digit included) from a number of up to nine digits."""
    first = f"{n:09d}"
    digits = [int(c) for c in first]
    total = sum(d * w for d, w in zip(digits, (1, 3, 7, 1, 3, 7, 1, 3, 5), strict=True)) + digits[8] * 5 // 10
    return first + str((10 - total % 10) % 10)


def firm(number: str, version: int = 1, **fields: object) -> fev.FirmV1:
    base: dict[str, object] = {
        "brn": number,
        "brn_display": f"{number[:3]}-{number[3:5]}-{number[5:]}",
        "name_en": f"Firm {number}",
        "name_ko": f"기업 {number}",
        "size": "sme",
        "size_since": date(2020, 1, 1),
        "region": "Gyeonggi",
        "mpe_sales_ratio": 0.7,
        "technology_codes": ["SEMI-004"],
        "confirmations": [
            {"technology_code": "SEMI-004", "issued_on": date(2020, 6, 1), "valid_until": date(2023, 6, 1)}
        ],
        "version": version,
    }
    return fev.FirmV1.model_validate({**base, **fields})


TERM_YEARS = {"leading": 5, "specialized": 3}


def designation(
    id: uuid.UUID,
    number: str,
    *moves: tuple[str, date],
    kind: str = "leading",
    cohort: int | None = 1,
    codes: tuple[str, ...] = ("SEMI-004",),
    applied_on: date = date(2020, 10, 1),
    reason: str | None = None,
) -> fev.DesignationV1:
    """A designation applied for on `applied_on`, then moved (status, effective day) in order.

    Its version is the number of moves made, applying included, as the firms service counts it.
    """
    history = [
        fev.TransitionV1(
            from_status=None,
            to_status="applied",
            at=datetime.combine(applied_on, datetime.min.time(), UTC),
            effective_on=applied_on,
            actor="staff@motie.go.kr",
            reason=None,
        )
    ]
    status, designated_on, valid_until = "applied", None, None
    for to, on in moves:
        history.append(
            fev.TransitionV1(
                from_status=status,  # type: ignore[arg-type]
                to_status=to,  # type: ignore[arg-type]
                at=datetime.combine(on, datetime.min.time(), UTC),
                effective_on=on,
                actor="staff@motie.go.kr",
                reason=reason if to in ("rejected", "revoked") else None,
            )
        )
        status = to
        if to == "designated":
            designated_on, valid_until = on, on.replace(year=on.year + TERM_YEARS[kind])
    return fev.DesignationV1.model_validate(
        {
            "id": id,
            "brn": number,
            "kind": kind,
            "cohort": cohort if kind == "leading" else None,
            "technology_codes": list(codes),
            "status": status,
            "applied_on": applied_on,
            "designated_on": designated_on,
            "valid_until": valid_until,
            "history": history,
            "version": len(history),
        }
    )


def firm_event(data: fev.FirmV1, event_type: str = FIRM_REGISTERED.type) -> Event:
    return event(event_type, data, data.brn)


def designation_event(data: fev.DesignationV1) -> Event:
    return event(DESIGNATION_EVENTS[data.status].type, data, str(data.id))


def fiscal_year_event(year: int, envelope_krw: int, version: int = 1) -> Event:
    data = bev.FiscalYearV1(year=year, envelope_krw=envelope_krw, version=version)
    return event(FISCAL_YEAR_SET.type, data, str(year))


def program(code: str, version: int = 1, **fields: object) -> bev.ProgramV1:
    base: dict[str, object] = {
        "code": code,
        "fiscal_year": 2023,
        "name_en": f"Program {code}",
        "name_ko": f"사업 {code}",
        "kind": "rnd",
        "track": None,
        "budget_krw": 1_000_000_000,
        "themes": [],
        "version": version,
    }
    return bev.ProgramV1.model_validate({**base, **fields})


def program_event(data: bev.ProgramV1, event_type: str = PROGRAM_CREATED.type) -> Event:
    return event(event_type, data, data.code)


def project(code: str, version: int = 1, **fields: object) -> bev.ProjectV1:
    base: dict[str, object] = {
        "code": code,
        "program_code": "MP-2023",
        "fiscal_year": 2023,
        "title": f"Project {code}",
        "kind": "new",
        "continues": None,
        "technology_codes": ["SEMI-004"],
        "lead_firm_brn": None,
        "government_krw": 1_000_000_000,
        "private_cash_krw": 150_000_000,
        "private_in_kind_krw": 100_000_000,
        "start_on": date(2023, 4, 1),
        "end_on": date(2023, 12, 31),
        "status": "proposed",
        "committed_krw": 0,
        "disbursed_krw": 0,
        "version": version,
    }
    return bev.ProjectV1.model_validate({**base, **fields})


def project_event(data: bev.ProjectV1, event_type: str | None = None) -> Event:
    """The event of a project's move to its status (or another type, such as disbursed)."""
    return event(event_type or PROJECT_EVENTS[data.status].type, data, data.code)


def gateway_migrations_before(version: int) -> list[migrations.Migration]:
    """Every migration but the gateway's from `version` on: a database as it stood before that one."""
    return [m for m in all_migrations() if not (m.namespace == "gateway" and m.version >= version)]


@pytest.fixture
async def gateway_db(migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]]) -> str:
    dsn = await migrated_database("gateway", all_migrations())
    return dsn


@pytest.fixture
async def conn(gateway_db: str) -> AsyncIterator[db.Conn]:
    c = await db.connect(gateway_db)
    yield c
    await c.close()


async def apply(conn: db.Conn, *events: Event) -> None:
    """Apply events through the real handlers."""
    for e in events:
        async with conn.transaction():
            await HANDLERS[e.envelope.type](conn, e)


async def batch(conn: db.Conn, *events: Event) -> None:
    """Apply events as one projector batch: one transaction, positions and the notification included."""
    async with conn.transaction():
        for e in events:
            async with conn.transaction():
                await HANDLERS[e.envelope.type](conn, e)
        await record_positions(conn, list(events), [])


# Random sequences of statements against the read model's triggers (test_technology_links.py,
# test_year_sums.py): each example on the one database of its test, a few seconds at most.
STATEMENT_SEQUENCES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Statements on projects that both trigger families' random sequences run, each with one argument.
PROJECT_STATEMENTS = {
    "delete": "delete from projects where code = any($1::text[])",
    # Many rows at once, some of them unchanged.
    "move year": "update projects set fiscal_year = $1 where code < 'P-3'",
    "pay": (
        "update projects set disbursed_krw = disbursed_krw + 11, committed_krw = committed_krw + 11"
        " where code = $1"
    ),
    # A code dropped from every row that has it: a project's primary technology may change or go.
    "recode": "update projects set technology_codes = array_remove(technology_codes, $1)",
}


async def row_set(conn: db.Conn, sql: str) -> set[tuple[Any, ...]]:
    """The rows of `sql` as a set of tuples."""
    return {tuple(r) for r in await conn.fetch(sql)}


async def rows_read(conn: db.Conn, table: str) -> int:
    """How many rows of `table` the current transaction has read, by scans and by index."""
    return int(
        await conn.fetchval(
            "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) from pg_stat_xact_user_tables"
            " where relname = $1",
            table,
        )
    )


async def write_concurrently(dsn: str, sql: str, first: list[Any], second: list[Any]) -> None:
    """`sql` with the arguments `first`, then `second`, in two open transactions: the second must wait for the first."""
    one, two = await db.connect(dsn), await db.connect(dsn)
    try:
        t1 = one.transaction()
        await t1.start()
        await one.execute(sql, *first)
        t2 = two.transaction()
        await t2.start()
        waiting = asyncio.create_task(two.execute(sql, *second))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # on a row the first one holds
        await t1.commit()
        await waiting
        await t2.commit()
    finally:
        await one.close()
        await two.close()


@pytest.fixture
async def seeded(conn: db.Conn) -> None:
    """Two industries and 25 technologies, three of them retired in 2022."""
    await apply(
        conn,
        event(
            INDUSTRY_CREATED.type,
            ev.IndustryV1(code="SEMI", name_en="Semiconductors", name_ko="반도체", version=1),
            "SEMI",
        ),
        event(
            INDUSTRY_CREATED.type,
            ev.IndustryV1(code="DISP", name_en="Display", name_ko="디스플레이", version=1),
            "DISP",
        ),
    )
    for i in range(1, 26):
        code = f"SEMI-{i:03d}"
        fields: dict[str, object] = {}
        if i <= 3:
            fields = {"status": "retired", "retired_on": date(2022, 10, 18), "version": 2}
        if i == 25:
            fields = {
                "industry_code": "DISP",
                "kind": "part",
                "name_en": "OLED encapsulation film",
                "name_ko": "OLED 봉지 필름",
            }
        await apply(conn, event(TECHNOLOGY_LISTED.type, technology(code, **fields), code))  # type: ignore[arg-type]


@dataclass
class Running:
    """The gateway app (no projector) while its lifespan runs, and the ASGI app to call."""

    app: FastAPI
    asgi: object


@pytest.fixture(params=[True, False], ids=["compiled", "resolved"])
async def gateway_app(gateway_db: str, request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """Every GraphQL test runs twice: answered by compiled SQL where it can, and by strawberry."""
    # No key cache: tests revoke keys and count statements request by request.
    settings = GatewaySettings(
        database_url=gateway_db,
        log_json=False,
        kafka_bootstrap="127.0.0.1:1",
        key_cache_ttl_s=0,
        compiled_queries=request.param,
    )
    app = create_app(settings, with_workers=False)
    async with LifespanManager(app) as manager:
        yield Running(app, manager.app)


@pytest.fixture
async def gateway(gateway_app: Running) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """A factory of clients of the gateway (no projector), each with a key of the given scopes."""
    clients: list[httpx.AsyncClient] = []

    def make(secret: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app.asgi),  # type: ignore[arg-type]
            base_url="http://gateway",
            headers={"X-API-Key": secret},
        )
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.aclose()


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a query; the HTTP status is 200 whatever GraphQL errors the body carries.

    Every answer carries `extensions.dataAsOf` (tested on its own); the rest is returned.
    """
    r = await client.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "dataAsOf" in body.pop("extensions"), body
    return body


async def new_key(conn: db.Conn, *scopes: str) -> keys.IssuedKey:
    return await keys.create(conn, agency="KIAT", scopes=list(scopes))


async def hub_caught_up(app: FastAPI, conn: db.Conn, timeout_s: float = 5) -> None:
    """Wait until the app's change hub has heard of every change committed so far.

    The response cache follows the hub's watermark, which learns of each projected change by
    NOTIFY a moment after its commit; a test that reads right after writing waits for that.
    """
    target = await store.changes.changes_watermark(conn)
    hub = app.state.gateway.changes
    async with asyncio.timeout(timeout_s):
        while hub.watermark < target:
            await hub.wait_beyond(hub.watermark)


# The compiled path's dataset: every status, edge and gap the two engines must agree on.

ALL = frozenset({"catalog:read", "firms:read", "firms:financials", "budget:read"})
MAX_PAGE = 100
F1, F2, F3, F4, F5, F6 = (brn(n) for n in (101, 202, 303, 404, 505, 606))
GHOST = brn(999)  # a lead firm whose event has not arrived


@pytest.fixture
async def model(conn: db.Conn, seeded: None) -> None:
    """Firms with designations of every status, programs and projects over three fiscal years.

    SEMI-020 … SEMI-024 have no project at all; SEMI-010 belongs to an industry whose event has
    not arrived; firm F6 has no ratio, F5 a ratio of exactly 1 and F4 of 0.
    """
    await apply(
        conn,
        event(TECHNOLOGY_LISTED.type, technology("SEMI-010", industry_code="AUTO", version=2), "SEMI-010"),
        event(
            INDUSTRY_CREATED.type,
            ev.IndustryV1(code="BATT", name_en="Batteries", name_ko="이차전지", version=1),
            "BATT",
        ),
    )
    firms = [
        firm(F1, technology_codes=["SEMI-001", "SEMI-004", "SEMI-005"], size="large", mpe_sales_ratio=0.84),
        firm(F2, technology_codes=["SEMI-004"], size="mid", region="충남", name_ko="주식회사 가람케미칼"),
        firm(F3, technology_codes=["SEMI-005", "SEMI-025", "NOPE-001"], mpe_sales_ratio=0.5),
        firm(F4, technology_codes=["SEMI-004", "SEMI-006"], mpe_sales_ratio=0.0),
        firm(F5, technology_codes=["SEMI-006"], mpe_sales_ratio=1.0, name_en='Quote " and \\ back'),
        firm(F6, technology_codes=[], mpe_sales_ratio=None),
    ]
    await apply(conn, *(firm_event(f) for f in firms))
    d = uuid.UUID
    designations = [
        designation(
            d(int=1),
            F1,
            ("under_review", date(2020, 11, 2)),
            ("designated", date(2021, 1, 15)),
            codes=("SEMI-004", "SEMI-005"),
        ),
        designation(d(int=2), F2, ("under_review", date(2020, 11, 2)), codes=("SEMI-004",), cohort=2),
        designation(d(int=3), F2, kind="specialized", codes=("SEMI-004",), applied_on=date(2021, 3, 1)),
        designation(
            d(int=4),
            F3,
            ("under_review", date(2020, 11, 2)),
            ("rejected", date(2020, 12, 1)),
            reason="Not enough sales.",
        ),
        designation(d(int=5), F4, ("withdrawn", date(2020, 10, 20)), codes=("SEMI-006",)),
        designation(
            d(int=6),
            F4,
            ("under_review", date(2021, 2, 1)),
            ("designated", date(2021, 3, 1)),
            ("revoked", date(2022, 5, 1)),
            codes=("SEMI-004", "SEMI-006"),
            applied_on=date(2021, 1, 5),
            reason="Falsified application.",
        ),
        designation(
            d(int=7),
            F5,
            ("under_review", date(2017, 11, 1)),
            ("designated", date(2018, 1, 2)),
            ("expired", date(2021, 1, 2)),
            kind="specialized",
            codes=("SEMI-006",),
            applied_on=date(2017, 10, 1),
        ),
        designation(
            d(int=8),
            F3,
            ("under_review", date(2021, 2, 1)),
            ("designated", date(2021, 6, 1)),
            codes=("SEMI-005",),
            cohort=3,
            applied_on=date(2021, 1, 5),
        ),
    ]
    await apply(conn, *(designation_event(x) for x in designations))
    await apply(
        conn,
        fiscal_year_event(2023, 937_560_000_000),
        fiscal_year_event(2024, 1_000_000_000_000),
        program_event(program("MP-2022", fiscal_year=2022, track="supply-chain")),
        program_event(program("MP-2023", track="supply-chain", budget_krw=50_000_000_000)),
        program_event(program("MP-2023B", track="new-industry", kind="other")),
        program_event(
            program(
                "MP-ALC",
                kind="alchemist",
                themes=[
                    {
                        "code": "T1",
                        "title": "Room-temperature superconductors",
                        "stages": [
                            {"stage": "concept", "teams": 6},
                            {"stage": "preliminary", "teams": 3},
                            {"stage": "main", "teams": 1},
                        ],
                    },
                    {"code": "T2", "title": "Quantum dots", "stages": [{"stage": "concept", "teams": 4}]},
                ],
                version=2,
            ),
            PROGRAM_UPDATED.type,
        ),
        program_event(program("MP-2024", fiscal_year=2024)),
    )
    selected = {"status": "selected", "committed_krw": 1_000_000_000}
    projects = [
        project(
            "P22-001",
            program_code="MP-2022",
            fiscal_year=2022,
            technology_codes=["SEMI-004"],
            lead_firm_brn=F1,
            status="completed",
            committed_krw=1_000_000_000,
            disbursed_krw=1_000_000_000,
            version=5,
        ),
        project(
            "P23-001", technology_codes=["SEMI-004", "SEMI-005"], lead_firm_brn=F1, **selected, version=2
        ),
        project(
            "P23-002",
            technology_codes=["SEMI-005"],
            lead_firm_brn=F3,
            status="active",
            committed_krw=700_000_000,
            disbursed_krw=250_000_000,
            kind="continuing",
            continues="P22-001",
            version=4,
        ),
        project("P23-003", technology_codes=["SEMI-006", "SEMI-004"], program_code="MP-2023B", version=1),
        project(
            "P23-004",
            technology_codes=["SEMI-010"],
            program_code="MP-2023B",
            lead_firm_brn=GHOST,
            status="terminated",
            committed_krw=300_000_000,
            disbursed_krw=300_000_000,
            version=4,
        ),
        project(
            "P23-005", technology_codes=["SEMI-025"], program_code="MP-ALC", status="terminated", version=3
        ),
        project("P23-006", technology_codes=["GONE-001"], program_code="MP-LATE", **selected, version=2),
        project(
            "P23-007",
            technology_codes=[],
            program_code="MP-2023",
            lead_firm_brn=F5,
            status="agreement_signed",
            committed_krw=2_000_000_000,
            version=3,
        ),
        project(
            "P24-001",
            program_code="MP-2024",
            fiscal_year=2024,
            technology_codes=["SEMI-004", "SEMI-001"],
            lead_firm_brn=F1,
            **selected,
            version=2,
        ),
    ]
    await apply(conn, *(project_event(p) for p in projects))
    paid = project(
        "P23-001", status="active", committed_krw=1_000_000_000, disbursed_krw=400_000_000, version=4
    )
    await apply(conn, project_event(paid, PROJECT_DISBURSED.type))


@pytest.fixture
async def pool(gateway_db: str, model: None) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(gateway_db, min_size=1, max_size=4)
    yield p
    await p.close()


# As the /graphql stage keeps them per app: each text's operation inspected once, compiled per call.
_OPERATIONS: dict[tuple[str, str | None], Document | Declined] = {}


def compile_query(
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    *,
    scopes: frozenset[str],
    max_page: int,
) -> CompiledQuery | Declined:
    """The operation as one statement, or why the compiler declines it."""
    key = (print_ast(document), operation_name)
    if key not in _OPERATIONS:
        _OPERATIONS[key] = inspect_operation(document, operation_name)
    return compile_operation(_OPERATIONS[key], variables, scopes=scopes, max_page=max_page)


@pytest.fixture
async def demo_partner(
    conn: db.Conn, gateway_app: Running, gateway: Callable[..., httpx.AsyncClient]
) -> httpx.AsyncClient:
    """The whole demo (deploy/demo/), projected through the real handlers in one transaction, and a
    client with a key of every scope once the gateway has caught up with it."""
    async with conn.transaction():
        for e in demo_events():
            await HANDLERS[e.envelope.type](conn, e)
    key = await new_key(conn, *keys.SCOPES)
    await hub_caught_up(gateway_app.app, conn)
    return gateway(key.secret)
