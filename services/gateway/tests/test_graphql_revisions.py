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

from .conftest import apply, event, gql, new_key

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
