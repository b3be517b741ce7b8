"""Disbursements: when a project may be paid, how much, and the Idempotency-Key contract."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from mpe_kit.writes import decode

from .conftest import (
    add_project,
    assert_problem,
    get_year,
    move,
    ok,
    outbox_since,
    pay,
    rejected,
    snapshot,
    wait_until_blocked,
)

P = pytest.param
PATH = "/v1/projects/P-1/disbursements"
WAITING = (
    "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
)
GOVERNMENT = 800_000_000  # of RND's ₩1bn


@pytest.fixture
async def signed(funded: httpx.AsyncClient) -> httpx.AsyncClient:
    """P-1 (₩800m of government money) with its agreement signed."""
    await add_project(funded, "P-1", government_krw=GOVERNMENT)
    await move(funded, "P-1", "selected", "agreement_signed")
    return funded


async def paid(client: httpx.AsyncClient, code: str = "P-1") -> tuple[int, list[int]]:
    """The project's disbursed_krw and the amounts of its disbursements."""
    project = await ok(client.get(f"/v1/projects/{code}"))
    listed = (await client.get(f"/v1/projects/{code}/disbursements")).json()
    return project["disbursed_krw"], [d["amount_krw"] for d in listed["items"]]


async def state(db: asyncpg.Connection) -> dict[str, Any]:
    return {**await snapshot(db), "keys": await db.fetchval("select count(*) from idempotency_keys")}


# what may be paid


async def test_a_payment_is_recorded_listed_and_announced(
    signed: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = await db.fetchval("select count(*) from outbox")
    resp = await pay(signed, "P-1", 250_000_000, paid_on="2023-07-10")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert uuid.UUID(body["id"])
    assert (body["project_code"], body["amount_krw"], body["paid_on"]) == ("P-1", 250_000_000, "2023-07-10")
    assert body["created_at"]
    second = await ok(pay(signed, "P-1", 50_000_000, paid_on="2023-05-02"), 201)
    listed = await ok(signed.get(PATH))
    assert listed == {"items": [body, second], "next_cursor": None}  # in the order recorded
    assert await paid(signed) == (300_000_000, [250_000_000, 50_000_000])
    project = await ok(signed.get("/v1/projects/P-1"))
    assert (project["committed_krw"], project["status"], project["history"][-1]["to_status"]) == (
        GOVERNMENT,
        "agreement_signed",
        "agreement_signed",  # a payment is no move of the status
    )
    year = await get_year(signed, 2023)
    assert (year["committed_krw"], year["disbursed_krw"]) == (GOVERNMENT, 300_000_000)
    events = await outbox_since(db, before)
    # Each payment: the project's new totals, and the payment as a line keyed by its own id.
    assert [(e["type"], e["key"]) for e in events] == [
        ("kr.mpe.budget.project.disbursed.v1", "P-1"),
        ("kr.mpe.budget.disbursement.paid.v1", body["id"]),
        ("kr.mpe.budget.project.disbursed.v1", "P-1"),
        ("kr.mpe.budget.disbursement.paid.v1", second["id"]),
    ]
    totals, lines = events[0::2], events[1::2]
    assert [(e["payload"]["disbursed_krw"], e["payload"]["committed_krw"]) for e in totals] == [
        (250_000_000, GOVERNMENT),
        (300_000_000, GOVERNMENT),
    ]
    assert [e["topic"] for e in lines] == ["mpe.budget.disbursement"] * 2
    line = dict(lines[1]["payload"])
    assert datetime.fromisoformat(line.pop("recorded_at")) == datetime.fromisoformat(second["created_at"])
    assert line == {
        "id": second["id"],
        "project_code": "P-1",
        "program_code": "RND",
        "fiscal_year": 2023,
        "paid_on": "2023-05-02",
        "amount_krw": 50_000_000,
        "project_disbursed_krw": 300_000_000,
        "project_version": totals[1]["payload"]["version"],
        "version": 1,
    }


async def test_payments_fill_the_government_money_exactly_and_no_further(
    signed: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await ok(pay(signed, "P-1", GOVERNMENT - 1), 201)
    body = await rejected(db, pay(signed, "P-1", 2), 409)
    assert (body["used_krw"], body["adding_krw"], body["limit_krw"]) == (GOVERNMENT - 1, 2, GOVERNMENT)
    await move(signed, "P-1", "active")
    await ok(pay(signed, "P-1", 1), 201)  # exactly the limit
    await rejected(db, pay(signed, "P-1", 1), 409)
    assert await paid(signed) == (GOVERNMENT, [GOVERNMENT - 1, 1])


@pytest.mark.parametrize(
    ("steps", "payable"),
    [
        P([], False, id="proposed"),
        P(["selected"], False, id="selected"),
        P(["selected", "agreement_signed"], True, id="agreement_signed"),
        P(["selected", "agreement_signed", "active"], True, id="active"),
        P(["selected", "agreement_signed", "active", "completed"], False, id="completed"),
        P(["terminated"], False, id="terminated"),
    ],
)
async def test_payable_only_while_signed_or_active(
    funded: httpx.AsyncClient, db: asyncpg.Connection, steps: list[str], payable: bool
) -> None:
    await add_project(funded, "P-1", government_krw=GOVERNMENT)
    await move(funded, "P-1", *steps, reason="withdrawn")
    if payable:
        await ok(pay(funded, "P-1", 1), 201)
        return
    status = (await ok(funded.get("/v1/projects/P-1")))["status"]
    body = await rejected(db, pay(funded, "P-1", 1), 409)
    assert status in body["detail"]
    assert "agreement_signed" in body["detail"]


async def test_paying_an_unknown_project_is_404(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    body = await rejected(db, pay(funded, "NOPE", 1), 404)
    assert "NOPE" in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        P({"paid_on": "2023-06-01"}, "amount_krw", id="missing-amount"),
        P({"amount_krw": 0, "paid_on": "2023-06-01"}, "amount_krw", id="zero"),
        P({"amount_krw": -5, "paid_on": "2023-06-01"}, "amount_krw", id="negative"),
        P({"amount_krw": 1.5, "paid_on": "2023-06-01"}, "amount_krw", id="fraction"),
        P({"amount_krw": 2**63, "paid_on": "2023-06-01"}, "amount_krw", id="over-64-bits"),
        P({"amount_krw": 1}, "paid_on", id="missing-date"),
        P({"amount_krw": 1, "paid_on": "2023-13-01"}, "paid_on", id="impossible-date"),
        P({"amount_krw": 1, "paid_on": "2023-06-01", "to": "acct"}, "to", id="unknown-field"),
    ],
)
async def test_bad_payment_is_rejected(
    signed: httpx.AsyncClient, db: asyncpg.Connection, payload: dict[str, Any], field: str
) -> None:
    before = await state(db)
    assert_problem(await signed.post(PATH, json=payload, headers={"Idempotency-Key": "k-1"}), 422, field)
    assert await state(db) == before


# the Idempotency-Key


@pytest.mark.parametrize(
    "headers",
    [
        P({}, id="missing"),
        P({"Idempotency-Key": ""}, id="empty"),
        P({"Idempotency-Key": "k" * 201}, id="too-long"),
    ],
)
async def test_a_payment_needs_an_idempotency_key(
    signed: httpx.AsyncClient, db: asyncpg.Connection, headers: dict[str, str]
) -> None:
    before = await state(db)
    request = signed.post(PATH, json={"amount_krw": 1, "paid_on": "2023-06-01"}, headers=headers)
    assert_problem(await request, 422, "Idempotency-Key")
    assert await state(db) == before


async def test_repeating_a_key_returns_the_first_answer_and_pays_once(
    signed: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    first = await pay(signed, "P-1", 100_000_000, key="pay-2023-06")
    assert first.status_code == 201
    after_first = await state(db)
    for _ in range(3):
        again = await pay(signed, "P-1", 100_000_000, key="pay-2023-06")
        assert again.status_code == first.status_code
        assert again.json() == first.json()
        assert again.headers["content-type"] == first.headers["content-type"]
    assert await state(db) == after_first
    assert await paid(signed) == (100_000_000, [100_000_000])


async def test_a_repeated_payment_carries_the_write_token_of_the_first(
    signed: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Found by a probe: the repeat came without MPE-Write-Token, so a client that lost the first
    # answer could not make its next GraphQL read wait for the payment it had made.
    first = await pay(signed, "P-1", 100_000_000, key="pay-2023-06")
    token = first.headers["mpe-write-token"]
    [written] = decode(token)
    # It names the transaction that paid, and the two events it committed.
    assert await db.fetchval("select count(*) from outbox where write_txid = $1", written.txid) == 2
    assert written.count == 2
    for _ in range(2):
        assert (await pay(signed, "P-1", 100_000_000, key="pay-2023-06")).headers["mpe-write-token"] == token
    # A refusal wrote nothing: its repeat names no transaction.
    refused = await pay(signed, "P-9", 10, key="nowhere")
    assert refused.status_code == 404
    assert "mpe-write-token" not in (await pay(signed, "P-9", 10, key="nowhere")).headers


async def test_a_key_is_not_bound_to_the_caller(signed: httpx.AsyncClient, viewer: httpx.AsyncClient) -> None:
    # A viewer may not pay, even replaying a key an editor used.
    first = await ok(pay(signed, "P-1", 5, key="k"), 201)
    assert_problem(await pay(viewer, "P-1", 5, key="k"), 403)
    assert (await pay(signed, "P-1", 5, key="k")).json() == first


@pytest.mark.parametrize(
    ("code", "amount", "paid_on"),
    [
        P("P-1", 100_000_001, "2023-06-01", id="other-amount"),
        P("P-1", 100_000_000, "2023-06-02", id="other-date"),
        P("P-2", 100_000_000, "2023-06-01", id="other-project"),
    ],
)
async def test_the_same_key_with_another_request_is_422(
    signed: httpx.AsyncClient, db: asyncpg.Connection, code: str, amount: int, paid_on: str
) -> None:
    await add_project(signed, "P-2", government_krw=200_000_000)
    await move(signed, "P-2", "selected", "agreement_signed")
    await ok(pay(signed, "P-1", 100_000_000, key="pay-2023-06"), 201)
    before = await state(db)
    body = assert_problem(
        await pay(signed, code, amount, key="pay-2023-06", paid_on=paid_on), 422, "Idempotency-Key"
    )
    assert "different" in body["detail"]
    assert await state(db) == before
    assert await paid(signed, "P-2") == (0, [])


async def test_a_refusal_is_replayed_even_once_the_project_is_payable(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(funded, "P-1", government_krw=GOVERNMENT)
    await move(funded, "P-1", "selected")
    refused = await pay(funded, "P-1", 10, key="early")
    body = assert_problem(refused, 409)
    await move(funded, "P-1", "agreement_signed")
    before = await state(db)
    again = await pay(funded, "P-1", 10, key="early")
    assert again.status_code == 409
    assert again.json() == body
    assert again.headers["content-type"].startswith("application/problem+json")
    assert await state(db) == before
    # A new key is a new request.
    await ok(pay(funded, "P-1", 10, key="later"), 201)
    assert await paid(funded) == (10, [10])


async def test_a_refusal_for_an_unknown_project_is_replayed(funded: httpx.AsyncClient) -> None:
    first = await pay(funded, "P-9", 10, key="k")
    assert_problem(first, 404)
    await add_project(funded, "P-9")
    await move(funded, "P-9", "selected", "agreement_signed")
    again = await pay(funded, "P-9", 10, key="k")
    assert (again.status_code, again.json()) == (404, first.json())


async def test_a_refusal_over_the_limit_is_replayed(signed: httpx.AsyncClient) -> None:
    first = await pay(signed, "P-1", GOVERNMENT + 1, key="too-much")
    assert_problem(first, 409)
    again = await pay(signed, "P-1", GOVERNMENT + 1, key="too-much")
    assert (again.status_code, again.json()) == (409, first.json())
    assert await paid(signed) == (0, [])


async def test_the_same_key_while_the_first_request_runs_is_409(
    signed: httpx.AsyncClient, db: asyncpg.Connection, locker: asyncpg.Connection
) -> None:
    tx = locker.transaction()
    await tx.start()
    await locker.execute("select 1 from projects where code = 'P-1' for update")

    async def slow() -> httpx.Response:
        return await pay(signed, "P-1", 100_000_000, key="slow")

    first = asyncio.create_task(slow())
    try:
        await wait_until_blocked(db, "slow")
        body = assert_problem(await pay(signed, "P-1", 100_000_000, key="slow"), 409)
        assert "Idempotency-Key" in body["detail"]
        # Until the first request has finished, its body is not on record: any request under the
        # running key is told to wait, whatever its body.
        assert_problem(await pay(signed, "P-1", 1, key="slow"), 409)
        assert not first.done()
    finally:
        await tx.rollback()
    done = await first
    assert done.status_code == 201, done.text
    again = await pay(signed, "P-1", 100_000_000, key="slow")
    assert (again.status_code, again.json()) == (201, done.json())
    assert await paid(signed) == (100_000_000, [100_000_000])


async def test_a_refusal_kept_for_its_key_is_given_again_in_the_language_asked(
    signed: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    korean = {"Accept-Language": "ko", "Idempotency-Key": "too-much"}
    path = "/v1/projects/P-1/disbursements"
    body = {"amount_krw": 10**15, "paid_on": "2023-06-01"}
    before = await state(db)
    first = await signed.post(path, json=body, headers=korean)
    again = await signed.post(path, json=body, headers=korean)
    english = await signed.post(path, json=body, headers={"Idempotency-Key": "too-much"})
    assert first.status_code == again.status_code == english.status_code == 409
    assert first.json()["detail"].startswith(
        "과제 P-1의 지급액: 이미 0원이며, 1,000,000,000,000,000원을 더하면"
    )
    assert again.json() == first.json()
    assert again.headers["content-language"] == "ko"
    assert english.json()["detail"].startswith("Disbursements of project P-1: 0 won already")
    assert {k: v for k, v in english.json().items() if k not in ("title", "detail")} == {
        k: v for k, v in first.json().items() if k not in ("title", "detail")
    }
    # Nothing paid; the refusal is kept once, as the key's answer.
    assert await state(db) == {**before, "keys": before["keys"] + 1}
