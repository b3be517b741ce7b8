"""Projection handlers keep the newest version, whatever order events arrive in."""

from __future__ import annotations

import uuid
from datetime import date

from mpe_events import catalog as ev
from mpe_events.registry import REVISION_DELETED, REVISION_DRAFTED, TECHNOLOGY_AMENDED, TECHNOLOGY_LISTED
from mpe_kit import db

from .conftest import apply, event, technology


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
