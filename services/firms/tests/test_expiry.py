"""The expiry task: designated designations whose period has ended become expired, once each."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from firms import service
from mpe_kit.db import Pool

from .conftest import TODAY, firm_body, valid_brn

EXPIRED = "kr.mpe.firms.designation.expired.v1"


def brn(n: int) -> str:
    return valid_brn(f"{n:09d}")


async def designation(
    api: httpx.AsyncClient, n: int, *, kind: str = "specialized", on: date, steps: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Register firm `n`, apply on `on` and make the moves `steps` on that day."""
    resp = await api.post("/v1/firms", json=firm_body(brn(n)))
    assert resp.status_code == 201, resp.text
    if kind == "leading":
        resp = await api.post(
            f"/v1/firms/{brn(n)}/confirmations",
            json={"technology_code": "SEMI-001", "issued_on": "2019-01-01", "valid_until": "2024-01-01"},
        )
        assert resp.status_code == 201, resp.text
    resp = await api.post(
        f"/v1/firms/{brn(n)}/designations",
        json={"kind": kind, "technology_codes": ["SEMI-001"], "effective_on": on.isoformat()},
    )
    assert resp.status_code == 201, resp.text
    d: dict[str, Any] = resp.json()
    for step in steps:
        payload = {"to": step, "effective_on": on.isoformat(), "reason": "for the test"}
        resp = await api.post(f"/v1/designations/{d['id']}/transitions", json=payload)
        assert resp.status_code == 200, resp.text
        d = resp.json()
    return d


DESIGNATE = ("under_review", "designated")


async def expired_events(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch("select key, subject, payload from outbox where type = $1 order by seq", EXPIRED)


async def test_expires_only_designated_ones_whose_period_has_ended(
    api: httpx.AsyncClient, db: asyncpg.Connection, pool: Pool
) -> None:
    ends_today = await designation(api, 1, on=date(2021, 6, 3), steps=DESIGNATE)  # until 2024-06-03
    ended = await designation(api, 2, on=date(2021, 6, 2), steps=DESIGNATE)  # until 2024-06-02
    leading = await designation(
        api, 3, kind="leading", on=date(2019, 6, 3), steps=DESIGNATE
    )  # until 2024-06-03
    ends_tomorrow = await designation(api, 4, on=date(2021, 6, 4), steps=DESIGNATE)  # until 2024-06-04
    revoked = await designation(api, 5, on=date(2020, 1, 2), steps=(*DESIGNATE, "revoked"))
    applied = await designation(api, 6, on=date(2020, 1, 2))
    under_review = await designation(api, 7, on=date(2020, 1, 2), steps=("under_review",))
    assert ends_today["valid_until"] == TODAY.isoformat()
    assert leading["valid_until"] == TODAY.isoformat()
    before = await db.fetchval("select count(*) from outbox")

    assert await service.expire_due(pool, today=TODAY) == 3

    for d in (ends_today, ended, leading):
        got = (await api.get(f"/v1/designations/{d['id']}")).json()
        assert got["status"] == "expired"
        assert got["version"] == d["version"] + 1
        assert (got["designated_on"], got["valid_until"]) == (d["designated_on"], d["valid_until"])
        assert got["history"][:-1] == d["history"]
        last = got["history"][-1]
        assert (last["from_status"], last["to_status"], last["actor"], last["reason"]) == (
            "designated",
            "expired",
            "system:expiry",
            None,
        )
        assert last["effective_on"] == d["valid_until"]
    for d in (ends_tomorrow, revoked, applied, under_review):
        assert (await api.get(f"/v1/designations/{d['id']}")).json() == d

    events = await expired_events(db)
    assert sorted(e["key"] for e in events) == sorted(d["id"] for d in (ends_today, ended, leading))
    assert all(e["key"] == e["subject"] for e in events)
    for e in events:
        assert e["payload"] == (await api.get(f"/v1/designations/{e['key']}")).json()
    assert await db.fetchval("select count(*) from outbox") == before + 3

    # A second run finds nothing; the next day the one ending then expires.
    assert await service.expire_due(pool, today=TODAY) == 0
    assert await db.fetchval("select count(*) from outbox") == before + 3
    assert await service.expire_due(pool, today=TODAY + timedelta(days=1)) == 1
    assert (await api.get(f"/v1/designations/{ends_tomorrow['id']}")).json()["status"] == "expired"


async def test_expires_everything_due_across_batches(
    api: httpx.AsyncClient, db: asyncpg.Connection, pool: Pool
) -> None:
    for n in range(1, 8):
        await designation(api, n, on=date(2021, 1, n), steps=DESIGNATE)
    assert await service.expire_due(pool, today=TODAY, batch=2) == 7
    assert await db.fetchval("select count(*) from designations where status = 'expired'") == 7
    assert len(await expired_events(db)) == 7


async def test_concurrent_runs_expire_each_designation_exactly_once(
    api: httpx.AsyncClient, db: asyncpg.Connection, pool: Pool
) -> None:
    due = [
        await designation(api, n, on=date(2021, 1, 1) + timedelta(days=n), steps=DESIGNATE) for n in range(12)
    ]
    counts = await asyncio.gather(*(service.expire_due(pool, today=TODAY, batch=2) for _ in range(6)))
    assert sum(counts) == 12
    events = await expired_events(db)
    assert sorted(e["key"] for e in events) == sorted(d["id"] for d in due)
    rows = await db.fetch("select status, version, history from designations")
    assert {r["status"] for r in rows} == {"expired"}
    assert {r["version"] for r in rows} == {4}
    assert all([h["to_status"] for h in r["history"]].count("expired") == 1 for r in rows)
    # And a further round of concurrent runs has nothing left to do.
    assert await asyncio.gather(*(service.expire_due(pool, today=TODAY) for _ in range(4))) == [0, 0, 0, 0]
    assert len(await expired_events(db)) == 12


async def test_an_expired_designation_no_longer_blocks_a_new_one(
    api: httpx.AsyncClient, db: asyncpg.Connection, pool: Pool
) -> None:
    old = await designation(api, 1, on=date(2021, 1, 4), steps=DESIGNATE)  # until 2024-01-04
    assert await service.expire_due(pool, today=TODAY) == 1
    resp = await api.post(
        f"/v1/firms/{brn(1)}/designations",
        json={"kind": "specialized", "technology_codes": ["SEMI-001"], "effective_on": "2024-01-04"},
    )
    assert resp.status_code == 201, resp.text
    new = resp.json()["id"]
    for step in DESIGNATE:
        resp = await api.post(
            f"/v1/designations/{new}/transitions", json={"to": step, "effective_on": "2024-01-04"}
        )
        assert resp.status_code == 200, resp.text
    assert resp.json()["valid_until"] == "2027-01-04"
    assert (await api.get(f"/v1/designations/{old['id']}")).json()["status"] == "expired"
