"""Implausible money and dates are refused with 422 naming the field, and change nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from .conftest import add_project, move, pay, project_body, rejected, set_year

P = pytest.param
MAX = 2**63 - 1


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        P({"start_on": "0001-01-01", "end_on": "9999-12-31"}, ["start_on", "end_on"], id="ages"),
        P({"start_on": "2023-04-01", "end_on": "2033-04-02"}, ["end_on"], id="longer-than-10-years"),
        P({"start_on": "1999-12-31"}, ["start_on"], id="before-the-program-years"),
        P(
            {"private_cash_krw": MAX, "private_in_kind_krw": MAX},
            ["private_cash_krw", "private_in_kind_krw"],
            id="cost-overflows-64-bits",
        ),
        P({"government_krw": 10**16 + 1}, ["government_krw"], id="over-the-cap"),
    ],
)
async def test_an_implausible_project_is_422(
    funded: httpx.AsyncClient, db: asyncpg.Connection, fields: dict[str, object], named: list[str]
) -> None:
    await rejected(db, funded.post("/v1/projects", json=project_body("P-1", **fields)), 422, *named)


async def test_a_project_of_exactly_10_years_is_accepted(funded: httpx.AsyncClient) -> None:
    body = await add_project(funded, "P-1", start_on="2023-04-01", end_on="2033-04-01")
    assert body["end_on"] == "2033-04-01"


async def test_the_largest_amounts_sum_without_overflow(budget: httpx.AsyncClient) -> None:
    # Every amount at its cap: a project's cost is 3 × 10^16, far inside 64 bits.
    await set_year(budget, 2100, 10**16)
    await budget.post(
        "/v1/programs",
        json={
            "code": "BIG",
            "fiscal_year": 2100,
            "name_en": "Big",
            "name_ko": "큰",
            "kind": "rnd",
            "budget_krw": 10**16,
        },
    )
    project = await add_project(
        budget,
        "P-1",
        program="BIG",
        government_krw=10**16,
        private_cash_krw=10**16,
        private_in_kind_krw=10**16,
        start_on="2100-01-01",
        end_on="2100-12-31",
    )
    assert project["private_in_kind_krw"] == 10**16
    selected = await move(budget, "P-1", "selected")
    assert selected["committed_krw"] == 10**16


async def test_a_years_projects_plan_at_most_9e16_together(
    budget: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Found by a review: private money has no budget to bound it, so 925 projects each with
    # ₩10^16 of private cash overflowed the gateway's kept sums (bigint) and the projector
    # dead-lettered their events. Each ₩2 × 10^16 here; the fifth would pass ₩9 × 10^16.
    await set_year(budget, 2100, 10**16)
    program = {
        "code": "BIG",
        "fiscal_year": 2100,
        "name_en": "Big",
        "name_ko": "큰",
        "kind": "rnd",
        "budget_krw": 0,
    }
    assert (await budget.post("/v1/programs", json=program)).status_code == 201
    big: dict[str, Any] = {
        "program": "BIG",
        "government_krw": 0,
        "private_cash_krw": 10**16,
        "private_in_kind_krw": 10**16,
        "start_on": "2100-01-01",
        "end_on": "2100-12-31",
    }
    for n in range(4):
        await add_project(budget, f"P-{n}", **big)
    fifth = budget.post("/v1/projects", json=project_body("P-4", **big))
    body = await rejected(db, fifth, 422, "government_krw", "private_cash_krw", "private_in_kind_krw")
    assert "₩80,000,000,000,000,000" in body["detail"]
    # Up to the cap is fine: ₩10^16 more makes exactly ₩9 × 10^16.
    await add_project(budget, "P-5", **{**big, "private_in_kind_krw": 0})


@pytest.mark.parametrize(
    "paid_on",
    [
        P("9999-12-31", id="far-future"),
        P("0001-01-01", id="year-1"),
        P("2023-03-31", id="before-the-project"),
        P("2025-12-31", id="on-its-end-day"),
        P("2099-01-01", id="after-the-project-and-today"),
    ],
)
async def test_a_payment_outside_its_project_or_far_ahead_is_422(
    funded: httpx.AsyncClient, db: asyncpg.Connection, paid_on: str
) -> None:
    await add_project(funded, "P-1")  # 2023-04-01 until 2025-12-31
    await move(funded, "P-1", "selected", "agreement_signed")
    await rejected(db, pay(funded, "P-1", 1_000, paid_on=paid_on), 422, "paid_on")


async def test_a_payment_within_the_project_is_accepted(funded: httpx.AsyncClient) -> None:
    await add_project(funded, "P-1")
    await move(funded, "P-1", "selected", "agreement_signed")
    for day in ("2023-04-01", "2025-12-30"):
        assert (await pay(funded, "P-1", 1_000, paid_on=day)).status_code == 201


# Seconds since the epoch that fall on a day within the program's years (2023-06-01): the range
# alone refuses 0, so only these showed that project and payment days still took them.
SECONDS = [
    P(1685577600, id="epoch-seconds"),
    P("1685577600", id="epoch-seconds-string"),
    P("2023-06-01T00:00:00Z", id="a-time"),
]


@pytest.mark.parametrize(
    "paid_on", [P(0, id="integer"), P("0", id="digit-string"), P("20230601", id="basic-format"), *SECONDS]
)
async def test_a_payment_day_is_only_yyyy_mm_dd(
    funded: httpx.AsyncClient, db: asyncpg.Connection, paid_on: object
) -> None:
    # Found by schemathesis: pydantic read 0 as 1970-01-01.
    await add_project(funded, "P-1")
    await move(funded, "P-1", "selected", "agreement_signed")
    await rejected(db, pay(funded, "P-1", 1_000, paid_on=paid_on), 422, "paid_on")  # type: ignore[arg-type]


@pytest.mark.parametrize("day", SECONDS)
async def test_a_projects_days_and_its_moves_are_only_yyyy_mm_dd(
    funded: httpx.AsyncClient, db: asyncpg.Connection, day: object
) -> None:
    await rejected(db, funded.post("/v1/projects", json=project_body("P-2", start_on=day)), 422, "start_on")
    await add_project(funded, "P-1")
    move = funded.post("/v1/projects/P-1/transitions", json={"to": "selected", "effective_on": day})
    await rejected(db, move, 422, "effective_on")


async def test_a_move_before_the_program_years_is_422(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Found by a review: a move's day had no range at all; 0001-01-01 became the selection day.
    await add_project(funded, "P-1")
    move = funded.post("/v1/projects/P-1/transitions", json={"to": "selected", "effective_on": "0001-01-01"})
    await rejected(db, move, 422, "effective_on")
