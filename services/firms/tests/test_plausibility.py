"""Implausible dates of firms and confirmations are refused with 422 naming the field."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from .conftest import firm_body, rejected, valid_brn

P = pytest.param
BRN = valid_brn("123456789")


@pytest.mark.parametrize(
    "size_since",
    [P("9999-12-31", id="far-future"), P("2099-01-01", id="future"), P("0001-01-01", id="year-1")],
)
async def test_an_implausible_size_since_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection, size_since: str
) -> None:
    await rejected(db, api.post("/v1/firms", json=firm_body(BRN, size_since=size_since)), 422, "size_since")
    assert (await api.post("/v1/firms", json=firm_body(BRN))).status_code == 201
    patch = api.patch(f"/v1/firms/{BRN}", json={"size_since": size_since}, headers={"If-Match": "*"})
    await rejected(db, patch, 422, "size_since")


@pytest.mark.parametrize(
    ("issued_on", "valid_until", "named"),
    [
        P("0001-01-01", "9999-12-31", ["issued_on", "valid_until"], id="ages"),
        P("2023-01-01", "2028-01-02", ["valid_until"], id="longer-than-5-years"),
        P("2099-01-01", "2100-01-01", ["issued_on"], id="issued-in-the-future"),
        P("1999-06-01", "2001-01-01", ["issued_on"], id="before-the-program-years"),
    ],
)
async def test_an_implausible_confirmation_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection, issued_on: str, valid_until: str, named: list[str]
) -> None:
    assert (await api.post("/v1/firms", json=firm_body(BRN))).status_code == 201
    body = {"technology_code": "SEMI-001", "issued_on": issued_on, "valid_until": valid_until}
    await rejected(db, api.post(f"/v1/firms/{BRN}/confirmations", json=body), 422, *named)


async def test_a_confirmation_of_exactly_5_years_is_accepted(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/firms", json=firm_body(BRN))).status_code == 201
    body = {"technology_code": "SEMI-001", "issued_on": "2024-02-29", "valid_until": "2029-03-01"}
    assert (await api.post(f"/v1/firms/{BRN}/confirmations", json=body)).status_code == 201


async def test_an_application_dated_before_the_program_years_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await api.post("/v1/firms", json=firm_body(BRN))).status_code == 201
    body = {"kind": "specialized", "technology_codes": ["SEMI-001"], "effective_on": "0001-01-01"}
    await rejected(db, api.post(f"/v1/firms/{BRN}/designations", json=body), 422, "effective_on")


@pytest.mark.parametrize(
    "fields",
    [
        P({"mpe_sales_ratio": False}, id="ratio-false"),
        P({"mpe_sales_ratio": "0.5"}, id="ratio-string"),
        P({"size_since": 0}, id="day-as-integer"),
        P({"size_since": "0"}, id="day-as-digit"),
    ],
)
async def test_numbers_and_days_are_taken_only_in_their_own_form(
    api: httpx.AsyncClient, db: asyncpg.Connection, fields: dict[str, object]
) -> None:
    # Found by schemathesis: pydantic read false as 0.0 and 0 as 1970-01-01.
    await rejected(db, api.post("/v1/firms", json=firm_body(BRN, **fields)), 422, next(iter(fields)))


# Seconds since the epoch that fall within the program's years (2024-01-01): the range alone
# refuses 0, so only these showed that confirmations, applications and moves still took them.
SECONDS = [
    P(1704067200, id="epoch-seconds"),
    P("1704067200", id="epoch-seconds-string"),
    P("2024-01-01T00:00:00Z", id="a-time"),
]


@pytest.mark.parametrize("day", SECONDS)
async def test_the_days_of_confirmations_applications_and_moves_are_only_yyyy_mm_dd(
    api: httpx.AsyncClient, db: asyncpg.Connection, day: object
) -> None:
    assert (await api.post("/v1/firms", json=firm_body(BRN))).status_code == 201
    confirmation = {"technology_code": "SEMI-001", "issued_on": day, "valid_until": "2028-01-01"}
    await rejected(db, api.post(f"/v1/firms/{BRN}/confirmations", json=confirmation), 422, "issued_on")
    confirmation = {"technology_code": "SEMI-001", "issued_on": "2024-01-01", "valid_until": day}
    await rejected(db, api.post(f"/v1/firms/{BRN}/confirmations", json=confirmation), 422, "valid_until")
    application = {"kind": "specialized", "technology_codes": ["SEMI-001"], "effective_on": day}
    await rejected(db, api.post(f"/v1/firms/{BRN}/designations", json=application), 422, "effective_on")
    application["effective_on"] = "2024-01-02"
    applied = await api.post(f"/v1/firms/{BRN}/designations", json=application)
    assert applied.status_code == 201, applied.text
    moved = api.post(
        f"/v1/designations/{applied.json()['id']}/transitions",
        json={"to": "under_review", "effective_on": day},
    )
    await rejected(db, moved, 422, "effective_on")


async def test_if_match_is_documented_as_required_with_its_statuses(api: httpx.AsyncClient) -> None:
    op = (await api.get("/openapi.json")).json()["paths"]["/v1/firms/{brn}"]["patch"]
    if_match = next(p for p in op["parameters"] if p["name"] == "if-match")
    assert if_match["required"] is True
    assert {"412", "428"} <= set(op["responses"])
