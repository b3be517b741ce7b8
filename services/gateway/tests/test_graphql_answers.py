"""The program's answers over the budget fixture: coverage gaps by what is missing, funding by year."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mpe_kit import db

from .conftest import apply, program, program_event, project, project_event
from .test_graphql_budget import BN, budget_seeded, client_with, data_of, semi  # noqa: F401

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


async def test_coverage_gaps_default_to_both(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
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
    assert "CoverageMissing" in body["errors"][0]["message"]


def stage(name: str, year: int, teams: int, *codes: str) -> dict[str, Any]:
    return {"stage": name, "fiscal_year": year, "teams": teams, "project_codes": list(codes)}


@pytest.fixture
async def alchemist_plan(conn: db.Conn) -> None:
    """A theme over 2024-2026: 3 teams, then 2, then 1; one named project has not arrived."""
    plan = [
        stage("concept", 2024, 3, "A24-1", "A24-2", "A24-3"),
        stage("preliminary", 2025, 2, "A25-1", "A25-9"),
        stage("main", 2026, 1),
    ]
    theme = {"code": "ALC24-T1", "title": "암모니아 분해 촉매 (Ammonia cracking)", "stages": plan}
    events = [program_event(program("ALC-2024", fiscal_year=2024, kind="alchemist", themes=[theme]))]
    for code, year in [("A24-1", 2024), ("A24-2", 2024), ("A24-3", 2024), ("A25-1", 2025)]:
        events.append(
            project_event(
                project(code, program_code="ALC-2024", fiscal_year=year, status="active", committed_krw=BN)
            )
        )
    await apply(conn, *events)


THEMES = """
{ program(code: "ALC-2024") { themes { code title stages { stage fiscalYear teams projects { code fiscalYear } } } } }
"""


@pytest.mark.usefixtures("alchemist_plan")
async def test_theme_stages_by_year_with_their_projects(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "budget:read")
    (theme,) = (await data_of(client, THEMES))["program"]["themes"]
    assert theme["title"] == "암모니아 분해 촉매 (Ammonia cracking)"
    assert theme["stages"] == [
        {
            "stage": "CONCEPT",
            "fiscalYear": 2024,
            "teams": 3,
            "projects": [{"code": f"A24-{n}", "fiscalYear": 2024} for n in (1, 2, 3)],
        },
        # A25-9's event has not arrived: it is left out, the team still counts.
        {
            "stage": "PRELIMINARY",
            "fiscalYear": 2025,
            "teams": 2,
            "projects": [{"code": "A25-1", "fiscalYear": 2025}],
        },
        {"stage": "MAIN", "fiscalYear": 2026, "teams": 1, "projects": []},
    ]
    teams = [s["teams"] for s in theme["stages"]]
    assert teams == sorted(teams, reverse=True)  # never growing, as the budget service enforces


async def test_a_stage_from_before_years_has_no_year_and_no_projects(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "budget:read")
    query = '{ program(code: "ALC-2023") { themes { stages { stage fiscalYear teams projects { code } } } } }'
    (theme,) = (await data_of(client, query))["program"]["themes"]
    assert theme["stages"] == [
        {"stage": s, "fiscalYear": None, "teams": n, "projects": []}
        for s, n in [("CONCEPT", 6), ("PRELIMINARY", 3), ("MAIN", 1)]
    ]


BY_YEAR = """
query($code: String!) {
  technology(code: $code) {
    fundingByYear { fiscalYear committedKrw disbursedKrw projectCount }
    all: funding { committedKrw disbursedKrw projectCount }
    y2023: funding(fiscalYear: 2023) { committedKrw disbursedKrw projectCount }
  }
}
"""


@pytest.mark.parametrize(
    ("code", "years"),
    [
        # P22-01 (2022, completed); P23-01 (with SEMI-004) and P23-02 (continuing) in 2023.
        ("SEMI-025", [(2022, "2500000000", "2500000000", 1), (2023, "8000000000", "5000000000", 2)]),
        # P23-01 counts; the proposal P23-04 commits nothing and is no year of its own.
        ("SEMI-004", [(2023, "5000000000", "2000000000", 1)]),
        # Terminated after a payment: counted.
        ("SEMI-006", [(2023, "200000000", "200000000", 1)]),
        # Terminated before any payment: nothing counts, so no year.
        ("SEMI-007", []),
        ("SEMI-015", [(2024, "1000000000", "0", 1)]),
    ],
)
async def test_technology_funding_by_year(
    conn: db.Conn,
    gateway: Callable[..., httpx.AsyncClient],
    code: str,
    years: list[tuple[int, str, str, int]],
) -> None:
    client = await client_with(conn, gateway, "catalog:read", "budget:read")
    data = (await data_of(client, BY_YEAR, code=code))["technology"]
    rows = data["fundingByYear"]
    assert [(r["fiscalYear"], r["committedKrw"], r["disbursedKrw"], r["projectCount"]) for r in rows] == years
    # The years add up to funding over all years, and each year is funding(fiscalYear).
    assert sum(int(r["committedKrw"]) for r in rows) == int(data["all"]["committedKrw"])
    assert sum(int(r["disbursedKrw"]) for r in rows) == int(data["all"]["disbursedKrw"])
    assert sum(r["projectCount"] for r in rows) == data["all"]["projectCount"]
    in_2023 = [{k: v for k, v in r.items() if k != "fiscalYear"} for r in rows if r["fiscalYear"] == 2023]
    if in_2023:
        assert in_2023 == [data["y2023"]]
    else:
        assert data["y2023"] == {"committedKrw": "0", "disbursedKrw": "0", "projectCount": 0}


async def test_funding_by_year_needs_budget_read(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "catalog:read")
    r = await client.post(
        "/graphql", json={"query": '{ technology(code: "SEMI-025") { code fundingByYear { fiscalYear } } }'}
    )
    body = r.json()
    assert body["data"]["technology"] == {"code": "SEMI-025", "fundingByYear": None}
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "budget:read"}
