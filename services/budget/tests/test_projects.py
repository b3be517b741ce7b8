"""Projects through the REST API: what a proposal needs, the lifecycle, and what each state commits."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from .conftest import (
    FIRMS,
    StubOwners,
    add_program,
    add_project,
    assert_problem,
    get_year,
    move,
    ok,
    outbox_since,
    pay,
    project_body,
    rejected,
    set_year,
)

P = pytest.param
PROJECT = "kr.mpe.budget.project"
# The replica's firms, in the display form 123-45-67890.
BY_SIZE = {size: f"{b[:3]}-{b[3:5]}-{b[5:]}" for b, size in FIRMS.items()}
MID, SME = BY_SIZE["mid"], BY_SIZE["sme"]


async def money(client: httpx.AsyncClient, code: str) -> tuple[int, int, int, int, int]:
    """(project committed, project disbursed, program committed, year committed, year disbursed)."""
    project = await ok(client.get(f"/v1/projects/{code}"))
    program = await ok(client.get(f"/v1/programs/{project['program_code']}"))
    year = await get_year(client, project["fiscal_year"])
    return (
        project["committed_krw"],
        project["disbursed_krw"],
        program["committed_krw"],
        year["committed_krw"],
        year["disbursed_krw"],
    )


# proposals


async def test_a_proposal_commits_nothing_and_writes_one_event(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = await db.fetchval("select count(*) from outbox")
    body = await add_project(
        funded,
        "P-1",
        technology_codes=["SEMI-002", "SEMI-001", "SEMI-002"],
        lead_firm_brn=MID,
        government_krw=700_000_000,
        private_cash_krw=39_000_000,
        private_in_kind_krw=261_000_000,
    )
    assert body["status"] == "proposed"
    assert body["technology_codes"] == ["SEMI-002", "SEMI-001"]  # duplicates dropped, the first stays first
    assert body["lead_firm_brn"] == "1000000028"  # stored as digits
    assert (body["committed_krw"], body["disbursed_krw"], body["history"], body["version"]) == (0, 0, [], 1)
    assert await money(funded, "P-1") == (0, 0, 0, 0, 0)
    [event] = await outbox_since(db, before)
    assert (event["type"], event["key"], event["topic"]) == (
        f"{PROJECT}.proposed.v1",
        "P-1",
        "mpe.budget.project",
    )
    assert event["payload"]["status"] == "proposed"
    assert event["payload"]["committed_krw"] == 0
    assert event["payload"]["lead_firm_brn"] == "1000000028"


async def test_duplicate_project_conflicts(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await add_project(funded, "P-1")
    body = await rejected(db, funded.post("/v1/projects", json=project_body("P-1", government_krw=5)), 409)
    assert "P-1" in body["detail"]


# technology codes


async def test_a_retired_technology_is_named(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    body = await rejected(
        db,
        funded.post("/v1/projects", json=project_body("P-1", technology_codes=["SEMI-001", "SEMI-099"])),
        422,
        "technology_codes",
    )
    assert "SEMI-099" in body["detail"]
    assert "SEMI-001" not in body["detail"]


async def test_a_replica_miss_with_the_catalog_unreachable_is_503(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await rejected(
        db,
        funded.post("/v1/projects", json=project_body("P-1", technology_codes=["SEMI-001", "BIO-001"])),
        503,
    )


async def test_an_unknown_technology_is_named_once_the_catalog_says_so(
    funded: httpx.AsyncClient, db: asyncpg.Connection, owners: StubOwners
) -> None:
    body = await rejected(
        db,
        funded.post("/v1/projects", json=project_body("P-1", technology_codes=["BIO-404", "SEMI-099"])),
        422,
        "technology_codes",
    )
    assert "BIO-404" in body["detail"]
    assert "SEMI-099" in body["detail"]
    messages = " ".join(e["message"] for e in body["errors"])
    assert "BIO-404" in messages
    assert "SEMI-099" in messages
    # The replica's miss was read through to the catalog with the service's token.
    assert owners.requests == ["technology BIO-404 Bearer service-token"]


async def test_a_technology_the_replica_has_not_seen_yet_is_read_through(
    funded: httpx.AsyncClient, db: asyncpg.Connection, owners: StubOwners
) -> None:
    owners.technologies["BIO-001"] = {
        "code": "BIO-001",
        "status": "listed",
        "listed_on": "2022-10-18",
        "retired_on": None,
        "version": 1,
    }
    owners.technologies["BIO-002"] = {
        **owners.technologies["BIO-001"],
        "code": "BIO-002",
        "status": "retired",
    }
    owners.technologies["BIO-002"]["retired_on"] = "2023-01-02"
    owners.technologies["BIO-003"] = {
        **owners.technologies["BIO-002"],
        "code": "BIO-003",
        "retired_on": "2024-04-03",
    }
    await add_project(funded, "P-1", technology_codes=["BIO-001"])
    assert await db.fetchval("select status from technology_replica where code = 'BIO-001'") == "listed"
    # Retired before the project starts (2023-04-01): refused.
    body = assert_problem(
        await funded.post("/v1/projects", json=project_body("P-2", technology_codes=["BIO-002"])),
        422,
        "technology_codes",
    )
    assert "BIO-002 is retired: off the list from 2023-01-02" in body["detail"]
    # Retired since, but on the list when it started: a past project is entered as it was (found
    # by a probe: it was refused, the check reading the list of today).
    await add_project(funded, "P-4", technology_codes=["BIO-003"])
    # Read once: the replica answers the next time.
    await add_project(funded, "P-3", technology_codes=["BIO-001"])
    assert [r.split()[1] for r in owners.requests] == ["BIO-001", "BIO-002", "BIO-003"]


@pytest.mark.parametrize("status", [500, 401, 403])
async def test_a_catalog_that_refuses_makes_it_503(
    funded: httpx.AsyncClient, db: asyncpg.Connection, owners: StubOwners, status: int
) -> None:
    owners.answer_status = status
    await rejected(
        db, funded.post("/v1/projects", json=project_body("P-1", technology_codes=["BIO-001"])), 503
    )


# the lead firm


async def test_a_firm_unknown_to_the_replica_with_firms_unreachable_is_503(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await rejected(db, funded.post("/v1/projects", json=project_body("P-1", lead_firm_brn="2000000008")), 503)


async def test_a_firm_unknown_to_the_firms_service_is_422(
    funded: httpx.AsyncClient, db: asyncpg.Connection, owners: StubOwners
) -> None:
    body = await rejected(
        db,
        funded.post("/v1/projects", json=project_body("P-1", lead_firm_brn="200-00-00008")),
        422,
        "lead_firm_brn",
    )
    assert "2000000008" in body["detail"]
    assert owners.requests == ["firm 2000000008 Bearer service-token"]


async def test_a_firm_read_through_gets_its_size_cap(
    funded: httpx.AsyncClient, db: asyncpg.Connection, owners: StubOwners
) -> None:
    owners.firms["2000000008"] = {
        "brn": "2000000008",
        "size": "large",
        "size_since": "2021-01-01",
        "version": 4,
    }
    # A large firm may take at most half: refused, but its size is now known locally.
    await rejected(
        db,
        funded.post(
            "/v1/projects",
            json=project_body("P-1", lead_firm_brn="2000000008", government_krw=101, private_cash_krw=100),
        ),
        422,
        "government_krw",
        replicas=False,
    )
    assert await db.fetchval("select size from firm_replica where brn = '2000000008'") == "large"
    await add_project(funded, "P-1", lead_firm_brn="2000000008", government_krw=100, private_cash_krw=100)
    assert len(owners.requests) == 1


# cost-share caps, exactly at each boundary and one won past it


# size -> (private money making the ceiling exact, the government amount at the ceiling)
CEILING = {"large": (1_000_000_000, 1_000_000_000), "mid": (3_000_000_000, 7_000_000_000)}
CEILING["sme"] = (1_000_000_000, 3_000_000_000)
# size -> (cash, in kind) with cash exactly at the floor of cash / (cash + in kind)
FLOOR = {
    "large": (150_000_000, 850_000_000),
    "mid": (130_000_000, 870_000_000),
    "sme": (100_000_000, 900_000_000),
}


@pytest.fixture
async def roomy(budget: httpx.AsyncClient) -> httpx.AsyncClient:
    await set_year(budget, 2023, 100_000_000_000)
    await add_program(budget, "RND", budget_krw=50_000_000_000)
    return budget


@pytest.mark.parametrize("size", ["large", "mid", "sme"])
@pytest.mark.parametrize("brn_form", ["display", "digits"])
async def test_government_ceiling_is_inclusive(
    roomy: httpx.AsyncClient, db: asyncpg.Connection, size: str, brn_form: str
) -> None:
    brn = BY_SIZE[size] if brn_form == "display" else BY_SIZE[size].replace("-", "")
    private, government = CEILING[size]
    # Half the private money in kind: the cash floor holds everywhere.
    cash, in_kind = private // 2, private - private // 2
    over = project_body(
        "P-1",
        lead_firm_brn=brn,
        government_krw=government + 1,
        private_cash_krw=cash,
        private_in_kind_krw=in_kind,
    )
    body = await rejected(db, roomy.post("/v1/projects", json=over), 422, "government_krw")
    assert size in body["detail"]
    # One won less of private money is past the ceiling too.
    short = {**over, "government_krw": government, "private_in_kind_krw": in_kind - 1}
    await rejected(db, roomy.post("/v1/projects", json=short), 422, "government_krw")
    exact = await add_project(
        roomy,
        "P-1",
        lead_firm_brn=brn,
        government_krw=government,
        private_cash_krw=cash,
        private_in_kind_krw=in_kind,
    )
    assert exact["government_krw"] * 100 == {"large": 50, "mid": 70, "sme": 75}[size] * (
        exact["government_krw"] + exact["private_cash_krw"] + exact["private_in_kind_krw"]
    )


@pytest.mark.parametrize("size", ["large", "mid", "sme"])
async def test_cash_floor_is_inclusive(roomy: httpx.AsyncClient, db: asyncpg.Connection, size: str) -> None:
    cash, in_kind = FLOOR[size]
    government = 500_000_000  # at most half of the total: within every ceiling
    # One won of the cash moved in kind: the private total and the government share stay the same.
    under = project_body(
        "P-1",
        lead_firm_brn=BY_SIZE[size],
        government_krw=government,
        private_cash_krw=cash - 1,
        private_in_kind_krw=in_kind + 1,
    )
    body = await rejected(db, roomy.post("/v1/projects", json=under), 422, "private_cash_krw")
    assert size in body["detail"]
    exact = await add_project(
        roomy,
        "P-1",
        lead_firm_brn=BY_SIZE[size],
        government_krw=government,
        private_cash_krw=cash,
        private_in_kind_krw=in_kind,
    )
    assert exact["private_cash_krw"] * 100 == {"large": 15, "mid": 13, "sme": 10}[size] * (cash + in_kind)


@pytest.mark.parametrize("size", ["large", "mid", "sme"])
async def test_all_private_money_in_kind_is_refused(
    roomy: httpx.AsyncClient, db: asyncpg.Connection, size: str
) -> None:
    body = project_body("P-1", lead_firm_brn=BY_SIZE[size], government_krw=1, private_in_kind_krw=1_000)
    await rejected(db, roomy.post("/v1/projects", json=body), 422, "private_cash_krw")


@pytest.mark.parametrize("size", ["large", "mid", "sme"])
async def test_all_government_money_is_refused_with_a_lead_firm(
    roomy: httpx.AsyncClient, db: asyncpg.Connection, size: str
) -> None:
    body = project_body("P-1", lead_firm_brn=BY_SIZE[size], government_krw=1_000)
    await rejected(db, roomy.post("/v1/projects", json=body), 422, "government_krw")


async def test_no_lead_firm_no_cap(roomy: httpx.AsyncClient) -> None:
    body = await add_project(roomy, "P-1", government_krw=5_000_000_000)
    assert (body["lead_firm_brn"], body["private_cash_krw"], body["private_in_kind_krw"]) == (None, 0, 0)
    await add_project(roomy, "P-2", government_krw=5_000_000_000, private_in_kind_krw=1)


# continuing projects


@pytest.fixture
async def two_years(funded: httpx.AsyncClient) -> httpx.AsyncClient:
    await set_year(funded, 2022, 10_000_000_000)
    await set_year(funded, 2021, 10_000_000_000)
    await add_program(funded, "RND-22", fiscal_year=2022)
    await add_program(funded, "RND-21", fiscal_year=2021)
    await add_project(funded, "P-22", "RND-22", start_on="2022-04-01")
    await add_project(funded, "P-21", "RND-21", start_on="2021-04-01")
    await add_project(funded, "P-23", "RND")
    return funded


async def test_a_continuing_project_names_last_years_project(two_years: httpx.AsyncClient) -> None:
    body = await add_project(two_years, "C-23", "RND", kind="continuing", continues="P-22")
    assert (body["kind"], body["continues"], body["fiscal_year"]) == ("continuing", "P-22", 2023)
    assert (await ok(two_years.get("/v1/projects/P-23")))["continues"] is None


@pytest.mark.parametrize(
    "continues",
    [
        P("P-23", id="same-year"),
        P("P-21", id="two-years-back"),
        P("NOPE", id="unknown"),
        P("C-23", id="itself"),
    ],
)
async def test_a_continuing_project_must_continue_the_previous_year(
    two_years: httpx.AsyncClient, db: asyncpg.Connection, continues: str
) -> None:
    request = two_years.post(
        "/v1/projects", json=project_body("C-23", "RND", kind="continuing", continues=continues)
    )
    body = await rejected(db, request, 422, "continues")
    assert continues in body["detail"]
    assert "2022" in body["detail"]


# the lifecycle and what it commits


async def test_selecting_commits_paying_disburses_and_terminating_keeps_only_what_was_paid(
    funded: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await add_project(funded, "P-1", government_krw=300_000_000)
    await add_project(funded, "P-2", government_krw=200_000_000)
    before = await db.fetchval("select count(*) from outbox")
    selected = await move(funded, "P-1", "selected")
    assert (selected["status"], selected["committed_krw"], selected["version"]) == (
        "selected",
        300_000_000,
        2,
    )
    assert await money(funded, "P-1") == (300_000_000, 0, 300_000_000, 300_000_000, 0)

    await move(funded, "P-1", "agreement_signed")
    assert (await pay(funded, "P-1", 120_000_000)).status_code == 201
    assert await money(funded, "P-1") == (300_000_000, 120_000_000, 300_000_000, 300_000_000, 120_000_000)
    await move(funded, "P-1", "active")
    assert (await pay(funded, "P-1", 30_000_000)).status_code == 201

    terminated = await move(funded, "P-1", "terminated", reason="The lead firm went bankrupt.")
    assert (terminated["status"], terminated["committed_krw"], terminated["disbursed_krw"]) == (
        "terminated",
        150_000_000,
        150_000_000,
    )
    assert await money(funded, "P-1") == (150_000_000, 150_000_000, 150_000_000, 150_000_000, 150_000_000)
    year = await get_year(funded, 2023)
    assert (year["envelope_krw"], year["programmed_krw"]) == (10_000_000_000, 1_000_000_000)
    assert [(s["from_status"], s["to_status"], s["reason"], s["actor"]) for s in terminated["history"]] == [
        ("proposed", "selected", None, "tester"),
        ("selected", "agreement_signed", None, "tester"),
        ("agreement_signed", "active", None, "tester"),
        ("active", "terminated", "The lead firm went bankrupt.", "tester"),
    ]
    # The unselected proposal P-2 never counted anywhere.
    assert (await ok(funded.get("/v1/projects/P-2")))["committed_krw"] == 0

    events = await outbox_since(db, before)
    # Each payment is also a line of its own, on the disbursement topic.
    lines = [e for e in events if e["topic"] == "mpe.budget.disbursement"]
    assert [e["payload"]["amount_krw"] for e in lines] == [120_000_000, 30_000_000]
    events = [e for e in events if e["topic"] == "mpe.budget.project"]
    assert [e["type"] for e in events] == [
        f"{PROJECT}.selected.v1",
        f"{PROJECT}.agreement_signed.v1",
        f"{PROJECT}.disbursed.v1",
        f"{PROJECT}.active.v1",
        f"{PROJECT}.disbursed.v1",
        f"{PROJECT}.terminated.v1",
    ]
    assert [(e["payload"]["committed_krw"], e["payload"]["disbursed_krw"]) for e in events] == [
        (300_000_000, 0),
        (300_000_000, 0),
        (300_000_000, 120_000_000),
        (300_000_000, 120_000_000),
        (300_000_000, 150_000_000),
        (150_000_000, 150_000_000),
    ]
    assert [e["payload"]["version"] for e in events] == [2, 3, 4, 5, 6, 7]


async def test_the_whole_way_to_completed(funded: httpx.AsyncClient) -> None:
    await add_project(funded, "P-1", government_krw=500)
    await move(funded, "P-1", "selected", "agreement_signed", "active")
    assert (await pay(funded, "P-1", 500)).status_code == 201
    done = await move(funded, "P-1", "completed")
    assert (done["status"], done["committed_krw"], done["disbursed_krw"]) == ("completed", 500, 500)


@pytest.mark.parametrize(
    "steps", [[], ["selected"], ["selected", "agreement_signed"], ["selected", "agreement_signed", "active"]]
)
async def test_terminated_from_any_earlier_state(funded: httpx.AsyncClient, steps: list[str]) -> None:
    await add_project(funded, "P-1", government_krw=500)
    await move(funded, "P-1", *steps)
    body = await move(funded, "P-1", "terminated", reason="withdrawn")
    assert (body["status"], body["committed_krw"]) == ("terminated", 0)
    assert (await ok(funded.get("/v1/programs/RND")))["committed_krw"] == 0
    assert (await get_year(funded, 2023))["committed_krw"] == 0


@pytest.mark.parametrize("reason", [P(None, id="no-reason"), P("", id="empty"), P("   ", id="blank")])
async def test_terminating_needs_a_reason(
    funded: httpx.AsyncClient, db: asyncpg.Connection, reason: str | None
) -> None:
    await add_project(funded, "P-1")
    await move(funded, "P-1", "selected")
    payload: dict[str, Any] = {"to": "terminated", **({"reason": reason} if reason is not None else {})}
    await rejected(db, funded.post("/v1/projects/P-1/transitions", json=payload), 422, "reason")


STEPS = ["selected", "agreement_signed", "active", "completed"]


@pytest.mark.parametrize(
    ("path", "to", "allowed"),
    [
        P([], "agreement_signed", ["selected", "terminated"], id="proposed-to-signed"),
        P([], "active", ["selected", "terminated"], id="proposed-to-active"),
        P([], "completed", ["selected", "terminated"], id="proposed-to-completed"),
        P(["selected"], "selected", ["agreement_signed", "terminated"], id="selected-again"),
        P(["selected"], "active", ["agreement_signed", "terminated"], id="selected-to-active"),
        P(["selected", "agreement_signed"], "selected", ["active", "terminated"], id="signed-back"),
        P(["selected", "agreement_signed"], "completed", ["active", "terminated"], id="signed-to-completed"),
        P(STEPS[:3], "selected", ["completed", "terminated"], id="active-back"),
        P(STEPS, "terminated", [], id="completed-to-terminated"),
        P(STEPS, "active", [], id="completed-back"),
        P(["terminated"], "selected", [], id="terminated-to-selected"),
        P(["terminated"], "terminated", [], id="terminated-again"),
    ],
)
async def test_other_moves_conflict_naming_the_status_and_the_allowed_moves(
    funded: httpx.AsyncClient, db: asyncpg.Connection, path: list[str], to: str, allowed: list[str]
) -> None:
    await add_project(funded, "P-1")
    if path == ["terminated"]:
        await move(funded, "P-1", "terminated", reason="withdrawn")
    else:
        await move(funded, "P-1", *path)
    current = (await ok(funded.get("/v1/projects/P-1")))["status"]
    body = await rejected(
        db, funded.post("/v1/projects/P-1/transitions", json={"to": to, "reason": "because"}), 409
    )
    assert current in body["detail"]
    assert (body["current_status"], body["allowed"]) == (current, allowed)
    for move_ in allowed:
        assert move_ in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        P({}, "to", id="missing-to"),
        P({"to": "proposed"}, "to", id="back-to-proposed"),
        P({"to": "paused"}, "to", id="unknown-status"),
        P({"to": "selected", "reason": "x" * 2001}, "reason", id="reason-too-long"),
        P({"to": "selected", "by": "kim"}, "by", id="unknown-field"),
    ],
)
async def test_bad_transition_is_rejected(
    funded: httpx.AsyncClient, db: asyncpg.Connection, payload: dict[str, Any], field: str
) -> None:
    await add_project(funded, "P-1")
    await rejected(db, funded.post("/v1/projects/P-1/transitions", json=payload), 422, field)


# the program's budget, checked at selection


async def test_selections_fit_the_program_budget(funded: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    # RND has ₩1bn.
    await add_project(funded, "P-1", government_krw=600_000_000)
    await add_project(funded, "P-2", government_krw=400_000_001)
    await add_project(funded, "P-3", government_krw=400_000_000)
    # Proposals beyond the budget are fine: they commit nothing.
    await move(funded, "P-1", "selected")
    body = await rejected(db, funded.post("/v1/projects/P-2/transitions", json={"to": "selected"}), 409)
    assert "1,000,000,000" in body["detail"]
    assert (body["used_krw"], body["adding_krw"], body["limit_krw"]) == (
        600_000_000,
        400_000_001,
        1_000_000_000,
    )
    await move(funded, "P-3", "selected")  # exactly the budget
    assert (await ok(funded.get("/v1/programs/RND")))["committed_krw"] == 1_000_000_000
    # Terminating a selection frees what it did not pay.
    await move(funded, "P-3", "terminated", reason="merged")
    await rejected(db, funded.post("/v1/projects/P-2/transitions", json={"to": "selected"}), 409)
    await move(funded, "P-1", "agreement_signed")
    assert (await pay(funded, "P-1", 1)).status_code == 201
    await move(funded, "P-1", "terminated", reason="withdrawn")
    # P-1 keeps only the won it was paid committed.
    selected = await move(funded, "P-2", "selected")
    assert selected["committed_krw"] == 400_000_001
    assert (await ok(funded.get("/v1/programs/RND")))["committed_krw"] == 400_000_002


async def test_other_programs_do_not_count(funded: httpx.AsyncClient) -> None:
    await add_program(funded, "RND2", budget_krw=100)
    await add_project(funded, "P-1", "RND2", government_krw=100)
    await add_project(funded, "P-2", government_krw=1_000_000_000)
    await move(funded, "P-1", "selected")
    await move(funded, "P-2", "selected")
    assert (await get_year(funded, 2023))["committed_krw"] == 1_000_000_100
