"""The program's answers over the budget fixture: coverage gaps by what is missing, funding by year."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mpe_kit import db

from .test_graphql_budget import budget_seeded, client_with, data_of, semi  # noqa: F401

pytestmark = pytest.mark.usefixtures("budget_seeded")

GAPS = """
query($year: Int!, $missing: CoverageMissing!) {
  coverageGaps(fiscalYear: $year, first: 100, missing: $missing) { totalCount edges { node { code } } }
}
"""


async def gaps(client: httpx.AsyncClient, year: int, missing: str) -> list[str]:
    data = (await data_of(client, GAPS, year=year, missing=missing))["coverageGaps"]
    codes = [e["node"]["code"] for e in data["edges"]]
    assert data["totalCount"] == len(codes)
    return codes


async def test_coverage_gaps_by_what_is_missing(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "budget:read")
    # 2023 considers 004-025. Projects cover 004, 005, 008 and 025; leading firms cover 009 and 010.
    no_firm = await gaps(client, 2023, "LEADING_FIRM")
    no_project = await gaps(client, 2023, "ACTIVE_PROJECT")
    assert no_firm == semi(*range(4, 9), *range(11, 26))
    assert no_project == semi(6, 7, *range(9, 25))
    assert await gaps(client, 2023, "EITHER") == semi(*range(4, 26))
    both = await gaps(client, 2023, "BOTH")
    assert both == semi(6, 7, *range(11, 25))
    assert both == sorted(set(no_firm) & set(no_project))


async def test_coverage_gaps_default_to_both(conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]) -> None:
    client = await client_with(conn, gateway, "budget:read")
    query = "{ coverageGaps(fiscalYear: 2024, first: 100) { edges { node { code } } } }"
    default = [e["node"]["code"] for e in (await data_of(client, query))["coverageGaps"]["edges"]]
    assert default == await gaps(client, 2024, "BOTH")
    assert default == semi(4, 5, 6, 7, 8, 10, *range(12, 15), *range(16, 27))


async def test_an_unknown_missing_value_is_refused(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "budget:read")
    r = await client.post("/graphql", json={"query": GAPS, "variables": {"year": 2023, "missing": "NONE"}})
    body: dict[str, Any] = r.json()
    assert body["errors"] and "CoverageMissing" in body["errors"][0]["message"]
