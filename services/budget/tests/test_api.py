"""The budget REST API on a real Postgres: fiscal years, programs, themes, lists, auth, bad input."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import jwt
import pytest

from .conftest import (
    SECRET,
    add_program,
    add_project,
    assert_problem,
    client_for,
    get_year,
    move,
    ok,
    outbox_since,
    pay,
    program_body,
    project_body,
    rejected,
    set_year,
    token,
)

P = pytest.param


def cursor_of(values: Any) -> str:
    """A cursor built by hand, to try shapes the API never hands out."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def walk(client: httpx.AsyncClient, path: str, limit: int, **params: Any) -> list[str]:
    """Every code of a list, page by page; checks the page sizes and the last cursor."""
    seen: list[str] = []
    cursor = None
    while True:
        page = await ok(
            client.get(path, params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        )
        assert len(page["items"]) <= limit
        seen += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        assert len(page["items"]) == limit


# fiscal years


async def test_fiscal_year_starts_empty_and_keeps_its_money_apart(budget: httpx.AsyncClient) -> None:
    assert_problem(await budget.get("/v1/fiscal-years/2023"), 404)
    body = await set_year(budget, 2023, 937_560_000_000)
    assert body == {
        "year": 2023,
        "envelope_krw": 937_560_000_000,
        "programmed_krw": 0,
        "committed_krw": 0,
        "disbursed_krw": 0,
        "version": 1,
    }
    assert await get_year(budget, 2023) == body
    raised = await set_year(budget, 2023, 1_000_000_000_000)
    assert (raised["envelope_krw"], raised["version"]) == (1_000_000_000_000, 2)


async def test_envelope_of_64_bits(budget: httpx.AsyncClient) -> None:
    # ₩937.56bn does not fit 32 bits; the largest amount (₩10^16) round-trips exactly.
    assert (await set_year(budget, 2023, 10**16))["envelope_krw"] == 10**16
    for too_much in (10**16 + 1, 2**63 - 1, 2**63):
        assert_problem(
            await budget.put("/v1/fiscal-years/2024", json={"envelope_krw": too_much}), 422, "envelope_krw"
        )


async def test_setting_a_year_writes_an_event(budget: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await set_year(budget, 2023, 500)
    await set_year(budget, 2023, 700)
    events = await outbox_since(db, 0)
    assert [(e["type"], e["key"], e["topic"], e["source"]) for e in events] == [
        ("kr.mpe.budget.fiscal_year.set.v1", "2023", "mpe.budget.fiscal_year", "/mpe/budget")
    ] * 2
    assert [e["payload"] for e in events] == [
        {"year": 2023, "envelope_krw": 500, "version": 1},
        {"year": 2023, "envelope_krw": 700, "version": 2},
    ]


async def test_programs_fit_the_envelope(budget: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await set_year(budget, 2023, 1_000)
    await add_program(budget, "A", budget_krw=600)
    body = await rejected(db, budget.post("/v1/programs", json=program_body("B", budget_krw=401)), 409)
    assert "1,000" in body["detail"]
    assert (body["used_krw"], body["adding_krw"], body["limit_krw"]) == (600, 401, 1_000)
    await add_program(budget, "B", budget_krw=400)  # exactly the envelope
    await rejected(db, budget.post("/v1/programs", json=program_body("C", budget_krw=1)), 409)
    await add_program(budget, "C", budget_krw=0)
    assert (await get_year(budget, 2023))["programmed_krw"] == 1_000


async def test_lowering_the_envelope_below_the_programs_conflicts(
    budget: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await set_year(budget, 2023, 1_000)
    await add_program(budget, "A", budget_krw=600)
    await add_program(budget, "B", budget_krw=300)
    body = await rejected(db, budget.put("/v1/fiscal-years/2023", json={"envelope_krw": 899}), 409)
    assert "900" in body["detail"]
    assert (await set_year(budget, 2023, 900))["envelope_krw"] == 900  # exactly the programs
    # Another year's programs do not count against 2024.
    assert (await set_year(budget, 2024, 0))["programmed_krw"] == 0


async def test_a_program_needs_its_year(budget: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await set_year(budget, 2023, 1_000)
    body = await rejected(
        db,
        budget.post("/v1/programs", json=program_body("A", fiscal_year=2024, budget_krw=1)),
        422,
        "fiscal_year",
    )
    assert "2024" in body["detail"]


# programs


async def test_program_create_get_and_event(budget: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await set_year(budget, 2023, 937_560_000_000)
    before = await db.fetchval("select count(*) from outbox")
    body = await add_program(
        budget,
        "MP-2023",
        name_en="Materials and parts R&D",
        name_ko="소재부품기술개발",
        track="supply-chain",
        budget_krw=100_530_000_000,
    )
    assert body == {
        "code": "MP-2023",
        "fiscal_year": 2023,
        "name_en": "Materials and parts R&D",
        "name_ko": "소재부품기술개발",
        "kind": "rnd",
        "track": "supply-chain",
        "budget_krw": 100_530_000_000,
        "committed_krw": 0,
        "disbursed_krw": 0,
        "themes": [],
        "version": 1,
    }
    assert await ok(budget.get("/v1/programs/MP-2023")) == body
    [event] = await outbox_since(db, before)
    assert (event["type"], event["key"], event["topic"]) == (
        "kr.mpe.budget.program.created.v1",
        "MP-2023",
        "mpe.budget.program",
    )
    assert event["payload"] == {k: v for k, v in body.items() if k not in ("committed_krw", "disbursed_krw")}
    assert (await get_year(budget, 2023))["programmed_krw"] == 100_530_000_000


async def test_duplicate_program_conflicts(budget: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await set_year(budget, 2023, 1_000)
    await add_program(budget, "A", budget_krw=10)
    body = await rejected(db, budget.post("/v1/programs", json=program_body("A", budget_krw=10)), 409)
    assert "A" in body["detail"]


async def test_unknown_program_is_404(budget: httpx.AsyncClient) -> None:
    body = assert_problem(await budget.get("/v1/programs/NOPE"), 404)
    assert "NOPE" in body["detail"]


async def test_program_sums_follow_its_projects(funded: httpx.AsyncClient) -> None:
    await add_project(funded, "P-1", government_krw=300)
    await add_project(funded, "P-2", government_krw=200)
    program = await ok(funded.get("/v1/programs/RND"))
    assert (program["committed_krw"], program["disbursed_krw"]) == (0, 0)
    await move(funded, "P-1", "selected", "agreement_signed")
    assert (await pay(funded, "P-1", 120)).status_code == 201
    program = await ok(funded.get("/v1/programs/RND"))
    assert (program["committed_krw"], program["disbursed_krw"]) == (300, 120)


# alchemist themes


THEME = {"title": "Ultra-pure fluorinated polyimide", "stages": [{"stage": "concept", "teams": 6}]}


def theme(*counts: tuple[str, int], title: str = "Theme") -> dict[str, Any]:
    return {"title": title, "stages": [{"stage": s, "teams": n} for s, n in counts]}


@pytest.fixture
async def alchemist(budget: httpx.AsyncClient) -> httpx.AsyncClient:
    await set_year(budget, 2023, 10_000_000_000)
    await add_program(budget, "ALC", kind="alchemist", budget_krw=5_000_000_000)
    await add_program(budget, "RND", kind="rnd", budget_krw=1_000_000_000)
    return budget


async def test_six_three_one_theme_is_accepted_and_replaced(
    alchemist: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = await db.fetchval("select count(*) from outbox")
    body = await ok(
        alchemist.put(
            "/v1/programs/ALC/themes/T-2",
            json=theme(("concept", 6), ("preliminary", 3), ("main", 1), title="Photoresist"),
        )
    )
    assert body["themes"] == [
        {
            "code": "T-2",
            "title": "Photoresist",
            # A stage without a year is of the program's year; it names no projects yet.
            "stages": [
                {"stage": "concept", "teams": 6, "fiscal_year": 2023, "project_codes": []},
                {"stage": "preliminary", "teams": 3, "fiscal_year": 2023, "project_codes": []},
                {"stage": "main", "teams": 1, "fiscal_year": 2023, "project_codes": []},
            ],
        }
    ]
    assert body["version"] == 2
    body = await ok(alchemist.put("/v1/programs/ALC/themes/T-1", json=theme(("concept", 4))))
    assert [t["code"] for t in body["themes"]] == ["T-1", "T-2"]
    # PUT again replaces the theme, it does not add one.
    body = await ok(
        alchemist.put("/v1/programs/ALC/themes/T-1", json=theme(("concept", 4), ("preliminary", 2)))
    )
    assert [(t["code"], len(t["stages"])) for t in body["themes"]] == [("T-1", 2), ("T-2", 3)]
    assert body["version"] == 4
    assert await ok(alchemist.get("/v1/programs/ALC")) == body
    events = await outbox_since(db, before)
    assert [e["type"] for e in events] == ["kr.mpe.budget.program.updated.v1"] * 3
    assert events[-1]["payload"]["themes"] == body["themes"]


async def test_themes_belong_to_alchemist_programs(
    alchemist: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = await rejected(db, alchemist.put("/v1/programs/RND/themes/T-1", json=THEME), 409)
    assert "alchemist" in body["detail"]
    await rejected(db, alchemist.put("/v1/programs/NOPE/themes/T-1", json=THEME), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        P(theme(("concept", 6), ("preliminary", 7)), "stages", id="teams-grow"),
        P(theme(("concept", 6), ("preliminary", 3), ("main", 4)), "stages", id="teams-grow-at-main"),
        P(theme(("preliminary", 3), ("concept", 6)), "stages", id="out-of-order"),
        P(theme(("main", 1), ("preliminary", 3)), "stages", id="main-first"),
        P(theme(("concept", 6), ("concept", 6)), "stages", id="stage-twice"),
        P(theme(), "stages", id="no-stages"),
        P(theme(("concept", 6), ("preliminary", 3), ("main", 1), ("main", 1)), "stages", id="four-stages"),
        P(theme(("final", 1)), "stage", id="unknown-stage"),
        P(theme(("concept", -1)), "teams", id="negative-teams"),
        P(theme(("concept", 6), title="  "), "title", id="blank-title"),
        P({"stages": [{"stage": "concept", "teams": 6}]}, "title", id="missing-title"),
        P({**THEME, "budget_krw": 1}, "budget_krw", id="unknown-field"),
    ],
)
async def test_bad_theme_is_rejected(
    alchemist: httpx.AsyncClient, db: asyncpg.Connection, body: dict[str, Any], field: str
) -> None:
    await rejected(db, alchemist.put("/v1/programs/ALC/themes/T-1", json=body), 422, field)


async def test_bad_theme_code_is_rejected(alchemist: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await rejected(db, alchemist.put("/v1/programs/ALC/themes/t-1", json=THEME), 422, "theme_code")


# lists


async def test_programs_page_by_code_and_filter_by_year(budget: httpx.AsyncClient) -> None:
    await set_year(budget, 2022, 10_000)
    await set_year(budget, 2023, 10_000)
    for code in ("E", "A", "D", "B", "C"):
        await add_program(budget, f"P-{code}", budget_krw=1)
    await add_program(budget, "OLD", fiscal_year=2022, budget_krw=1)
    assert await walk(budget, "/v1/programs", 2) == ["OLD", "P-A", "P-B", "P-C", "P-D", "P-E"]
    assert await walk(budget, "/v1/programs", 2, fiscal_year=2023) == ["P-A", "P-B", "P-C", "P-D", "P-E"]
    assert await walk(budget, "/v1/programs", 50, fiscal_year=2022) == ["OLD"]
    assert await walk(budget, "/v1/programs", 50, fiscal_year=2021) == []


@pytest.fixture
async def listed(funded: httpx.AsyncClient) -> httpx.AsyncClient:
    """Projects over two years, two programs, three technologies, firms and states."""
    client = funded
    await set_year(client, 2022, 10_000_000_000)
    await add_program(client, "OLD", fiscal_year=2022)
    await add_program(client, "RND2")
    await add_project(client, "A-22", "OLD", technology_codes=["DISP-001"])
    await add_project(
        client,
        "B-1",
        technology_codes=["SEMI-001", "SEMI-002"],
        lead_firm_brn="100-00-00014",
        government_krw=100,
        private_cash_krw=100,
    )
    await add_project(
        client,
        "C-1",
        technology_codes=["SEMI-002"],
        lead_firm_brn="1000000033",
        government_krw=75,
        private_cash_krw=25,
    )
    await add_project(client, "D-1", "RND2", technology_codes=["AUTO-001", "SEMI-001"])
    await add_project(client, "E-1", kind="continuing", continues="A-22", technology_codes=["DISP-001"])
    await move(client, "B-1", "selected")
    await move(client, "D-1", "selected", "agreement_signed")
    await move(client, "E-1", "terminated", reason="duplicate of D-1")
    return client


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        P({}, ["A-22", "B-1", "C-1", "D-1", "E-1"], id="all"),
        P({"program": "RND"}, ["B-1", "C-1", "E-1"], id="program"),
        P({"program": "RND2"}, ["D-1"], id="program-2"),
        P({"program": "NOPE"}, [], id="unknown-program"),
        P({"technology": "SEMI-001"}, ["B-1", "D-1"], id="technology-first-or-not"),
        P({"technology": "SEMI-002"}, ["B-1", "C-1"], id="technology-2"),
        P({"technology": "DISP-001"}, ["A-22", "E-1"], id="technology-across-years"),
        P({"firm": "1000000014"}, ["B-1"], id="firm-digits"),
        P({"firm": "100-00-00014"}, ["B-1"], id="firm-display"),
        P({"firm": "100-00-00033"}, ["C-1"], id="firm-display-sme"),
        P({"firm": "1000000028"}, [], id="firm-without-projects"),
        P({"status": "proposed"}, ["A-22", "C-1"], id="status-proposed"),
        P({"status": "selected"}, ["B-1"], id="status-selected"),
        P({"status": "agreement_signed"}, ["D-1"], id="status-signed"),
        P({"status": "terminated"}, ["E-1"], id="status-terminated"),
        P({"status": "active"}, [], id="status-active"),
        P({"fiscal_year": 2022}, ["A-22"], id="year-2022"),
        P({"fiscal_year": 2023}, ["B-1", "C-1", "D-1", "E-1"], id="year-2023"),
        P({"fiscal_year": 2023, "technology": "SEMI-001", "status": "selected"}, ["B-1"], id="combined"),
        P({"program": "RND", "firm": "1000000033"}, ["C-1"], id="program-and-firm"),
    ],
)
async def test_project_filters(
    listed: httpx.AsyncClient, params: dict[str, Any], expected: list[str]
) -> None:
    assert await walk(listed, "/v1/projects", 200, **params) == expected
    # Page by page, the same projects, each once.
    assert await walk(listed, "/v1/projects", 1, **params) == expected
    assert await walk(listed, "/v1/projects", 2, **params) == expected


async def test_project_read_shape(listed: httpx.AsyncClient) -> None:
    body = await ok(listed.get("/v1/projects/B-1"))
    history = body.pop("history")
    assert body == {
        "code": "B-1",
        "program_code": "RND",
        "fiscal_year": 2023,
        "title": "Project B-1",
        "kind": "new",
        "continues": None,
        "technology_codes": ["SEMI-001", "SEMI-002"],
        "lead_firm_brn": "1000000014",
        "government_krw": 100,
        "private_cash_krw": 100,
        "private_in_kind_krw": 0,
        "start_on": "2023-04-01",
        "end_on": "2025-12-31",
        "status": "selected",
        "committed_krw": 100,
        "disbursed_krw": 0,
        "version": 2,
        "chain_root": "B-1",
        "participants": [
            {
                "role": "lead",
                "kind": "firm",
                "name": None,
                "brn": "1000000014",
                "country": "KR",
                "government_krw": 100,
                "private_cash_krw": 100,
                "private_in_kind_krw": 0,
            }
        ],
        "program_kind": "rnd",
        "track": None,
        "selected_on": history[0]["effective_on"],
        "lead_firm_size": "large",
        "lead_firm_region": "서울",
    }
    [step] = history
    assert step["effective_on"] == datetime.now(ZoneInfo("Asia/Seoul")).date().isoformat()
    assert (step["from_status"], step["to_status"], step["actor"], step["reason"]) == (
        "proposed",
        "selected",
        "tester",
        None,
    )
    assert datetime.fromisoformat(step["at"]).tzinfo is not None
    assert abs((datetime.now(UTC) - datetime.fromisoformat(step["at"])).total_seconds()) < 60
    assert await ok(listed.get("/v1/projects", params={"firm": "1000000014"})) == {
        "items": [{**body, "history": history}],
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        P("/v1/projects", {"limit": 0}, "limit", id="projects-limit-0"),
        P("/v1/projects", {"limit": 201}, "limit", id="projects-limit-over-cap"),
        P("/v1/projects", {"cursor": "!!!"}, "cursor", id="projects-garbage-cursor"),
        P("/v1/projects", {"cursor": cursor_of([1])}, "cursor", id="projects-number-cursor"),
        P("/v1/projects", {"cursor": cursor_of(["A", "B"])}, "cursor", id="projects-two-key-cursor"),
        P("/v1/projects", {"cursor": cursor_of({"a": 1})}, "cursor", id="projects-object-cursor"),
        P("/v1/projects", {"status": "paused"}, "status", id="projects-unknown-status"),
        P("/v1/projects", {"fiscal_year": 1999}, "fiscal_year", id="projects-year-too-early"),
        P("/v1/projects", {"fiscal_year": "soon"}, "fiscal_year", id="projects-year-not-a-number"),
        P("/v1/programs", {"limit": 201}, "limit", id="programs-limit-over-cap"),
        P("/v1/programs", {"cursor": "x"}, "cursor", id="programs-garbage-cursor"),
        P("/v1/programs", {"fiscal_year": 2101}, "fiscal_year", id="programs-year-too-late"),
    ],
)
async def test_bad_list_parameters(
    funded: httpx.AsyncClient, path: str, params: dict[str, Any], field: str
) -> None:
    assert_problem(await funded.get(path, params=params), 422, field)


# bad input: every rejection is a problem, names the field, and changes nothing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        P({}, "envelope_krw", id="missing"),
        P({"envelope_krw": -1}, "envelope_krw", id="negative"),
        P({"envelope_krw": 1.5}, "envelope_krw", id="fraction"),
        P({"envelope_krw": 2**63}, "envelope_krw", id="over-64-bits"),
        P({"envelope_krw": 1, "currency": "KRW"}, "currency", id="unknown-field"),
    ],
)
async def test_bad_fiscal_year_is_rejected(
    funded: httpx.AsyncClient, db: asyncpg.Connection, body: dict[str, Any], field: str
) -> None:
    await rejected(db, funded.put("/v1/fiscal-years/2023", json=body), 422, field)


@pytest.mark.parametrize("year", ["1999", "2101", "twenty"])
async def test_fiscal_year_out_of_range_is_422(
    funded: httpx.AsyncClient, db: asyncpg.Connection, year: str
) -> None:
    await rejected(db, funded.put(f"/v1/fiscal-years/{year}", json={"envelope_krw": 1}), 422, "year")
    assert_problem(await funded.get(f"/v1/fiscal-years/{year}"), 422, "year")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        P({"code": "rnd-1"}, "code", id="lowercase-code"),
        P({"code": "A" * 49}, "code", id="code-too-long"),
        P({"code": "../X"}, "code", id="path-code"),
        P({"kind": "grant"}, "kind", id="unknown-kind"),
        P({"budget_krw": -1}, "budget_krw", id="negative-budget"),
        P({"budget_krw": 2**63}, "budget_krw", id="budget-over-64-bits"),
        P({"budget_krw": "five"}, "budget_krw", id="budget-not-a-number"),
        P({"fiscal_year": 1999}, "fiscal_year", id="year-too-early"),
        P({"name_en": "  "}, "name_en", id="blank-name"),
        P({"name_ko": "x" * 301}, "name_ko", id="long-name"),
        P({"name_en": "a\x00b"}, "name_en", id="nul-in-name"),
        P({"track": ""}, "track", id="empty-track"),
        P({"owner": "MOTIE"}, "owner", id="unknown-field"),
    ],
)
async def test_bad_program_is_rejected(
    funded: httpx.AsyncClient, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    await rejected(db, funded.post("/v1/programs", json={**program_body("NEW"), **overrides}), 422, field)


@pytest.mark.parametrize("missing", ["code", "fiscal_year", "name_en", "name_ko", "kind", "budget_krw"])
async def test_program_missing_a_field_is_rejected(
    funded: httpx.AsyncClient, db: asyncpg.Connection, missing: str
) -> None:
    body = program_body("NEW")
    del body[missing]
    await rejected(db, funded.post("/v1/programs", json=body), 422, missing)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        P({"code": "p-1"}, "code", id="lowercase-code"),
        P({"program_code": "NOPE"}, "program_code", id="unknown-program"),
        P({"kind": "renewal"}, "kind", id="unknown-kind"),
        P({"technology_codes": []}, "technology_codes", id="no-technology"),
        P({"technology_codes": ["semi-001"]}, "technology_codes", id="lowercase-technology"),
        P({"technology_codes": [f"SEMI-{i:03d}" for i in range(21)]}, "technology_codes", id="too-many"),
        P({"technology_codes": "SEMI-001"}, "technology_codes", id="technology-not-a-list"),
        P({"government_krw": -1}, "government_krw", id="negative-government"),
        P({"government_krw": 2**63}, "government_krw", id="government-over-64-bits"),
        P({"government_krw": 1.5}, "government_krw", id="fractional-won"),
        P({"private_cash_krw": -1}, "private_cash_krw", id="negative-cash"),
        P({"private_in_kind_krw": -5}, "private_in_kind_krw", id="negative-in-kind"),
        P({"start_on": "2023-02-30"}, "start_on", id="impossible-date"),
        P({"end_on": "2023-04-01"}, "end_on", id="ends-when-it-starts"),
        P({"end_on": "2023-03-31"}, "end_on", id="ends-before-it-starts"),
        P({"lead_firm_brn": "12345"}, "lead_firm_brn", id="short-brn"),
        P({"lead_firm_brn": "１０００００００００１"}, "lead_firm_brn", id="full-width-digits"),
        P({"lead_firm_brn": "100000000A"}, "lead_firm_brn", id="letter-in-brn"),
        P({"title": " "}, "title", id="blank-title"),
        P({"kind": "continuing"}, "continues", id="continuing-without-continues"),
        P({"continues": "A-22"}, "continues", id="new-with-continues"),
        P({"status": "active"}, "status", id="unknown-field"),
        P({"committed_krw": 0}, "committed_krw", id="read-only-field"),
    ],
)
async def test_bad_project_is_rejected(
    funded: httpx.AsyncClient, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    await rejected(db, funded.post("/v1/projects", json={**project_body("NEW"), **overrides}), 422, field)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        P(b"{not json", "application/json", id="malformed-json"),
        P(b"[1, 2]", "application/json", id="json-array"),
        P(b"code=X", "text/plain", id="plain-text"),
    ],
)
async def test_body_that_is_not_a_json_object_is_rejected(
    funded: httpx.AsyncClient, db: asyncpg.Connection, content: bytes, content_type: str
) -> None:
    for path in ("/v1/programs", "/v1/projects"):
        await rejected(db, funded.post(path, content=content, headers={"content-type": content_type}), 422)


async def test_unknown_routes_and_resources_are_404(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert_problem(await funded.get("/v1/nothing"), 404)
    assert_problem(await funded.delete("/v1/programs/RND"), 405)
    for path in ("/v1/projects/NOPE", "/v1/projects/NOPE/disbursements", "/v1/fiscal-years/2030"):
        body = assert_problem(await funded.get(path), 404)
        assert ("NOPE" if "NOPE" in path else "2030") in body["detail"]
    await rejected(db, funded.post("/v1/projects/NOPE/transitions", json={"to": "selected"}), 404)


# auth


ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PUT", "/v1/fiscal-years/2023", {"envelope_krw": 1}),
    ("POST", "/v1/programs", program_body("X")),
    ("PUT", "/v1/programs/RND/themes/T-1", THEME),
    ("POST", "/v1/projects", project_body("X")),
    ("POST", "/v1/projects/X/transitions", {"to": "selected"}),
    ("POST", "/v1/projects/X/disbursements", {"amount_krw": 1, "paid_on": "2023-06-01"}),
]
READS = [
    "/v1/fiscal-years/2023",
    "/v1/programs",
    "/v1/programs/RND",
    "/v1/projects",
    "/v1/projects/X",
    "/v1/projects/X/disbursements",
]


def expired_token() -> str:
    now = int(datetime.now(UTC).timestamp())
    return jwt.encode(
        {"sub": "old", "roles": ["editor"], "iat": now - 7200, "exp": now - 3600}, SECRET, "HS256"
    )


@pytest.mark.parametrize(
    "authorization",
    [
        P(None, id="no-header"),
        P("Basic dXNlcjpwdw==", id="basic"),
        P("Bearer ", id="empty-bearer"),
        P("Bearer not-a-jwt", id="garbage"),
        P(
            f"Bearer {jwt.encode({'sub': 'x', 'roles': ['editor'], 'exp': 9999999997}, 'wrong-secret-of-32-bytes-or-more!!', 'HS256')}",
            id="wrong-secret",
        ),
        P("expired", id="expired"),
    ],
)
async def test_without_a_valid_token_everything_is_401(
    funded: httpx.AsyncClient, db: asyncpg.Connection, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    if authorization == "expired":
        headers = {"Authorization": f"Bearer {expired_token()}"}
    async with client_for(funded.app, **headers) as anon:  # type: ignore[attr-defined]
        for method, path, body in ROUTES:
            resp = anon.request(method, path, json=body, headers={"Idempotency-Key": "k"})
            problem = await rejected(db, resp, 401)
            assert problem["status"] == 401
        for path in READS:
            resp = await anon.get(path)
            assert_problem(resp, 401)
            assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_a_viewer_reads_but_cannot_write(
    funded: httpx.AsyncClient, viewer: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(funded, "X")
    for method, path, body in ROUTES:
        problem = await rejected(
            db, viewer.request(method, path, json=body, headers={"Idempotency-Key": "k"}), 403
        )
        assert "editor" in problem["detail"]
    for path in READS:
        assert (await viewer.get(path)).status_code == 200, path
    assert await db.fetchval("select count(*) from idempotency_keys") == 0


async def test_the_actor_comes_from_the_token(funded: httpx.AsyncClient) -> None:
    await add_project(funded, "X")
    async with client_for(funded.app, Authorization=f"Bearer {token('editor', sub='kim.officer')}") as kim:  # type: ignore[attr-defined]
        body = await move(kim, "X", "selected")
    assert body["history"][0]["actor"] == "kim.officer"


async def test_authentication_comes_before_validation(funded: httpx.AsyncClient) -> None:
    async with client_for(funded.app) as anon:  # type: ignore[attr-defined]
        assert_problem(await anon.post("/v1/programs", json={"code": "bad code"}), 401)
        assert_problem(await anon.post("/v1/projects/X/disbursements", json={}), 401)


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        P("GET", "/v1/programs/%00", {}, id="nul-program"),
        P("GET", "/v1/projects/%00", {}, id="nul-project"),
        P("GET", "/v1/projects/%00/disbursements", {}, id="nul-project-disbursements"),
        P("POST", "/v1/projects/%00/transitions", {}, id="nul-project-transition"),
        P("POST", "/v1/projects/%00/disbursements", {}, id="nul-project-payment"),
        P("GET", "/v1/projects", {"program": "\x00"}, id="nul-program-filter"),
        P("GET", "/v1/projects", {"technology": "\x00"}, id="nul-technology-filter"),
        P("GET", "/v1/projects", {"firm": "\x00"}, id="nul-firm-filter"),
        P("GET", "/v1/projects", {"cursor": cursor_of(["\x00"])}, id="nul-in-cursor"),
        P("GET", "/v1/programs/" + "X" * 5000, {}, id="very-long-code"),
    ],
)
async def test_odd_input_is_never_a_server_error(
    funded: httpx.AsyncClient, db: asyncpg.Connection, method: str, path: str, params: dict[str, str]
) -> None:
    body = (
        {"to": "selected"}
        if path.endswith("transitions")
        else {"amount_krw": 1, "paid_on": "2023-06-01"}
        if method == "POST"
        else None
    )
    before = await db.fetchval("select count(*) from outbox")
    resp = await funded.request(method, path, params=params, json=body, headers={"Idempotency-Key": "odd"})
    assert resp.status_code in (200, 404, 422), resp.text
    assert resp.headers["content-type"].startswith("application/problem+json") or resp.status_code == 200
    assert await db.fetchval("select count(*) from outbox") == before
