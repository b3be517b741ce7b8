"""Temporary probe (to be deleted)."""
from __future__ import annotations

import asyncio

import asyncpg
import httpx

from .conftest import add_project, move, ok, pay


async def test_probe_integer_day_accepted_for_payment(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await add_project(funded, "P-1")
    await move(funded, "P-1", "selected", "agreement_signed")
    # 1685577600 = 2023-06-01T00:00:00Z
    r = await pay(funded, "P-1", 1_000, paid_on=1685577600)  # type: ignore[arg-type]
    print("PAY-INT", r.status_code, r.text)
    r = await funded.post("/v1/projects", json={
        "code": "P-2", "program_code": "RND", "title": "x", "kind": "new", "technology_codes": ["SEMI-001"],
        "government_krw": 1, "start_on": 1680307200, "end_on": "2025-12-31"})
    print("PROJ-INT", r.status_code, r.text[:300])


async def test_probe_transition_day_unbounded(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await add_project(funded, "P-1")
    r = await funded.post("/v1/projects/P-1/transitions", json={"to": "selected", "effective_on": 0})
    print("SEL-0", r.status_code, r.text[:600])
    await add_project(funded, "P-3")
    r = await funded.post("/v1/projects/P-3/transitions", json={"to": "selected", "effective_on": "0001-01-01"})
    print("SEL-0001", r.status_code, r.text[:600])
    print(await db.fetch("select code, selected_on, history from projects"))
    print(await db.fetch("select type, payload->>'selected_on' from outbox"))


async def test_probe_concurrent_continuations(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await ok(funded.put("/v1/fiscal-years/2024", json={"envelope_krw": 10_000_000_000}))
    await ok(funded.post("/v1/programs", json={"code": "RND24", "fiscal_year": 2024, "name_en": "a", "name_ko": "가",
                                               "kind": "rnd", "budget_krw": 1_000_000_000}), 201)
    await add_project(funded, "P-1")
    for attempt in range(5):
        body = lambda c: {"code": c, "program_code": "RND24", "title": "x", "kind": "continuing", "continues": "P-1",
                          "technology_codes": ["SEMI-001"], "government_krw": 1, "start_on": "2024-01-01",
                          "end_on": "2024-12-31"}
        rs = await asyncio.gather(*(funded.post("/v1/projects", json=body(f"C-{attempt}-{i}")) for i in range(4)))
        print("CONT", attempt, [(r.status_code, r.headers.get("content-type")) for r in rs])
        print([r.text[:200] for r in rs if r.status_code >= 500])
        if any(r.status_code == 201 for r in rs):
            break


async def test_probe_concurrent_continuations_locked(funded: httpx.AsyncClient, db: asyncpg.Connection, locker: asyncpg.Connection) -> None:
    await ok(funded.put("/v1/fiscal-years/2024", json={"envelope_krw": 10_000_000_000}))
    await ok(funded.post("/v1/programs", json={"code": "RND24", "fiscal_year": 2024, "name_en": "a", "name_ko": "가",
                                               "kind": "rnd", "budget_krw": 1_000_000_000}), 201)
    await add_project(funded, "P-1")
    before = await db.fetchval("select count(*) from outbox")
    body = lambda c: {"code": c, "program_code": "RND24", "title": "x", "kind": "continuing", "continues": "P-1",
                      "technology_codes": ["SEMI-001"], "government_krw": 1, "start_on": "2024-01-01",
                      "end_on": "2024-12-31"}
    tx = locker.transaction()
    await tx.start()
    await locker.execute("select 1 from projects where code = 'P-1' for update")
    tasks = [asyncio.create_task(funded.post("/v1/projects", json=body(f"C-{i}"))) for i in range(3)]
    await asyncio.sleep(1.0)
    await tx.rollback()
    rs = await asyncio.gather(*tasks)
    print("CONTL", [(r.status_code, r.headers.get("content-type")) for r in rs])
    print("CONTL-BODY", [r.text[:300] for r in rs if r.status_code != 201])
    print("CONTL-DB", await db.fetch("select code, continues from projects"), await db.fetchval("select count(*) from outbox") - before)


async def test_probe_natural_race(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await ok(funded.put("/v1/fiscal-years/2024", json={"envelope_krw": 10_000_000_000}))
    await ok(funded.post("/v1/programs", json={"code": "RND24", "fiscal_year": 2024, "name_en": "a", "name_ko": "가",
                                               "kind": "rnd", "budget_krw": 1_000_000_000}), 201)
    seen = []
    for n in range(15):
        await add_project(funded, f"P-{n}")
        body = lambda c: {"code": c, "program_code": "RND24", "title": "x", "kind": "continuing", "continues": f"P-{n}",
                          "technology_codes": ["SEMI-001"], "government_krw": 1, "start_on": "2024-01-01",
                          "end_on": "2024-12-31"}
        rs = await asyncio.gather(*(funded.post("/v1/projects", json=body(f"C-{n}-{i}")) for i in range(6)))
        seen.append(tuple(sorted(r.status_code for r in rs)))
    print("NATURAL", seen)
