"""Consortia and the rollup on a small read model: the projection of participants, the partner
country flag, the selection-day snapshot, scopes and bad input."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from gateway.app import all_migrations
from mpe_events import budget as bev
from mpe_events.registry import FIRM_UPDATED
from mpe_kit import db, migrations

from .conftest import (
    F1,
    F2,
    Running,
    apply,
    batch,
    firm,
    firm_event,
    gql,
    hub_caught_up,
    new_key,
    program,
    program_event,
    project,
    project_event,
)

GOV, CASH, KIND = 1_000_000_000, 150_000_000, 100_000_000


def member(role: str, kind: str, share: int, *, brn: str | None = None, name: str | None = None,
           country: str = "KR") -> dict[str, Any]:  # fmt: skip
    """A consortium member holding `share` percent of each money column."""
    return {
        "role": role,
        "kind": kind,
        "brn": brn,
        "name": name,
        "country": country,
        "government_krw": GOV * share // 100,
        "private_cash_krw": CASH * share // 100,
        "private_in_kind_krw": KIND * share // 100,
    }


# P1: four members, partners in Germany and Denmark. P2: one German partner. P3: an event from
# before consortia (none named). P4: a proposal, which counts nowhere.
P1_MEMBERS = [
    member("lead", "firm", 40, brn=F1),
    member("participant", "firm", 30, brn=F2),
    member("participant", "university", 20, name="TU Berlin", country="DE"),
    member("participant", "institute", 10, name="DTU Energy", country="DK"),
]
COMMITTED = {"status": "active", "committed_krw": GOV}
SELECTED_AS = {"lead_firm_size": "large", "lead_firm_region": "경기"}


def projects() -> list[bev.ProjectV1]:
    return [
        project("P1", version=3, lead_firm_brn=F1, participants=P1_MEMBERS, **COMMITTED, **SELECTED_AS),
        project(
            "P2",
            version=3,
            lead_firm_brn=F2,
            participants=[
                member("lead", "firm", 90, brn=F2),
                member("participant", "firm", 10, name="Fraunhofer", country="DE"),
            ],
            lead_firm_size="mid",
            lead_firm_region="충남",
            **COMMITTED,
        ),
        project("P3", version=3, lead_firm_brn=F1, **COMMITTED, **SELECTED_AS),
        project("P4", lead_firm_brn=F2),
    ]


@pytest.fixture
async def consortia(conn: db.Conn, seeded: None) -> None:
    await apply(
        conn,
        program_event(program("MP-2023", track="new-industries")),
        firm_event(firm(F1, size="large", region="경기")),
        firm_event(firm(F2, size="mid", region="충남")),
        *(project_event(p) for p in projects()),
    )


async def members(conn: db.Conn, code: str) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        "select role, kind, brn, name, country, government_krw from project_participants"
        " where project_code = $1 order by position",
        code,
    )
    return [tuple(r) for r in rows]


async def test_participants_are_projected_once_and_replaced_only_by_a_newer_version(
    conn: db.Conn, consortia: None
) -> None:
    p1 = await members(conn, "P1")
    assert [m[4] for m in p1] == ["KR", "KR", "DE", "DK"]
    assert sum(m[5] for m in p1) == GOV
    # An event from before consortia: its lead firm alone, with all of the money.
    assert await members(conn, "P3") == [("lead", "firm", F1, None, "KR", GOV)]
    snapshot = await conn.fetchrow("select lead_firm_size, lead_firm_region from projects where code = 'P1'")
    assert tuple(snapshot) == ("large", "경기")
    # A replay, and an older version, change nothing.
    older = project("P1", version=2, lead_firm_brn=F1, participants=[member("lead", "firm", 100, brn=F1)])
    await apply(conn, *(project_event(p) for p in projects()), project_event(older))
    assert await members(conn, "P1") == p1
    # A newer version replaces the consortium whole.
    newer = project("P1", version=4, lead_firm_brn=F1, participants=[member("lead", "firm", 100, brn=F1)])
    await apply(conn, project_event(newer))
    assert await members(conn, "P1") == [("lead", "firm", F1, None, "KR", GOV)]


@pytest.fixture
async def client(
    conn: db.Conn, consortia: None, gateway_app: Running, gateway: Callable[..., httpx.AsyncClient]
) -> Callable[..., Any]:
    async def make(*scopes: str) -> httpx.AsyncClient:
        key = await new_key(conn, *scopes)
        await hub_caught_up(gateway_app.app, conn)
        return gateway(key.secret)

    return make


COUNTRIES = """
{
  spending(groupBy: [PARTNER_COUNTRY]) { partnerCountry projectCount governmentKrw overlaps }
  all: spending(groupBy: []) { projectCount governmentKrw committedKrw overlaps }
}
"""


async def test_a_project_counts_once_under_each_partner_country_and_those_rows_are_flagged(
    client: Callable[..., Any],
) -> None:
    body = await gql(await client("budget:read"), COUNTRIES)
    assert "errors" not in body, body
    assert body["data"]["spending"] == [
        {"partnerCountry": "DE", "projectCount": 2, "governmentKrw": str(2 * GOV), "overlaps": True},
        {"partnerCountry": "DK", "projectCount": 1, "governmentKrw": str(GOV), "overlaps": True},
        {"partnerCountry": None, "projectCount": 1, "governmentKrw": str(GOV), "overlaps": False},
    ]
    # Added up, the rows would count P1 twice; the totals count it once, and the proposal nowhere.
    assert body["data"]["all"] == [
        {"projectCount": 3, "governmentKrw": str(3 * GOV), "committedKrw": str(3 * GOV), "overlaps": False}
    ]


SNAPSHOT = """
query($firm: String) {
  spending(groupBy: [FIRM_SIZE, REGION, TRACK], filter: {firm: $firm}) {
    firmSize region track program { code } projectCount
  }
}
"""


async def test_size_and_region_are_the_lead_firms_on_the_selection_day(
    conn: db.Conn, client: Callable[..., Any]
) -> None:
    # The firm grows after the selection: the projects stay where they were counted.
    await batch(conn, firm_event(firm(F1, version=2, size="mid", region="서울"), FIRM_UPDATED.type))
    partner = await client("budget:read")
    body = await gql(partner, SNAPSHOT)
    assert "errors" not in body, body
    assert body["data"]["spending"] == [
        {
            "firmSize": "LARGE",
            "region": "경기",
            "track": "new-industries",
            "program": None,
            "projectCount": 2,
        },
        {"firmSize": "MID", "region": "충남", "track": "new-industries", "program": None, "projectCount": 1},
    ]
    partner = await client("budget:read", "firms:read")  # the firm filter needs firms:read too
    body = await gql(partner, SNAPSHOT, firm="-".join((F2[:3], F2[3:5], F2[5:])))
    assert [r["projectCount"] for r in body["data"]["spending"]] == [1]


async def test_a_region_filter_in_decomposed_korean_finds_the_composed_region(
    conn: db.Conn, client: Callable[..., Any]
) -> None:
    # Found by a review: regions are stored in NFC; "경기" copied from macOS (NFD) found nothing.
    partner = await client("budget:read", "firms:read")
    query = "query($r: String) { spending(groupBy: [REGION], filter: {region: $r}) { region projectCount } }"
    firms = "query($r: String) { firms(first: 10, filter: {region: $r}) { edges { node { brn } } } }"
    for region in ("경기", unicodedata.normalize("NFD", "경기")):
        body = await gql(partner, query, r=region)
        assert body["data"]["spending"] == [{"region": "경기", "projectCount": 2}], region
        body = await gql(partner, firms, r=region)
        assert [e["node"]["brn"] for e in body["data"]["firms"]["edges"]] == [F1], region
    # An empty region matches no firm; it is never read as "no filter".
    assert (await gql(partner, firms, r=""))["data"]["firms"]["edges"] == []


PARTICIPANTS = """
{
  project(code: "P1") {
    participants { role kind name country governmentKrw privateCashKrw privateInKindKrw firm { brn } }
  }
}
"""


async def test_participants_answer_in_order_and_their_firms_need_firms_read(
    client: Callable[..., Any],
) -> None:
    body = await gql(await client("budget:read", "firms:read"), PARTICIPANTS)
    assert "errors" not in body, body
    got = body["data"]["project"]["participants"]
    assert [(m["role"], m["kind"], m["country"]) for m in got] == [
        ("LEAD", "FIRM", "KR"),
        ("PARTICIPANT", "FIRM", "KR"),
        ("PARTICIPANT", "UNIVERSITY", "DE"),
        ("PARTICIPANT", "INSTITUTE", "DK"),
    ]
    assert [m["firm"] and m["firm"]["brn"] for m in got] == [F1, F2, None, None]
    assert [m["name"] for m in got] == [None, None, "TU Berlin", "DTU Energy"]
    assert sum(int(m["privateCashKrw"]) for m in got) == CASH
    body = await gql(await client("budget:read"), PARTICIPANTS)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('{ spending(groupBy: [], filter: {partnerCountry: "XX"}) { projectCount } }', "ISO 3166-1"),
        ('{ spending(groupBy: [], filter: {partnerCountry: "KR"}) { projectCount } }', "foreign"),
        ('{ spending(groupBy: [PAID_MONTH], filter: {paidMonth: "2024-13"}) { paidMonth } }', "YYYY-MM"),
        ('{ spending(groupBy: [], filter: {firm: "123"}) { projectCount } }', "brn"),
        ("{ spending(groupBy: [], filter: {fiscalYear: 0}) { projectCount } }", "fiscalYear"),
        ('{ projects(filter: {partnerCountry: "Germany"}) { totalCount } }', "ISO 3166-1"),
    ],
)
async def test_bad_input_is_a_clear_error(client: Callable[..., Any], query: str, message: str) -> None:
    body = await gql(await client("budget:read", "firms:read"), query)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    assert body["data"] is None or next(iter(body["data"].values())) is None


async def test_a_partner_country_filter_takes_lower_case_and_needs_budget_read(
    client: Callable[..., Any],
) -> None:
    query = '{ projects(filter: {partnerCountry: "dk"}) { totalCount edges { node { code } } } }'
    body = await gql(await client("budget:read"), query)
    assert body["data"]["projects"] == {"totalCount": 1, "edges": [{"node": {"code": "P1"}}]}
    body = await gql(await client("catalog:read"), "{ spending(groupBy: [TRACK]) { track } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_migration_gives_projects_projected_before_it_their_lead_firm_as_consortium(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]],
) -> None:
    every = all_migrations()
    (consortia,) = [m for m in every if m.namespace == "gateway" and m.name == "participants"]
    dsn = await migrated_database("gateway_before_0010", [m for m in every if m is not consortia])
    before = await db.connect(dsn)
    try:
        # Rows as the projection wrote them before 0010 (it wrote no consortium then).
        for code, lead in (("OLD", F1), ("NOBODY", None)):
            await before.execute(
                "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes,"
                " lead_firm_brn, government_krw, private_cash_krw, private_in_kind_krw, start_on, end_on,"
                " status, committed_krw, disbursed_krw, version)"
                " values ($1, 'MP-2023', 2023, $1, 'new', '{SEMI-004}', $2, $3, $4, $5, '2023-04-01',"
                " '2023-12-31', 'active', $3, 0, 3)",
                code,
                lead,
                GOV,
                CASH,
                KIND,
            )
        await migrations.migrate(dsn, every)
        assert await members(before, "OLD") == [("lead", "firm", F1, None, "KR", GOV)]
        assert await members(before, "NOBODY") == []
    finally:
        await before.close()
