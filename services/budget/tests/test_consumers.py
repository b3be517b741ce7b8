"""The firm replica: a firm's events set the size class that caps its projects; the newest wins."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg
import httpx

from budget.consumers import HANDLERS
from mpe_events import firms as ev
from mpe_events.envelope import Envelope
from mpe_events.registry import FIRM_REGISTERED, FIRM_UPDATED
from mpe_kit.consumer import Event

from .conftest import add_project, project_body, rejected

BRN = "1000000033"  # an SME in the replica at version 1


def firm_event(event_type: str, *, size: str, version: int, brn: str = BRN) -> Event:
    data = ev.FirmV1(
        brn=brn,
        brn_display=f"{brn[:3]}-{brn[3:5]}-{brn[5:]}",
        name_en="Firm",
        name_ko="기업",
        size=size,  # type: ignore[arg-type]
        size_since=date(2024, 1, 1),
        region="Seoul",
        mpe_sales_ratio=0.6,
        technology_codes=["SEMI-001"],
        confirmations=[],
        version=version,
    )
    envelope = Envelope(
        id=uuid.uuid4(),
        source="/mpe/firms",
        type=event_type,
        subject=brn,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
    )
    return Event(envelope=envelope, data=data, topic="mpe.firms.firm", partition=0, offset=version)


async def apply(db: asyncpg.Connection, event: Event) -> None:
    async with db.transaction():
        await HANDLERS[event.envelope.type](db, event)


async def test_a_firm_that_grew_gets_the_lower_cap(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    sme_terms = {"lead_firm_brn": BRN, "government_krw": 750, "private_cash_krw": 250}
    await add_project(funded, "P-1", **sme_terms)
    await apply(db, firm_event(FIRM_UPDATED.type, size="large", version=2))
    await rejected(
        db, funded.post("/v1/projects", json=project_body("P-2", **sme_terms)), 422, "government_krw"
    )
    await add_project(funded, "P-2", lead_firm_brn=BRN, government_krw=500, private_cash_krw=500)


async def test_an_older_or_repeated_event_changes_nothing(db: asyncpg.Connection) -> None:
    await apply(db, firm_event(FIRM_UPDATED.type, size="mid", version=3))
    await apply(db, firm_event(FIRM_UPDATED.type, size="large", version=2))
    await apply(db, firm_event(FIRM_UPDATED.type, size="large", version=3))
    row = await db.fetchrow("select size, version from firm_replica where brn = $1", BRN)
    assert (row["size"], row["version"]) == ("mid", 3)


async def test_a_new_firm_arrives_with_its_registration(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    brn = "2000000008"
    await apply(db, firm_event(FIRM_REGISTERED.type, size="mid", version=1, brn=brn))
    # Known locally now: no read-through (the firms service is unreachable here), and the mid cap.
    await add_project(funded, "P-1", lead_firm_brn=brn, government_krw=700, private_cash_krw=300)
    await rejected(
        db,
        funded.post(
            "/v1/projects",
            json=project_body("P-2", lead_firm_brn=brn, government_krw=701, private_cash_krw=300),
        ),
        422,
        "government_krw",
    )
