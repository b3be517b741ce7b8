"""Every money invariant under concurrent requests: parallel writes never add up past a limit."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import asyncpg
import httpx

from .conftest import add_program, add_project, get_year, move, ok, pay, program_body, project_body, set_year


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def test_parallel_payments_never_exceed_the_government_money(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(funded, "P-1", government_krw=1_000_000)
    await move(funded, "P-1", "selected", "agreement_signed")
    before = await db.fetchval("select count(*) from outbox")
    responses = await asyncio.gather(*(pay(funded, "P-1", 70_000) for _ in range(20)))
    assert statuses(responses) == {201: 14, 409: 6}, [r.text for r in responses if r.status_code != 201]
    project = await ok(funded.get("/v1/projects/P-1"))
    assert project["disbursed_krw"] == 14 * 70_000 <= project["government_krw"]
    listed = await ok(funded.get("/v1/projects/P-1/disbursements"))
    assert sorted(d["id"] for d in listed["items"]) == sorted(
        r.json()["id"] for r in responses if r.status_code == 201
    )
    # Each payment: the project's totals and its own line.
    assert await db.fetchval("select count(*) from outbox") - before == 2 * 14
    assert (await get_year(funded, 2023))["disbursed_krw"] == 980_000


async def test_parallel_payments_of_mixed_amounts_stay_within_the_limit(funded: httpx.AsyncClient) -> None:
    await add_project(funded, "P-1", government_krw=1_000_000)
    await move(funded, "P-1", "selected", "agreement_signed", "active")
    rng = random.Random(2023)
    amounts = [rng.randint(1, 150_000) for _ in range(30)]
    responses = await asyncio.gather(*(pay(funded, "P-1", a) for a in amounts))
    assert set(statuses(responses)) <= {201, 409}
    accepted = sum(a for a, r in zip(amounts, responses, strict=True) if r.status_code == 201)
    project = await ok(funded.get("/v1/projects/P-1"))
    assert project["disbursed_krw"] == accepted <= 1_000_000
    # Every refusal was a real one: what was paid only grows, so a refused amount still does not fit.
    refused = [a for a, r in zip(amounts, responses, strict=True) if r.status_code == 409]
    assert refused
    assert all(accepted + a > 1_000_000 for a in refused)


async def test_parallel_repeats_of_one_key_pay_once(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(funded, "P-1", government_krw=1_000_000)
    await move(funded, "P-1", "selected", "agreement_signed")
    responses = await asyncio.gather(*(pay(funded, "P-1", 1_000, key="once") for _ in range(10)))
    # Each repeat either replays the payment or is told the first is still running.
    assert set(statuses(responses)) <= {201, 409}
    paid = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(paid) == 1
    assert (await ok(funded.get("/v1/projects/P-1")))["disbursed_krw"] == 1_000
    assert len((await ok(funded.get("/v1/projects/P-1/disbursements")))["items"]) == 1
    assert await db.fetchval("select count(*) from disbursements") == 1


async def test_parallel_selections_never_exceed_the_program_budget(funded: httpx.AsyncClient) -> None:
    await add_program(funded, "SMALL", budget_krw=1_000)
    for i in range(10):
        await add_project(funded, f"P-{i}", "SMALL", government_krw=300)
    responses = await asyncio.gather(
        *(funded.post(f"/v1/projects/P-{i}/transitions", json={"to": "selected"}) for i in range(10))
    )
    assert statuses(responses) == {200: 3, 409: 7}
    program = await ok(funded.get("/v1/programs/SMALL"))
    assert program["committed_krw"] == 900
    selected = await ok(funded.get("/v1/projects", params={"program": "SMALL", "status": "selected"}))
    assert len(selected["items"]) == 3


async def test_parallel_selections_and_terminations_keep_commitments_within_budget(
    funded: httpx.AsyncClient,
) -> None:
    await add_program(funded, "SMALL", budget_krw=1_000)
    for i in range(6):
        await add_project(funded, f"P-{i}", "SMALL", government_krw=400)
    await move(funded, "P-0", "selected")
    await move(funded, "P-1", "selected")
    requests = [funded.post(f"/v1/projects/P-{i}/transitions", json={"to": "selected"}) for i in range(2, 6)]
    requests += [
        funded.post(f"/v1/projects/P-{i}/transitions", json={"to": "terminated", "reason": "withdrawn"})
        for i in range(2)
    ]
    responses = await asyncio.gather(*requests)
    assert set(statuses(responses)) <= {200, 409}
    projects = (await ok(funded.get("/v1/projects", params={"program": "SMALL"})))["items"]
    committed = sum(p["committed_krw"] for p in projects)
    assert committed == (await ok(funded.get("/v1/programs/SMALL")))["committed_krw"] <= 1_000
    assert all(p["committed_krw"] in (0, 400) for p in projects)


async def test_parallel_program_creations_never_exceed_the_envelope(budget: httpx.AsyncClient) -> None:
    await set_year(budget, 2023, 1_000)
    responses = await asyncio.gather(
        *(budget.post("/v1/programs", json=program_body(f"P-{i}", budget_krw=300)) for i in range(10))
    )
    assert statuses(responses) == {201: 3, 409: 7}
    assert (await get_year(budget, 2023))["programmed_krw"] == 900


async def test_lowering_the_envelope_while_programs_are_created(budget: httpx.AsyncClient) -> None:
    await set_year(budget, 2023, 10_000)
    creations = [budget.post("/v1/programs", json=program_body(f"P-{i}", budget_krw=1_000)) for i in range(8)]
    cuts = [budget.put("/v1/fiscal-years/2023", json={"envelope_krw": e}) for e in (3_000, 5_000, 4_000)]
    responses = await asyncio.gather(*creations, *cuts)
    assert set(statuses(responses)) <= {200, 201, 409}
    year = await get_year(budget, 2023)
    assert year["programmed_krw"] <= year["envelope_krw"]
    assert year["programmed_krw"] == 1_000 * statuses(responses[:8])[201]


async def test_terminating_while_paying_leaves_committed_equal_to_paid(funded: httpx.AsyncClient) -> None:
    await add_project(funded, "P-1", government_krw=1_000_000)
    await move(funded, "P-1", "selected", "agreement_signed", "active")
    payments = [pay(funded, "P-1", 10_000) for _ in range(15)]
    stop = funded.post("/v1/projects/P-1/transitions", json={"to": "terminated", "reason": "audit finding"})
    responses = await asyncio.gather(*payments[:7], stop, *payments[7:])
    assert set(statuses(responses)) <= {200, 201, 409}
    project = await ok(funded.get("/v1/projects/P-1"))
    accepted = statuses(responses)[201]
    assert project["status"] == "terminated"
    assert project["committed_krw"] == project["disbursed_krw"] == accepted * 10_000
    assert (await ok(funded.get("/v1/programs/RND")))["committed_krw"] == accepted * 10_000
    year = await get_year(funded, 2023)
    assert year["committed_krw"] == year["disbursed_krw"] == accepted * 10_000


async def test_parallel_work_on_many_projects_of_one_program(funded: httpx.AsyncClient) -> None:
    for i in range(5):
        await add_project(funded, f"P-{i}", government_krw=100_000)
        await move(funded, f"P-{i}", "selected", "agreement_signed")
    requests = [pay(funded, f"P-{i % 5}", 30_000) for i in range(20)]
    requests += [funded.post(f"/v1/projects/P-{i}/transitions", json={"to": "active"}) for i in range(5)]
    responses = await asyncio.gather(*requests)
    assert statuses(responses[:20]) == {201: 15, 409: 5}
    assert statuses(responses[20:]) == {200: 5}
    year = await get_year(funded, 2023)
    assert (year["committed_krw"], year["disbursed_krw"]) == (500_000, 450_000)


async def test_parallel_creations_of_one_code_make_one(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    programs = await asyncio.gather(
        *(funded.post("/v1/programs", json=program_body("TWIN", budget_krw=10)) for _ in range(8))
    )
    projects = await asyncio.gather(
        *(funded.post("/v1/projects", json=project_body("TWIN")) for _ in range(8))
    )
    assert statuses(programs) == {201: 1, 409: 7}
    assert statuses(projects) == {201: 1, 409: 7}
    assert await db.fetchval("select count(*) from outbox where key = 'TWIN'") == 2


async def test_parallel_envelopes_of_a_new_year_each_get_a_version(
    budget: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    responses = await asyncio.gather(
        *(budget.put("/v1/fiscal-years/2030", json={"envelope_krw": 1_000 + i}) for i in range(10))
    )
    assert statuses(responses) == {200: 10}
    assert sorted(r.json()["version"] for r in responses) == list(range(1, 11))
    payloads = await db.fetch("select payload from outbox where key = '2030' order by seq")
    assert sorted(p["payload"]["version"] for p in payloads) == list(range(1, 11))
    final = await get_year(budget, 2030)
    assert final["version"] == 10
    assert final["envelope_krw"] == max(responses, key=lambda r: r.json()["version"]).json()["envelope_krw"]
