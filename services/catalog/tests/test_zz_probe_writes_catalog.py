"""Temporary probe (to be deleted)."""
from __future__ import annotations

import asyncio

import asyncpg
import httpx

from .test_api import World, add, amend, draft, publish, retire, world, api, db  # noqa: F401


async def test_probe_out_of_order(api: httpx.AsyncClient, world: World, db: asyncpg.Connection) -> None:
    await publish(api, [amend("SEMI-001", name_en="Newer name")], decided_on="2024-05-01", effective_on="2024-06-01")
    r = await publish(api, [amend("SEMI-001", name_en="Older name")], decided_on="2024-02-20", effective_on="2024-03-01")
    t = (await api.get("/v1/technologies/SEMI-001")).json()
    print("ORDER", t["name_en"], [(h["op"], h["effective_on"], h["version"]) for h in t["history"]])
    # amend effective later than a retirement published afterwards
    await publish(api, [amend("SEMI-002", name_en="Amended in June")], decided_on="2024-05-01", effective_on="2024-06-01")
    rv = await draft(api, [retire("SEMI-002")], decided_on="2024-03-20", effective_on="2024-04-01")
    r = await api.post(f"/v1/revisions/{rv['id']}/publish")
    print("RETIRE-BEFORE-AMEND", r.status_code)
    t = (await api.get("/v1/technologies/SEMI-002")).json()
    print("SEMI-002", t["status"], t["listed_on"], t["retired_on"], [(h["op"], h["effective_on"], h["version"]) for h in t["history"]])
    # amend effective before listed
    await publish(api, [add("SEMI-003")], decided_on="2024-05-01", effective_on="2024-06-01")
    rv = await draft(api, [amend("SEMI-003", name_en="x")], decided_on="2024-01-01", effective_on="2024-01-02")
    r = await api.post(f"/v1/revisions/{rv['id']}/publish")
    t = (await api.get("/v1/technologies/SEMI-003")).json()
    print("AMEND-BEFORE-LISTED", r.status_code, t["listed_on"], [(h["op"], h["effective_on"]) for h in t["history"]])


async def test_probe_patch_edge(api: httpx.AsyncClient, world: World, db: asyncpg.Connection) -> None:
    for body in ({"changes": []}, {"changes": None}, {"title": None}, {}, {"decided_on": "2024-03-01"}):
        r = await api.patch(f"/v1/revisions/{world.draft_id}", json=body)
        print("PATCH", body, r.status_code, r.headers["content-type"], r.text[:200])
    print("OUTBOX", await db.fetch("select type, payload->>'version' from outbox where key = $1 order by seq", world.draft_id))


async def test_probe_concurrent_publish(api: httpx.AsyncClient, world: World, db: asyncpg.Connection) -> None:
    rs = await asyncio.gather(*(api.post(f"/v1/revisions/{world.draft_id}/publish") for _ in range(5)))
    print("PUB5", [r.status_code for r in rs])
    a = await draft(api, [add("SEMI-010")])
    b = await draft(api, [add("SEMI-010", name_en="other")])
    rs = await asyncio.gather(api.post(f"/v1/revisions/{a['id']}/publish"), api.post(f"/v1/revisions/{b['id']}/publish"))
    print("PUB-SAME-CODE", [(r.status_code, r.text[:150]) for r in rs])
    x = await draft(api, [amend("SEMI-002", name_en="A")])
    y = await draft(api, [retire("SEMI-002")])
    rs = await asyncio.gather(api.post(f"/v1/revisions/{x['id']}/publish"), api.post(f"/v1/revisions/{y['id']}/publish"),
                              api.delete(f"/v1/revisions/{x['id']}"))
    print("PUB-AMEND-RETIRE", [(r.status_code, r.text[:150]) for r in rs])


async def test_probe_bad_bodies(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    bodies = {
        "surrogate": b'{"code": "SEMI", "name_en": "a\\ud800b", "name_ko": "x"}',
        "deep": b'{"code": ' + b"[" * 100000 + b"]" * 100000 + b"}",
        "bad-utf8": b'{"code": "SEMI", "name_en": "a\xff", "name_ko": "x"}',
        "bigint": b'{"code": "SEMI", "name_en": 1' + b"0" * 5000 + b', "name_ko": "x"}',
        "nan": b'{"code": "SEMI", "name_en": NaN, "name_ko": "x"}',
    }
    for name, raw in bodies.items():
        r = await api.post("/v1/industries", content=raw, headers={"content-type": "application/json"})
        print("BODY", name, r.status_code, r.headers.get("content-type"), r.text[:160])
    r = await api.post("/v1/revisions", json={"title": "t\ud800", "decided_on": "2024-01-01", "effective_on": "2024-01-01",
                                              "changes": [{"op": "retire", "code": "X"}]})
    print("BODY rev-surrogate", r.status_code, r.text[:160])
    print("IND", await db.fetch("select code from industries"))
