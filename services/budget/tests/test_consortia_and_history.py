"""What the rollups and the money over time need: history with dates, the yearly chain, consortia with
foreign partners, the selection-day snapshot, and alchemist themes over several years."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from .conftest import (
    FIRMS,
    StubOwners,
    add_program,
    add_project,
    move,
    ok,
    outbox_since,
    project_body,
    rejected,
    set_year,
)

P = pytest.param
LARGE, MID, SME = (b for b, _ in sorted(FIRMS.items(), key=lambda kv: ["large", "mid", "sme"].index(kv[1])))
UNKNOWN_FIRM = "1000000047"


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Seoul")).date().isoformat()


def consortium(*, partner_country: str = "DE") -> list[dict[str, Any]]:
    """A mid-sized lead firm, an SME, a university and a foreign institute.

    ₩1bn government, ₩100m cash and ₩510m in kind in all; the Korean side's ₩460m private money
    keeps government at 68.5% (the mid-sized cap is 70%) and cash at 21.7% (the floor is 13%).
    """
    return [
        {
            "role": "lead",
            "kind": "firm",
            "brn": MID,
            "government_krw": 500_000_000,
            "private_cash_krw": 80_000_000,
            "private_in_kind_krw": 260_000_000,
        },
        {
            "role": "participant",
            "kind": "firm",
            "brn": f"{SME[:3]}-{SME[3:5]}-{SME[5:]}",
            "government_krw": 300_000_000,
            "private_cash_krw": 20_000_000,
            "private_in_kind_krw": 100_000_000,
        },
        {"role": "participant", "kind": "university", "name": "KAIST", "government_krw": 200_000_000},
        {
            "role": "participant",
            "kind": "institute",
            "name": "Fraunhofer-Institut für Lasertechnik",
            "country": partner_country,
            "private_in_kind_krw": 150_000_000,
        },
    ]


def joint(code: str, **overrides: Any) -> dict[str, Any]:
    return project_body(
        code,
        **{
            "lead_firm_brn": MID,
            "government_krw": 1_000_000_000,
            "private_cash_krw": 100_000_000,
            "private_in_kind_krw": 510_000_000,
            "participants": consortium(),
            **overrides,
        },
    )


@pytest.fixture
async def years(budget: httpx.AsyncClient) -> httpx.AsyncClient:
    """2023 and 2024, each with an R&D program (with a track) and an alchemist program."""
    for year in (2023, 2024, 2025):
        await set_year(budget, year, 50_000_000_000)
        await add_program(
            budget, f"RND{year}", fiscal_year=year, budget_krw=10_000_000_000, track="new-industries"
        )
        await add_program(budget, f"ALC{year}", fiscal_year=year, kind="alchemist", budget_krw=10_000_000_000)
    return budget


# history and the yearly chain


async def test_a_move_carries_the_day_it_took_effect_and_the_history_rides_on_the_event(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(years, "H-1", "RND2023")
    before = await db.fetchval("select count(*) from outbox")
    chosen = {"to": "selected", "reason": "Committee of 14 March", "effective_on": "2023-03-14"}
    await ok(years.post("/v1/projects/H-1/transitions", json=chosen))
    body = await ok(years.post("/v1/projects/H-1/transitions", json={"to": "agreement_signed"}))
    assert [(s["to_status"], s["effective_on"], s["reason"], s["actor"]) for s in body["history"]] == [
        ("selected", "2023-03-14", "Committee of 14 March", "tester"),
        ("agreement_signed", today(), None, "tester"),
    ]
    assert body["selected_on"] == "2023-03-14"
    [_, signed] = await outbox_since(db, before)
    assert signed["payload"]["history"] == body["history"]
    assert signed["payload"]["selected_on"] == "2023-03-14"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        P("2023-05-01", "2023-04-30", id="before-the-previous-move"),
        P(None, "2999-01-01", id="in-the-future"),
    ],
)
async def test_a_move_never_predates_the_previous_one_nor_is_in_the_future(
    years: httpx.AsyncClient, db: asyncpg.Connection, first: str | None, second: str
) -> None:
    await add_project(years, "H-1", "RND2023")
    await ok(years.post("/v1/projects/H-1/transitions", json={"to": "selected", "effective_on": first}))
    again = years.post(
        "/v1/projects/H-1/transitions", json={"to": "agreement_signed", "effective_on": second}
    )
    await rejected(db, again, 422, "effective_on")


async def test_yearly_records_chain_to_their_first_year_and_are_continued_once(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(years, "C-23", "RND2023")
    second = await add_project(years, "C-24", "RND2024", kind="continuing", continues="C-23")
    third = await add_project(years, "C-25", "RND2025", kind="continuing", continues="C-24")
    assert (second["chain_root"], third["chain_root"]) == ("C-23", "C-23")
    events = await outbox_since(db, 0)
    proposed = {e["key"]: e["payload"] for e in events if e["type"].endswith("project.proposed.v1")}
    assert (proposed["C-25"]["continues"], proposed["C-25"]["chain_root"]) == ("C-24", "C-23")
    fork = years.post(
        "/v1/projects", json=project_body("C-24B", "RND2024", kind="continuing", continues="C-23")
    )
    body = await rejected(db, fork, 409)
    assert "C-24" in body["detail"]


async def test_two_proposals_continuing_one_project_at_once_get_one_201_and_one_409(
    years: httpx.AsyncClient, db: asyncpg.Connection, locker: asyncpg.Connection
) -> None:
    # Found by a review: both passed the "already continued?" check, and the loser's insert hit
    # the unique index as a 500. A lock held on the previous project lines them up every time.
    await add_project(years, "K-23", "RND2023")
    tx = locker.transaction()
    await tx.start()
    await locker.execute("select 1 from projects where code = 'K-23' for update")
    proposals = [
        asyncio.create_task(
            years.post(
                "/v1/projects", json=project_body(code, "RND2024", kind="continuing", continues="K-23")
            )
        )
        for code in ("K-24A", "K-24B")
    ]
    async with asyncio.timeout(10):
        while True:
            waiting = await db.fetchval(
                "select count(*) from pg_stat_activity"
                " where datname = current_database() and wait_event_type = 'Lock'"
            )
            if waiting == 2:
                break
            await asyncio.sleep(0.02)
    await tx.rollback()
    answers = await asyncio.gather(*proposals)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    won = next(a.json()["code"] for a in answers if a.status_code == 201)
    lost = next(a for a in answers if a.status_code == 409)
    assert lost.headers["content-type"] == "application/problem+json"
    assert won in lost.json()["detail"]
    assert await db.fetchval("select array_agg(code) from projects where continues = 'K-23'") == [won]


# consortia


async def test_a_joint_project_carries_its_consortium_and_is_found_by_partner_and_country(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = await db.fetchval("select count(*) from outbox")
    body = await ok(years.post("/v1/projects", json=joint("J-1", program_code="RND2023")), 201)
    assert [(p["role"], p["kind"], p["brn"], p["name"], p["country"]) for p in body["participants"]] == [
        ("lead", "firm", MID, None, "KR"),
        ("participant", "firm", SME, None, "KR"),  # the BRN is kept as digits
        ("participant", "university", None, "KAIST", "KR"),
        ("participant", "institute", None, "Fraunhofer-Institut für Lasertechnik", "DE"),
    ]
    [event] = await outbox_since(db, before)
    assert event["payload"]["participants"] == body["participants"]
    assert (event["payload"]["lead_firm_size"], event["payload"]["lead_firm_region"]) == ("mid", "경기")
    assert (event["payload"]["program_kind"], event["payload"]["track"]) == ("rnd", "new-industries")
    await add_project(years, "SOLO", "RND2023")
    for params in (
        {"partner_country": "DE"},
        {"participant": SME},
        {"participant": f"{MID[:3]}-{MID[3:5]}-{MID[5:]}"},
    ):
        found = await ok(years.get("/v1/projects", params=params))
        assert [p["code"] for p in found["items"]] == ["J-1"], params
    assert (await ok(years.get("/v1/projects", params={"partner_country": "DK"})))["items"] == []


async def test_without_a_consortium_the_lead_firm_holds_all_of_the_money(years: httpx.AsyncClient) -> None:
    body = await add_project(
        years, "L-1", "RND2023", lead_firm_brn=LARGE, government_krw=100, private_cash_krw=100
    )
    assert [
        (p["role"], p["brn"], p["government_krw"], p["private_cash_krw"]) for p in body["participants"]
    ] == [("lead", LARGE, 100, 100)]
    institute_led = await add_project(years, "I-1", "RND2023")
    assert institute_led["participants"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        P(lambda c: c[3].update(country="XX"), "participants[3].country", id="no-such-country"),
        P(lambda c: c[3].update(country="de"), "participants[3].country", id="lower-case-country"),
        P(
            lambda c: c[2].update(government_krw=1),
            "participants",
            id="shares-do-not-add-up",
        ),
        P(lambda c: c[0].update(role="participant"), "participants", id="no-lead"),
        P(lambda c: c[1].update(brn="123-45-67890"), "participants[1].brn", id="bad-check-digit"),
    ],
)
async def test_a_consortium_that_breaks_a_rule_is_refused(
    years: httpx.AsyncClient, db: asyncpg.Connection, change: Any, field: str
) -> None:
    members = consortium()
    change(members)
    await rejected(
        db,
        years.post("/v1/projects", json=joint("J-1", program_code="RND2023", participants=members)),
        422,
        field,
    )


async def test_a_participating_firm_must_be_known_to_the_firms_service(
    years: httpx.AsyncClient, owners: StubOwners, db: asyncpg.Connection
) -> None:
    members = consortium()
    members[1]["brn"] = UNKNOWN_FIRM
    body = joint("J-1", program_code="RND2023", participants=members)
    await rejected(db, years.post("/v1/projects", json=body), 422, "participants[1].brn", replicas=False)
    # Once the firms service knows it, the read-through keeps it and the project is accepted.
    owners.firms[UNKNOWN_FIRM] = {
        "brn": UNKNOWN_FIRM,
        "size": "sme",
        "size_since": "2020-01-01",
        "region": "부산",
        "version": 1,
    }
    await ok(years.post("/v1/projects", json=body), 201)


async def test_the_caps_apply_to_the_korean_side_only(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # ₩160m of the lead's in-kind share moves to the foreign partner: the whole project's private
    # money stays ₩610m (62% government), but the Korean side's falls to ₩300m, 76.9% > 70%.
    members = consortium()
    members[0]["private_in_kind_krw"] -= 160_000_000
    members[3]["private_in_kind_krw"] += 160_000_000
    body = joint("J-1", program_code="RND2023", participants=members)
    await rejected(db, years.post("/v1/projects", json=body), 422, "government_krw")
    await ok(years.post("/v1/projects", json=joint("J-2", program_code="RND2023")), 201)


# the selection-day snapshot


async def test_selection_keeps_the_lead_firm_as_it_stood_that_day(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(years, "S-1", "RND2023", lead_firm_brn=SME, government_krw=75, private_cash_krw=25)
    await db.execute("update firm_replica set size = 'mid', region = '대전', version = 2 where brn = $1", SME)
    selected = await move(years, "S-1", "selected")
    assert (selected["lead_firm_size"], selected["lead_firm_region"]) == ("mid", "대전")
    # Later changes of the firm leave the selected project's attribution alone.
    await db.execute(
        "update firm_replica set size = 'large', region = '서울', version = 3 where brn = $1", SME
    )
    signed = await move(years, "S-1", "agreement_signed")
    assert (signed["lead_firm_size"], signed["lead_firm_region"], signed["selected_on"]) == (
        "mid",
        "대전",
        today(),
    )


# alchemist themes over years


async def test_a_theme_runs_over_years_naming_the_projects_of_each_stage(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for code in ("A23-1", "A23-2", "A23-3"):
        await add_project(years, code, "ALC2023")
    await add_project(years, "A24-1", "ALC2024", kind="continuing", continues="A23-1")
    await add_project(years, "R24-1", "RND2024")
    stages = [
        {"stage": "concept", "teams": 3, "project_codes": ["A23-1", "A23-2", "A23-3"]},
        {"stage": "preliminary", "teams": 1, "fiscal_year": 2024, "project_codes": ["A24-1"]},
        {"stage": "main", "teams": 1, "fiscal_year": 2025},
    ]
    before = await db.fetchval("select count(*) from outbox")
    body = await ok(
        years.put(
            "/v1/programs/ALC2023/themes/T-1", json={"title": "Room-temperature magnets", "stages": stages}
        )
    )
    [theme] = body["themes"]
    assert [(s["stage"], s["fiscal_year"], s["teams"], s["project_codes"]) for s in theme["stages"]] == [
        ("concept", 2023, 3, ["A23-1", "A23-2", "A23-3"]),
        ("preliminary", 2024, 1, ["A24-1"]),
        ("main", 2025, 1, []),
    ]
    [event] = await outbox_since(db, before)
    assert event["payload"]["themes"] == body["themes"]
    for bad, field in (
        ({**stages[1], "project_codes": ["A23-2"]}, "stages[1].project_codes"),  # a 2023 project in 2024
        ({**stages[1], "project_codes": ["R24-1"]}, "stages[1].project_codes"),  # not an alchemist project
        ({**stages[1], "project_codes": ["NOPE"]}, "stages[1].project_codes"),
        ({**stages[1], "teams": 4}, "stages"),  # teams never grow
    ):
        put = years.put("/v1/programs/ALC2023/themes/T-1", json={"title": "x", "stages": [stages[0], bad]})
        await rejected(db, put, 422, field)


async def test_the_next_day_is_refused_and_today_is_the_default(
    years: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(years, "D-1", "RND2023")
    tomorrow = (datetime.now(ZoneInfo("Asia/Seoul")).date() + timedelta(days=1)).isoformat()
    await rejected(
        db,
        years.post("/v1/projects/D-1/transitions", json={"to": "selected", "effective_on": tomorrow}),
        422,
        "effective_on",
    )
    assert (await move(years, "D-1", "selected"))["selected_on"] == today()
