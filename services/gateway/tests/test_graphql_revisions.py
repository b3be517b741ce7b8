"""The list's revisions through GraphQL: published ones only, each with its changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from mpe_events import catalog as ev
from mpe_events.registry import REVISION_DRAFTED, REVISION_PUBLISHED
from mpe_kit import db

from .conftest import (
    F1,
    F2,
    apply,
    designation,
    designation_event,
    event,
    gql,
    new_key,
    project,
    project_event,
)

R1, R2, DRAFT = (uuid.UUID(int=n) for n in (21, 22, 23))


def revision(rid: uuid.UUID, status: str, effective_on: date, changes: list[dict[str, Any]]) -> ev.RevisionV1:
    return ev.RevisionV1.model_validate(
        {
            "id": rid,
            "title": f"Revision {rid.int}",
            "decided_on": effective_on.replace(day=1),
            "effective_on": effective_on,
            "status": status,
            "changes": changes,
            "published_at": datetime(effective_on.year, 1, 2, 3, 4, 5, tzinfo=UTC)
            if status == "published"
            else None,
            "version": 2 if status == "published" else 1,
        }
    )


ADD = {
    "op": "add",
    "technology": {
        "code": "SEMI-026",
        "industry_code": "SEMI",
        "kind": "equipment",
        "name_en": "EUV pellicle",
        "name_ko": "EUV 펠리클",
        "description": "",
    },
}
RETIRE = {"op": "retire", "code": "SEMI-001"}
AMEND = {
    "op": "amend",
    "code": "SEMI-004",
    "name_en": "High-NA photoresist",
    "before": {"name_en": "Photoresist"},
}


@pytest.fixture
async def revisions(conn: db.Conn, seeded: None) -> None:
    """Two published revisions (the later one first) and a draft."""
    await apply(
        conn,
        event(REVISION_PUBLISHED.type, revision(R2, "published", date(2024, 7, 1), [AMEND]), str(R2)),
        event(REVISION_PUBLISHED.type, revision(R1, "published", date(2022, 7, 1), [ADD, RETIRE]), str(R1)),
        event(REVISION_DRAFTED.type, revision(DRAFT, "draft", date(2025, 7, 1), [RETIRE]), str(DRAFT)),
    )


PAGE = """
query($first: Int!, $after: String) {
  revisions(first: $first, after: $after) {
    totalCount
    edges { cursor node { id title decidedOn effectiveOn publishedAt changes {
      op code technology { code status }
      before { nameEn kind }
      after { industryCode kind nameEn nameKo }
    } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.usefixtures("revisions")
async def test_published_revisions_page_in_effective_order_with_their_changes(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    page = (await gql(client, PAGE, first=1))["data"]["revisions"]
    assert page["totalCount"] == 2  # the draft is not served
    (edge,) = page["edges"]
    assert {k: v for k, v in edge["node"].items() if k != "changes"} == {
        "id": str(R1),
        "title": "Revision 21",
        "decidedOn": "2022-07-01",
        "effectiveOn": "2022-07-01",
        "publishedAt": "2022-01-02T03:04:05+00:00",
    }
    assert edge["node"]["changes"] == [
        {
            "op": "ADD",
            "code": "SEMI-026",
            "technology": None,  # its technology event has not arrived
            "before": None,
            "after": {
                "industryCode": "SEMI",
                "kind": "EQUIPMENT",
                "nameEn": "EUV pellicle",
                "nameKo": "EUV 펠리클",
            },
        },
        {
            "op": "RETIRE",
            "code": "SEMI-001",
            "technology": {"code": "SEMI-001", "status": "RETIRED"},
            "before": None,
            "after": None,
        },
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    page = (await gql(client, PAGE, first=1, after=page["pageInfo"]["endCursor"]))["data"]["revisions"]
    assert [e["node"]["id"] for e in page["edges"]] == [str(R2)]
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["edges"][0]["node"]["changes"] == [
        {
            "op": "AMEND",
            "code": "SEMI-004",
            "technology": {"code": "SEMI-004", "status": "LISTED"},
            "before": {"nameEn": "Photoresist", "kind": None},
            "after": {"industryCode": None, "kind": None, "nameEn": "High-NA photoresist", "nameKo": None},
        }
    ]
    body = await gql(client, PAGE, first=1, after="bm9wZQ")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


ONE = "query($id: ID!) { revision(id: $id) { id title changes { op code } } }"


@pytest.mark.usefixtures("revisions")
async def test_one_revision_by_id_and_none_for_a_draft_or_an_unknown_id(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    assert (await gql(client, ONE, id=str(R2)))["data"]["revision"] == {
        "id": str(R2),
        "title": "Revision 22",
        "changes": [{"op": "AMEND", "code": "SEMI-004"}],
    }
    for rid in (str(DRAFT), str(uuid.UUID(int=99)), "not-a-uuid"):
        assert (await gql(client, ONE, id=rid)) == {"data": {"revision": None}}


async def test_revisions_need_the_catalog_scope(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "firms:read")).secret)
    body = await gql(client, PAGE, first=1)
    assert body["data"] == {"revisions": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


TOUCHED = uuid.UUID(int=31)
TOUCHES = """
query($id: ID!) {
  revision(id: $id) {
    industryCounts { industry { code nameEn nameKo } before after }
    touches {
      technologies { code status }
      designations { id status firm { brn } }
      projects { code status fiscalYear }
      two: designations(first: 2) { id }
    }
  }
}
"""


@pytest.fixture
async def touching_revision(conn: db.Conn, model: None) -> None:
    """The 18 Oct 2022 revision of the compiled path's dataset: it retires 001-003 and amends 004."""
    changes = [{"op": "retire", "code": f"SEMI-00{n}"} for n in (1, 2, 3)]
    changes.append(
        {"op": "amend", "code": "SEMI-004", "name_en": "EUV photoresist", "before": {"name_en": "Tech"}}
    )
    data = revision(TOUCHED, "published", date(2022, 10, 18), changes)
    await apply(conn, event(REVISION_PUBLISHED.type, data, str(TOUCHED)))


@pytest.mark.usefixtures("touching_revision")
async def test_a_revision_with_what_it_touches_and_its_counts_per_industry(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read", "firms:read", "budget:read")).secret)
    body = await gql(client, TOUCHES, id=str(TOUCHED))
    assert "errors" not in body, body
    found = body["data"]["revision"]
    # SEMI-010 belongs to AUTO, whose event has not arrived; BATT has no technology and is left out.
    assert found["industryCounts"] == [
        {"industry": None, "before": 1, "after": 1},
        {"industry": {"code": "DISP", "nameEn": "Display", "nameKo": "디스플레이"}, "before": 1, "after": 1},
        {
            "industry": {"code": "SEMI", "nameEn": "Semiconductors", "nameKo": "반도체"},
            "before": 23,
            "after": 20,
        },
    ]
    touches = found["touches"]
    assert touches["technologies"] == [
        {"code": "SEMI-001", "status": "RETIRED"},
        {"code": "SEMI-002", "status": "RETIRED"},
        {"code": "SEMI-003", "status": "RETIRED"},
        {"code": "SEMI-004", "status": "LISTED"},
    ]
    # In force or pending: F1's leading designation (to 2026), F2's application under review and its
    # specialized one applied for; F4's, revoked, is left out.
    assert touches["designations"] == [
        {"id": str(uuid.UUID(int=1)), "status": "DESIGNATED", "firm": {"brn": F1}},
        {"id": str(uuid.UUID(int=2)), "status": "UNDER_REVIEW", "firm": {"brn": F2}},
        {"id": str(uuid.UUID(int=3)), "status": "APPLIED", "firm": {"brn": F2}},
    ]
    assert touches["two"] == [{"id": str(uuid.UUID(int=n))} for n in (1, 2)]
    # Newest year first; a proposal too; P23-004 (SEMI-010) is no concern of this revision.
    assert touches["projects"] == [
        {"code": "P24-001", "status": "SELECTED", "fiscalYear": 2024},
        {"code": "P23-001", "status": "ACTIVE", "fiscalYear": 2023},
        {"code": "P23-003", "status": "PROPOSED", "fiscalYear": 2023},
        {"code": "P22-001", "status": "COMPLETED", "fiscalYear": 2022},
    ]


@pytest.mark.usefixtures("touching_revision")
async def test_what_a_revision_touches_keeps_each_scope(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    body = await gql(client, TOUCHES, id=str(TOUCHED))
    touches = body["data"]["revision"]["touches"]
    assert (touches["designations"], touches["projects"], touches["two"]) == (None, None, None)
    assert len(touches["technologies"]) == 4
    assert {e["extensions"]["scope"] for e in body["errors"]} == {"firms:read", "budget:read"}


@pytest.mark.usefixtures("touching_revision")
async def test_a_page_beyond_the_cap_is_refused(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read", "firms:read")).secret)
    query = "query($id: ID!) { revision(id: $id) { touches { designations(first: 0) { id } } } }"
    body = await gql(client, query, id=str(TOUCHED))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.usefixtures("touching_revision")
async def test_what_a_revision_touched_on_its_day_stays_touched(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    # Found by a review: a designation in force on the revision's day, revoked or expired since,
    # dropped out (the current status decided), and a project whose endOn (the first day after
    # it) was the revision's day was still counted.
    on = date(2022, 10, 18)
    await apply(
        conn,
        designation_event(
            designation(
                uuid.UUID(int=41),
                F1,
                ("designated", date(2020, 1, 2)),
                ("expired", date(2023, 1, 2)),
                kind="specialized",
            )
        ),
        designation_event(
            designation(
                uuid.UUID(int=42), F2, ("designated", date(2019, 1, 2)), ("revoked", date(2023, 3, 1))
            )
        ),
        designation_event(
            designation(uuid.UUID(int=43), F2, ("designated", date(2019, 1, 2)), ("revoked", on))
        ),
        project_event(
            project("P22-END", status="completed", fiscal_year=2022, start_on=date(2022, 1, 1), end_on=on)
        ),
        project_event(
            project(
                "P22-RUN",
                status="completed",
                fiscal_year=2022,
                start_on=date(2022, 1, 1),
                end_on=date(2022, 10, 19),
            )
        ),
    )
    client = gateway((await new_key(conn, "catalog:read", "firms:read", "budget:read")).secret)
    touches = (await gql(client, TOUCHES, id=str(TOUCHED)))["data"]["revision"]["touches"]
    ids = [d["id"] for d in touches["designations"]]
    assert str(uuid.UUID(int=41)) in ids
    assert str(uuid.UUID(int=42)) in ids
    assert str(uuid.UUID(int=43)) not in ids  # revoked on the day itself: no longer in force
    codes = [p["code"] for p in touches["projects"]]
    assert "P22-RUN" in codes
    assert "P22-END" not in codes
