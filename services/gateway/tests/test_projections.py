"""Projection handlers keep the newest version, whatever order events arrive in."""

from __future__ import annotations

import uuid
from datetime import date

from gateway.projector.handlers import HANDLERS
from mpe_events import catalog as ev
from mpe_events.registry import (
    DESIGNATION_EVENTS,
    FIRM_CONFIRMATION_ADDED,
    FIRM_REGISTERED,
    FIRM_UPDATED,
    FISCAL_YEAR_SET,
    PROGRAM_CREATED,
    PROGRAM_UPDATED,
    PROJECT_DISBURSED,
    PROJECT_EVENTS,
    REVISION_DELETED,
    REVISION_DRAFTED,
    TECHNOLOGY_AMENDED,
    TECHNOLOGY_LISTED,
)
from mpe_kit import db

from .conftest import (
    apply,
    brn,
    designation,
    designation_event,
    event,
    firm,
    firm_event,
    fiscal_year_event,
    program,
    program_event,
    project,
    project_event,
    technology,
)


async def test_a_newer_version_wins_and_an_older_one_is_ignored(conn: db.Conn) -> None:
    v1 = technology("SEMI-001", 1, name_en="first")
    v2 = technology("SEMI-001", 2, name_en="second")
    v3 = technology("SEMI-001", 3, name_en="third")
    await apply(conn, event(TECHNOLOGY_LISTED.type, v1, "SEMI-001"))
    await apply(conn, event(TECHNOLOGY_AMENDED.type, v3, "SEMI-001"))
    await apply(conn, event(TECHNOLOGY_AMENDED.type, v2, "SEMI-001"))  # late, stale
    row = await conn.fetchrow("select name_en, version from technologies where code = 'SEMI-001'")
    assert row is not None
    assert (row["name_en"], row["version"]) == ("third", 3)


async def test_a_retirement_is_projected_with_its_date(conn: db.Conn) -> None:
    await apply(conn, event(TECHNOLOGY_LISTED.type, technology("SEMI-002"), "SEMI-002"))
    retired = technology("SEMI-002", 2, status="retired", retired_on=date(2022, 10, 18))
    await apply(conn, event(TECHNOLOGY_AMENDED.type, retired, "SEMI-002"))
    row = await conn.fetchrow("select status, retired_on from technologies where code = 'SEMI-002'")
    assert row is not None
    assert (row["status"], row["retired_on"]) == ("retired", date(2022, 10, 18))


async def test_a_deleted_draft_keeps_its_row_marked_deleted(conn: db.Conn) -> None:
    rid = uuid.uuid4()
    base = {
        "id": rid,
        "title": "draft",
        "decided_on": date(2024, 4, 3),
        "effective_on": date(2024, 4, 3),
        "changes": [{"op": "retire", "code": "SEMI-001"}],
        "published_at": None,
    }
    drafted = ev.RevisionV1.model_validate({**base, "status": "draft", "version": 1})
    deleted = ev.RevisionV1.model_validate({**base, "status": "deleted", "version": 2})
    await apply(
        conn, event(REVISION_DRAFTED.type, drafted, str(rid)), event(REVISION_DELETED.type, deleted, str(rid))
    )
    assert await conn.fetchval("select status from revisions where id = $1", rid) == "deleted"


async def test_a_firm_keeps_its_newest_version(conn: db.Conn) -> None:
    number = brn(1)
    await apply(conn, firm_event(firm(number, 1, name_en="first")))
    await apply(
        conn, firm_event(firm(number, 3, name_en="third", technology_codes=["SEMI-001"]), FIRM_UPDATED.type)
    )
    await apply(
        conn, firm_event(firm(number, 2, name_en="second"), FIRM_CONFIRMATION_ADDED.type)
    )  # late, stale
    row = await conn.fetchrow("select name_en, technology_codes, version from firms where brn = $1", number)
    assert row is not None
    assert (row["name_en"], row["technology_codes"], row["version"]) == ("third", ["SEMI-001"], 3)


async def test_a_designation_keeps_its_newest_version_and_history(conn: db.Conn) -> None:
    did = uuid.uuid4()
    moves = [
        ("under_review", date(2020, 11, 1)),
        ("designated", date(2021, 1, 15)),
        ("revoked", date(2022, 6, 1)),
    ]
    versions = [designation(did, brn(1), *moves[:n], reason="fraud") for n in range(4)]
    # Out of order: the revocation (v4) arrives before the designation (v3) and the review (v2).
    for n in (0, 3, 2, 1):
        await apply(conn, designation_event(versions[n]))
    row = await conn.fetchrow(
        "select status, designated_on, valid_until, ended_on, version, jsonb_array_length(history) as moves"
        " from designations where id = $1",
        did,
    )
    assert row is not None
    assert dict(row) == {
        "status": "revoked",
        "designated_on": date(2021, 1, 15),
        "valid_until": date(2026, 1, 15),
        "ended_on": date(2022, 6, 1),
        "version": 4,
        "moves": 4,
    }


async def test_a_designation_arriving_before_its_firm_is_kept(conn: db.Conn) -> None:
    did = uuid.uuid4()
    await apply(conn, designation_event(designation(did, brn(7))))
    assert await conn.fetchval("select status from designations where id = $1", did) == "applied"
    assert await conn.fetchval("select count(*) from firms") == 0


async def test_every_firm_and_designation_event_type_has_a_handler() -> None:
    types = {FIRM_REGISTERED.type, FIRM_UPDATED.type, FIRM_CONFIRMATION_ADDED.type}
    types |= {e.type for e in DESIGNATION_EVENTS.values()}
    assert types <= set(HANDLERS)


async def test_a_fiscal_year_keeps_its_newest_envelope(conn: db.Conn) -> None:
    await apply(conn, fiscal_year_event(2023, 900_000_000_000, 1))
    await apply(conn, fiscal_year_event(2023, 937_560_000_000, 3))
    await apply(conn, fiscal_year_event(2023, 910_000_000_000, 2))  # late, stale
    row = await conn.fetchrow("select envelope_krw, version from fiscal_years where year = 2023")
    assert row is not None
    assert (row["envelope_krw"], row["version"]) == (937_560_000_000, 3)


async def test_a_program_keeps_its_newest_version_with_its_themes(conn: db.Conn) -> None:
    themes = [
        {
            "code": "ALC-T1",
            "title": "Ultra-thin glass",
            "stages": [
                {"stage": "concept", "teams": 6, "fiscal_year": 2023, "project_codes": ["A-1", "A-2"]},
                {"stage": "preliminary", "teams": 3, "fiscal_year": 2024, "project_codes": []},
            ],
        }
    ]
    v1 = program("ALC-2023", 1, kind="alchemist", budget_krw=1_200_000_000)
    v2 = program("ALC-2023", 2, kind="alchemist", budget_krw=2_700_000_000, themes=themes)
    await apply(conn, program_event(v2, PROGRAM_UPDATED.type))
    await apply(conn, program_event(v1))  # the creation arrives late: ignored
    row = await conn.fetchrow("select budget_krw, themes, version from programs where code = 'ALC-2023'")
    assert row is not None
    assert (row["budget_krw"], row["themes"], row["version"]) == (2_700_000_000, themes, 2)


async def test_a_project_keeps_its_newest_version_and_its_primary_technology(conn: db.Conn) -> None:
    codes = ["SEMI-025", "SEMI-004"]
    proposed = project("P-1", 1, technology_codes=codes)
    selected = project("P-1", 2, technology_codes=codes, status="selected", committed_krw=900_000_000)
    paid = project(
        "P-1",
        3,
        technology_codes=codes,
        status="selected",
        committed_krw=900_000_000,
        disbursed_krw=300_000_000,
    )
    await apply(conn, project_event(proposed), project_event(paid, PROJECT_DISBURSED.type))
    await apply(conn, project_event(selected))  # late, stale
    row = await conn.fetchrow(
        "select status, committed_krw, disbursed_krw, primary_technology, version from projects where code = 'P-1'"
    )
    assert row is not None
    assert dict(row) == {
        "status": "selected",
        "committed_krw": 900_000_000,
        "disbursed_krw": 300_000_000,
        "primary_technology": "SEMI-025",
        "version": 3,
    }


async def test_a_terminated_project_keeps_what_was_paid_as_committed(conn: db.Conn) -> None:
    active = project("P-2", 3, status="active", committed_krw=900_000_000, disbursed_krw=200_000_000)
    terminated = project("P-2", 4, status="terminated", committed_krw=200_000_000, disbursed_krw=200_000_000)
    await apply(conn, project_event(active), project_event(terminated))
    row = await conn.fetchrow("select status, committed_krw from projects where code = 'P-2'")
    assert row is not None
    assert (row["status"], row["committed_krw"]) == ("terminated", 200_000_000)


async def test_a_project_without_technologies_has_no_primary_one(conn: db.Conn) -> None:
    await apply(conn, project_event(project("P-3", technology_codes=[])))
    assert await conn.fetchval("select primary_technology from projects where code = 'P-3'") is None


async def test_every_budget_event_type_has_a_handler() -> None:
    types = {FISCAL_YEAR_SET.type, PROGRAM_CREATED.type, PROGRAM_UPDATED.type, PROJECT_DISBURSED.type}
    types |= {e.type for e in PROJECT_EVENTS.values()}
    assert types <= set(HANDLERS)


async def test_a_batch_rolled_back_leaves_no_gap_in_the_change_log(conn: db.Conn) -> None:
    """A projector killed mid-batch rolls back what it appended; the next change takes that seq."""
    await apply(conn, event(TECHNOLOGY_LISTED.type, technology("SEMI-010"), "SEMI-010"))
    tx = conn.transaction()
    await tx.start()
    await HANDLERS[TECHNOLOGY_LISTED.type](
        conn, event(TECHNOLOGY_LISTED.type, technology("SEMI-011"), "SEMI-011")
    )
    assert await conn.fetchval("select max(seq) from changes") == 2
    await tx.rollback()
    await apply(conn, event(TECHNOLOGY_LISTED.type, technology("SEMI-012"), "SEMI-012"))
    rows = await conn.fetch("select seq, entity_key from changes order by seq")
    assert [(r["seq"], r["entity_key"]) for r in rows] == [(1, "SEMI-010"), (2, "SEMI-012")]
