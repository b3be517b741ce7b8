"""Gateway fixtures: the read model on a fresh database, filled through the projection handlers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway import keys
from gateway.app import all_migrations, create_app
from gateway.projections import HANDLERS
from gateway.settings import GatewaySettings
from mpe_events import catalog as ev
from mpe_events.envelope import Envelope
from mpe_events.registry import EVENT_TYPES, INDUSTRY_CREATED, TECHNOLOGY_LISTED
from mpe_kit import db, migrations
from mpe_kit.consumer import Event


def event(event_type: str, data: ev.IndustryV1 | ev.TechnologyV1 | ev.RevisionV1, subject: str) -> Event:
    """A consumed event as the runner would hand it to a handler."""
    env = Envelope(
        id=uuid.uuid4(),
        source="/mpe/catalog",
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


@pytest.fixture
async def gateway_db(new_database: Callable[[str], str]) -> str:
    dsn = new_database("gateway")
    await migrations.migrate(dsn, all_migrations())
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


@pytest.fixture
async def gateway(gateway_db: str) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """A factory of clients of the gateway (no projector), each with a key of the given scopes."""
    settings = GatewaySettings(database_url=gateway_db, log_json=False, kafka_bootstrap="127.0.0.1:1")
    app = create_app(settings, with_workers=False)
    async with LifespanManager(app) as manager:
        clients: list[httpx.AsyncClient] = []

        def make(secret: str) -> httpx.AsyncClient:
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://gateway",
                headers={"X-API-Key": secret},
            )
            clients.append(client)
            return client

        yield make
        for c in clients:
            await c.aclose()


async def new_key(conn: db.Conn, *scopes: str) -> keys.IssuedKey:
    return await keys.create(conn, agency="KIAT", scopes=list(scopes))
