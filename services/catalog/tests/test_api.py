"""The catalog's REST API against a real Postgres: behaviour, events in the outbox, and errors."""

from __future__ import annotations

import asyncio
import base64
import json
import unicodedata
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from catalog import repository
from catalog.settings import CatalogSettings
from mpe_kit.auth import issue_token
from mpe_kit.db import connect

from .conftest import SECRET, fixed_clock, token

PROBLEM_JSON = "application/problem+json"
TECH = "kr.mpe.catalog.technology"
REVISION = "kr.mpe.catalog.revision"
P = pytest.param


# helpers


def add(
    code: str,
    *,
    industry: str = "SEMI",
    kind: str = "material",
    name_en: str | None = None,
    name_ko: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    """An `add` change."""
    return {
        "op": "add",
        "technology": {
            "code": code,
            "industry_code": industry,
            "kind": kind,
            "name_en": name_en or f"Technology {code}",
            "name_ko": name_ko or f"기술 {code}",
            "description": description,
        },
    }


def retire(code: str) -> dict[str, Any]:
    return {"op": "retire", "code": code}


def amend(code: str, **fields: str) -> dict[str, Any]:
    return {"op": "amend", "code": code, **fields}


def revision(
    changes: list[dict[str, Any]],
    *,
    title: str = "Revision",
    decided_on: str = "2024-01-10",
    effective_on: str = "2024-02-01",
) -> dict[str, Any]:
    return {"title": title, "decided_on": decided_on, "effective_on": effective_on, "changes": changes}


async def draft(client: httpx.AsyncClient, changes: list[dict[str, Any]], **kw: str) -> dict[str, Any]:
    """Draft a revision; asserts it was accepted."""
    resp = await client.post("/v1/revisions", json=revision(changes, **kw))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def publish(client: httpx.AsyncClient, changes: list[dict[str, Any]], **kw: str) -> dict[str, Any]:
    """Draft and publish a revision; asserts both were accepted."""
    rev = await draft(client, changes, **kw)
    resp = await client.post(f"/v1/revisions/{rev['id']}/publish")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def codes(client: httpx.AsyncClient, **params: Any) -> list[str]:
    """The codes of one page of the technology list."""
    resp = await client.get("/v1/technologies", params=params)
    assert resp.status_code == 200, resp.text
    return [t["code"] for t in resp.json()["items"]]


def cursor_of(values: Any) -> str:
    """A cursor built by hand, to try shapes the API never hands out."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def assert_problem(resp: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """An RFC 9457 answer with `status`, a detail, and an error naming each of `fields`."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body.get("detail")
    named = [e["field"] for e in body.get("errors") or []]
    for field in fields:
        assert any(field in n for n in named), f"no error names {field!r}: {body}"
    return body


async def snapshot(db: asyncpg.Connection) -> dict[str, Any]:
    """Everything a request could change."""
    return {
        "industries": [dict(r) for r in await db.fetch("select * from industries order by code")],
        "technologies": [dict(r) for r in await db.fetch("select * from technologies order by code")],
        "history": [
            dict(r)
            for r in await db.fetch("select * from technology_history order by technology_code, version")
        ],
        "revisions": [dict(r) for r in await db.fetch("select * from revisions order by id")],
        "outbox": await db.fetchval("select count(*) from outbox"),
    }


async def rejected(
    db: asyncpg.Connection, request: Awaitable[httpx.Response], status: int, *fields: str
) -> dict[str, Any]:
    """Send `request`, expect a problem, and check that nothing changed."""
    before = await snapshot(db)
    body = assert_problem(await request, status, *fields)
    assert await snapshot(db) == before, "a rejected request changed the database"
    return body


async def outbox_since(db: asyncpg.Connection, count: int) -> list[asyncpg.Record]:
    """Outbox rows written after the first `count`, in write order."""
    return await db.fetch(
        "select topic, key, type, source, subject, payload from outbox order by seq offset $1", count
    )


# fixtures


def _client(app: Any, **headers: str) -> httpx.AsyncClient:
    # A server error comes back as the 500 a client would see, not as an exception in the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://catalog", headers=headers)


@pytest.fixture
async def api(catalog: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The `catalog` app (running, with an editor token) through a client that sees 500s."""
    app = catalog.app  # type: ignore[attr-defined]
    async with _client(app, Authorization=catalog.headers["Authorization"]) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def db(api: httpx.AsyncClient, catalog_settings: CatalogSettings) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the catalog's (migrated) database."""
    conn = await connect(catalog_settings.database_dsn())
    try:
        yield conn
    finally:
        await conn.close()


@dataclass(frozen=True)
class World:
    """A small list: SEMI-001/SEMI-002 listed, BATT-001 retired, and one pending draft."""

    first_id: str
    retire_id: str
    draft_id: str


@pytest.fixture
async def world(api: httpx.AsyncClient) -> World:
    for code, en, ko in (("SEMI", "Semiconductors", "반도체"), ("BATT", "Secondary batteries", "이차전지")):
        resp = await api.post("/v1/industries", json={"code": code, "name_en": en, "name_ko": ko})
        assert resp.status_code == 201, resp.text
    first = await publish(
        api,
        [
            add("SEMI-001", name_en="Photoresist for EUV", name_ko="EUV용 포토레지스트"),
            add("SEMI-002", kind="equipment", name_en="Wafer dicing saw", name_ko="웨이퍼 절단 장비"),
            add("BATT-001", industry="BATT", kind="part", name_en="Cathode material", name_ko="양극재"),
        ],
        title="First list",
    )
    retired = await publish(
        api,
        [retire("BATT-001")],
        title="Retire cathodes",
        decided_on="2024-02-15",
        effective_on="2024-03-01",
    )
    pending = await draft(api, [amend("SEMI-001", description="pending")], title="Pending")
    return World(first_id=first["id"], retire_id=retired["id"], draft_id=pending["id"])


# industries


async def test_industry_create_list_and_get(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
    )
    assert resp.status_code == 201
    assert resp.json() == {"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체", "version": 1}
    await api.post("/v1/industries", json={"code": "AUTO", "name_en": "Automotive", "name_ko": "자동차"})

    listed = await api.get("/v1/industries")
    assert listed.status_code == 200
    assert [i["code"] for i in listed.json()["items"]] == ["AUTO", "SEMI"]
    assert listed.json()["next_cursor"] is None

    got = await api.get("/v1/industries/SEMI")
    assert got.status_code == 200
    assert got.json()["name_ko"] == "반도체"


async def test_unknown_industry_is_404(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get("/v1/industries/NOPE"), 404)
    assert "NOPE" in body["detail"]


async def test_industries_page_by_code(api: httpx.AsyncClient) -> None:
    for code in ("E", "A", "D", "B", "C"):
        await api.post("/v1/industries", json={"code": code, "name_en": code, "name_ko": code})
    seen, cursor = [], None
    while True:
        resp = await api.get("/v1/industries", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        page = resp.json()
        assert len(page["items"]) <= 2
        seen += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["A", "B", "C", "D", "E"]


async def test_duplicate_industry_conflicts(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await api.post("/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"})
    body = await rejected(
        db,
        api.post("/v1/industries", json={"code": "SEMI", "name_en": "Other", "name_ko": "기타"}),
        409,
    )
    assert "SEMI" in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        P({"code": "SEMI", "name_en": "Semiconductors"}, "name_ko", id="missing-name_ko"),
        P({"code": "semi", "name_en": "Semiconductors", "name_ko": "반도체"}, "code", id="lowercase-code"),
        P({"code": "SEMI", "name_en": "   ", "name_ko": "반도체"}, "name_en", id="blank-name"),
        P({"code": "SEMI", "name_en": "S", "name_ko": "반도체", "color": "red"}, "color", id="unknown-field"),
    ],
)
async def test_bad_industry_is_rejected(
    api: httpx.AsyncClient, db: asyncpg.Connection, payload: dict[str, Any], field: str
) -> None:
    await rejected(db, api.post("/v1/industries", json=payload), 422, field)


# revisions and technologies: the happy path


async def test_draft_then_publish_lists_the_technology_with_history(api: httpx.AsyncClient) -> None:
    await api.post("/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"})
    rev = await draft(
        api,
        [add("SEMI-001", name_en="Photoresist", name_ko="포토레지스트", description="  for EUV  ")],
        title="First list",
    )
    assert rev["status"] == "draft"
    assert rev["version"] == 1
    assert rev["created_by"] == "tester"
    assert rev["published_at"] is None
    # A draft lists nothing.
    assert_problem(await api.get("/v1/technologies/SEMI-001"), 404)
    assert await codes(api) == []

    resp = await api.post(f"/v1/revisions/{rev['id']}/publish")
    assert resp.status_code == 200
    published = resp.json()
    assert published["status"] == "published"
    assert published["version"] == 2
    assert published["published_by"] == "tester"
    assert published["published_at"] is not None
    assert (await api.get(f"/v1/revisions/{rev['id']}")).json() == published

    tech = (await api.get("/v1/technologies/SEMI-001")).json()
    assert tech == {
        "code": "SEMI-001",
        "industry_code": "SEMI",
        "kind": "material",
        "name_en": "Photoresist",
        "name_ko": "포토레지스트",
        "description": "for EUV",
        "status": "listed",
        "listed_on": "2024-02-01",
        "retired_on": None,
        "version": 1,
        "history": [
            {
                "revision_id": rev["id"],
                "title": "First list",
                "op": "add",
                "effective_on": "2024-02-01",
                "version": 1,
            }
        ],
    }
    assert await codes(api) == ["SEMI-001"]


async def test_amend_and_retire_change_status_version_and_dates(api: httpx.AsyncClient, world: World) -> None:
    amended = await publish(
        api,
        [amend("SEMI-001", name_en="EUV photoresist", kind="part")],
        title="Rename",
        decided_on="2024-04-01",
        effective_on="2024-04-15",
    )
    retired = await publish(
        api, [retire("SEMI-002")], title="Drop saws", decided_on="2024-05-01", effective_on="2024-05-01"
    )

    semi1 = (await api.get("/v1/technologies/SEMI-001")).json()
    assert semi1["name_en"] == "EUV photoresist"
    assert semi1["kind"] == "part"
    assert semi1["name_ko"] == "EUV용 포토레지스트"  # untouched by the amend
    assert semi1["status"] == "listed"
    assert semi1["listed_on"] == "2024-02-01"
    assert semi1["version"] == 2
    assert [(h["op"], h["version"], h["revision_id"]) for h in semi1["history"]] == [
        ("add", 1, world.first_id),
        ("amend", 2, amended["id"]),
    ]

    semi2 = (await api.get("/v1/technologies/SEMI-002")).json()
    assert semi2["status"] == "retired"
    assert semi2["retired_on"] == "2024-05-01"
    assert semi2["version"] == 2
    assert [(h["op"], h["effective_on"], h["revision_id"]) for h in semi2["history"]] == [
        ("add", "2024-02-01", world.first_id),
        ("retire", "2024-05-01", retired["id"]),
    ]

    batt = (await api.get("/v1/technologies/BATT-001")).json()
    assert (batt["status"], batt["retired_on"], batt["version"]) == ("retired", "2024-03-01", 2)


@pytest.mark.parametrize(
    ("later", "earlier"),
    [
        P(amend("SEMI-001", name_en="Newer"), amend("SEMI-001", name_en="Older"), id="amend-before-an-amend"),
        P(amend("SEMI-002", name_en="Newer"), retire("SEMI-002"), id="retire-before-an-amend"),
        P(add("SEMI-003"), amend("SEMI-003", name_en="Older"), id="amend-before-its-listing"),
    ],
)
async def test_a_revision_dated_before_a_technologys_last_change_cannot_change_it(
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    world: World,
    later: dict[str, Any],
    earlier: dict[str, Any],
) -> None:
    # Found by a review: revisions apply in the order they are published, so one dated before a
    # change already published put the older name in force, or an amend after the retirement.
    await publish(api, [later], title="Later", decided_on="2024-05-01", effective_on="2024-06-01")
    rev = await draft(api, [earlier], title="Earlier", decided_on="2024-02-15", effective_on="2024-03-01")
    body = await rejected(db, api.post(f"/v1/revisions/{rev['id']}/publish"), 409)
    assert "last changed on 2024-06-01" in body["detail"]
    # The same day as the last change is in order.
    same_day = await draft(
        api, [earlier], title="Same day", decided_on="2024-05-01", effective_on="2024-06-01"
    )
    assert (await api.post(f"/v1/revisions/{same_day['id']}/publish")).status_code == 200


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2024-01-31", []),
        ("2024-02-01", ["BATT-001", "SEMI-001", "SEMI-002"]),  # listed_on is included
        ("2024-02-29", ["BATT-001", "SEMI-001", "SEMI-002"]),
        ("2024-03-01", ["SEMI-001", "SEMI-002"]),  # retired_on is excluded
        ("2030-01-01", ["SEMI-001", "SEMI-002"]),
    ],
)
async def test_as_of_filter(api: httpx.AsyncClient, world: World, as_of: str, expected: list[str]) -> None:
    assert await codes(api, as_of=as_of) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("포토레지스트", ["SEMI-001"]),
        ("절단", ["SEMI-002"]),
        ("photoresist", ["SEMI-001"]),  # case-insensitive
        ("WAFER", ["SEMI-002"]),
        ("e", ["BATT-001", "SEMI-001", "SEMI-002"]),
        ("%", []),  # LIKE wildcards are matched literally
        ("_", []),
        ("없는말", []),
        # Found by a review: a search in decomposed Korean (NFD, as macOS copies it) found nothing.
        (unicodedata.normalize("NFD", "포토레지스트"), ["SEMI-001"]),
        # Korean input methods type Latin full width.
        ("ＷＡＦＥＲ", ["SEMI-002"]),
        ("ｐｈｏｔｏ", ["SEMI-001"]),
    ],
)
async def test_q_filter_searches_both_names(
    api: httpx.AsyncClient, world: World, q: str, expected: list[str]
) -> None:
    assert await codes(api, q=q) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        P({"kind": "equipment"}, ["SEMI-002"], id="kind"),
        P({"kind": "part"}, ["BATT-001"], id="kind-part"),
        P({"status": "retired"}, ["BATT-001"], id="status-retired"),
        P({"status": "listed"}, ["SEMI-001", "SEMI-002"], id="status-listed"),
        P({"industry": "BATT"}, ["BATT-001"], id="industry"),
        P({"industry": "SEMI", "kind": "material"}, ["SEMI-001"], id="industry-and-kind"),
        P({"industry": "NOPE"}, [], id="unknown-industry"),
    ],
)
async def test_kind_status_and_industry_filters(
    api: httpx.AsyncClient, world: World, params: dict[str, str], expected: list[str]
) -> None:
    assert await codes(api, **params) == expected


@pytest.mark.parametrize(
    "params",
    [
        P({}, id="all"),
        P({"industry": "SEMI"}, id="industry"),
        P({"status": "listed", "q": "기술"}, id="status-q"),
    ],
)
async def test_keyset_pagination_sees_every_item_once(
    api: httpx.AsyncClient, world: World, params: dict[str, str]
) -> None:
    await publish(api, [add(f"SEMI-1{i:02d}") for i in range(8)], title="More")
    everything = await codes(api, limit=200, **params)
    assert len(everything) > 3

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        resp = await api.get(
            "/v1/technologies", params={"limit": 3, **params, **({"cursor": cursor} if cursor else {})}
        )
        assert resp.status_code == 200, resp.text
        page = resp.json()
        pages += 1
        assert 1 <= len(page["items"]) <= 3
        seen += [t["code"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    assert len(set(seen)) == len(seen)
    assert pages == -(-len(everything) // 3)


async def test_revisions_list_by_status_and_page(api: httpx.AsyncClient, world: World) -> None:
    drafts = (await api.get("/v1/revisions", params={"status": "draft"})).json()
    assert [r["id"] for r in drafts["items"]] == [world.draft_id]
    published = (await api.get("/v1/revisions", params={"status": "published"})).json()
    assert [r["id"] for r in published["items"]] == [world.first_id, world.retire_id]

    seen, cursor = [], None
    while True:
        resp = await api.get("/v1/revisions", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        seen += [r["id"] for r in resp.json()["items"]]
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [world.first_id, world.retire_id, world.draft_id]


async def test_edit_a_draft_title_and_dates(api: httpx.AsyncClient, world: World) -> None:
    resp = await api.patch(
        f"/v1/revisions/{world.draft_id}", json={"title": "Renamed", "effective_on": "2024-06-01"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["title"], body["effective_on"], body["version"]) == ("Renamed", "2024-06-01", 2)
    set_fields = [{k: v for k, v in c.items() if v is not None} for c in body["changes"]]
    assert set_fields == [{"op": "amend", "code": "SEMI-001", "description": "pending"}]
    assert (await api.get(f"/v1/revisions/{world.draft_id}")).json() == body


@pytest.mark.parametrize(
    "edit",
    [P({}, id="nothing"), P({"title": "Pending", "effective_on": "2024-02-01"}, id="the-same-values")],
)
async def test_an_edit_that_changes_nothing_writes_no_version_and_no_event(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World, edit: dict[str, Any]
) -> None:
    # Found by a review: every such PATCH bumped the version and wrote a revision.edited event.
    before = await snapshot(db)
    resp = await api.patch(f"/v1/revisions/{world.draft_id}", json=edit)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 1
    assert await snapshot(db) == before


@pytest.mark.parametrize("field", ["title", "decided_on", "effective_on", "changes"])
async def test_null_for_a_draft_field_is_422_not_ignored(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World, field: str
) -> None:
    await rejected(db, api.patch(f"/v1/revisions/{world.draft_id}", json={field: None}), 422, field)


async def test_edit_a_draft_replaces_its_changes(api: httpx.AsyncClient, world: World) -> None:
    resp = await api.patch(
        f"/v1/revisions/{world.draft_id}",
        json={"changes": [amend("SEMI-002", name_en="Dicing saw"), add("SEMI-003")]},
    )
    assert resp.status_code == 200, resp.text
    assert [c.get("code") or c["technology"]["code"] for c in resp.json()["changes"]] == [
        "SEMI-002",
        "SEMI-003",
    ]
    assert resp.json()["version"] == 2

    published = await api.post(f"/v1/revisions/{world.draft_id}/publish")
    assert published.status_code == 200, published.text
    assert (await api.get("/v1/technologies/SEMI-002")).json()["name_en"] == "Dicing saw"
    assert (await api.get("/v1/technologies/SEMI-003")).status_code == 200
    assert (await api.get("/v1/technologies/SEMI-001")).json()["description"] == ""


async def test_delete_a_draft(api: httpx.AsyncClient, db: asyncpg.Connection, world: World) -> None:
    before = await db.fetchval("select count(*) from outbox")
    resp = await api.delete(f"/v1/revisions/{world.draft_id}")
    assert resp.status_code == 204
    assert_problem(await api.get(f"/v1/revisions/{world.draft_id}"), 404)
    [event] = await outbox_since(db, before)
    assert event["type"] == f"{REVISION}.deleted.v1"
    assert event["payload"]["status"] == "deleted"
    assert event["payload"]["version"] == 2


# the outbox


async def test_industry_and_draft_write_one_event_each(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await api.post("/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"})
    rev = await draft(api, [add("SEMI-001")])
    industry, drafted = await outbox_since(db, 0)
    assert (industry["type"], industry["key"], industry["topic"]) == (
        "kr.mpe.catalog.industry.created.v1",
        "SEMI",
        "mpe.catalog.industry",
    )
    assert industry["payload"] == {
        "code": "SEMI",
        "name_en": "Semiconductors",
        "name_ko": "반도체",
        "version": 1,
    }
    assert (drafted["type"], drafted["key"]) == (f"{REVISION}.drafted.v1", rev["id"])
    assert (drafted["payload"]["status"], drafted["payload"]["version"]) == ("draft", 1)


async def test_publish_writes_an_event_per_change_and_one_for_the_revision(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    rev = await draft(
        api,
        [add("SEMI-003", kind="part"), amend("SEMI-001", name_en="EUV resist"), retire("SEMI-002")],
        decided_on="2024-04-01",
        effective_on="2024-04-02",
    )
    before = await db.fetchval("select count(*) from outbox")
    resp = await api.post(f"/v1/revisions/{rev['id']}/publish")
    assert resp.status_code == 200, resp.text

    events = await outbox_since(db, before)
    assert [(e["type"], e["key"]) for e in events] == [
        (f"{TECH}.listed.v1", "SEMI-003"),
        (f"{TECH}.amended.v1", "SEMI-001"),
        (f"{TECH}.retired.v1", "SEMI-002"),
        (f"{REVISION}.published.v1", rev["id"]),
    ]
    assert {e["source"] for e in events} == {"/mpe/catalog"}
    assert all(e["subject"] == e["key"] for e in events)
    assert [e["topic"] for e in events] == ["mpe.catalog.technology"] * 3 + ["mpe.catalog.revision"]

    listed, amended, retired, published = (e["payload"] for e in events)
    assert (listed["version"], listed["status"], listed["listed_on"], listed["kind"]) == (
        1,
        "listed",
        "2024-04-02",
        "part",
    )
    assert (amended["version"], amended["name_en"], amended["name_ko"]) == (
        2,
        "EUV resist",
        "EUV용 포토레지스트",
    )
    assert (retired["version"], retired["status"], retired["retired_on"]) == (2, "retired", "2024-04-02")
    assert {listed["revision_id"], amended["revision_id"], retired["revision_id"]} == {rev["id"]}
    assert (published["version"], published["status"], published["id"]) == (2, "published", rev["id"])
    assert published["published_at"] is not None
    # Each change names its op and technology; an AMEND also carries what it replaced.
    assert [(c["op"], c.get("code") or c["technology"]["code"]) for c in published["changes"]] == [
        ("add", "SEMI-003"),
        ("amend", "SEMI-001"),
        ("retire", "SEMI-002"),
    ]
    change = published["changes"][1]
    assert (change["name_en"], change["before"]["name_en"]) == ("EUV resist", "Photoresist for EUV")
    assert {k for k, v in change["before"].items() if v is not None} == {"name_en"}
    drafted = await db.fetchval(
        "select payload from outbox where type = $1 and key = $2", f"{REVISION}.drafted.v1", rev["id"]
    )
    assert drafted["changes"][1].get("before") is None  # unknown until the change is applied


# bad input: every rejection is a problem, names the field, and changes nothing


def _without_name_ko() -> dict[str, Any]:
    change = add("SEMI-009")
    del change["technology"]["name_ko"]
    return revision([change])


DATES = {"decided_on": "2024-01-10", "effective_on": "2024-02-01"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        P({**DATES, "changes": [add("SEMI-009")]}, 422, "title", id="missing-title"),
        P({"title": "t", **DATES}, 422, "changes", id="missing-changes"),
        P(_without_name_ko(), 422, "name_ko", id="missing-name_ko"),
        P(revision([add("SEMI-009", kind="gas")]), 422, "kind", id="wrong-kind"),
        P(revision([add("semi-9")]), 422, "code", id="lowercase-code"),
        P(revision([add("S" * 33)]), 422, "code", id="code-too-long"),
        P(revision([add("SEMI 9")]), 422, "code", id="code-with-space"),
        P(revision([retire("../etc")]), 422, "code", id="retire-bad-code"),
        P(revision([add("SEMI-009", description="x" * 2001)]), 422, "description", id="description-too-long"),
        P({**revision([add("SEMI-009")]), "title": 7}, 422, "title", id="title-not-a-string"),
        P({**revision([add("SEMI-009")]), "priority": "high"}, 422, "priority", id="unknown-field"),
        P(revision([{**add("SEMI-009"), "note": "x"}]), 422, "note", id="unknown-field-in-change"),
        P(revision([{"op": "rename", "code": "SEMI-001"}]), 422, "changes[0]", id="unknown-op"),
        P(revision([amend("SEMI-001", status="retired")]), 422, "status", id="amend-unknown-field"),
        P(revision([add("SEMI-009")], title="   "), 422, "title", id="blank-title"),
        P(revision([add("SEMI-009")], decided_on="2024-02-30"), 422, "decided_on", id="impossible-date"),
        P(
            revision([add("SEMI-009")], decided_on="2024-02-02", effective_on="2024-02-01"),
            422,
            "effective_on",
            id="effective-before-decided",
        ),
        P(revision([]), 422, "changes", id="no-changes"),
        P(revision([retire(f"X-{i}") for i in range(1001)]), 422, "changes", id="too-many-changes"),
        P(revision([add("SEMI-009"), amend("SEMI-009", name_en="x")]), 422, "changes", id="duplicate-code"),
        P(
            revision([add("SEMI-009", industry="NOPE")]),
            422,
            "changes[0].technology.industry_code",
            id="add-unknown-industry",
        ),
        P(
            revision([retire("SEMI-001"), amend("SEMI-002", industry_code="NOPE")]),
            422,
            "changes[1].industry_code",
            id="amend-to-unknown-industry",
        ),
        P(revision([add("SEMI-001")]), 409, "changes[0]", id="add-existing-code"),
        P(revision([retire("SEMI-001"), retire("SEMI-404")]), 422, "changes[1].code", id="retire-unknown"),
        P(revision([amend("SEMI-404", name_en="x")]), 422, "changes[0].code", id="amend-unknown"),
        P(revision([amend("SEMI-001")]), 422, "changes[0]", id="empty-amend"),
    ],
)
async def test_bad_revision_is_rejected(
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    world: World,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    await rejected(db, api.post("/v1/revisions", json=body), status, field)


async def test_a_field_error_inside_a_change_is_named_as_the_change_was_written(
    api: httpx.AsyncClient, world: World
) -> None:
    # Found by a review: pydantic names the union member it chose, so the field read
    # "body.changes.0.add.technology.name_ko" where the body has "op": "add" and no "add" key.
    bad_add = {**add("SEMI-009"), "technology": {**add("SEMI-009")["technology"], "name_ko": ""}}
    resp = await api.post("/v1/revisions", json=revision([retire("SEMI-001"), bad_add]))
    errors = assert_problem(resp, 422)["errors"]
    assert [e["field"] for e in errors] == ["changes[1].technology.name_ko"]
    resp = await api.post("/v1/revisions", json=revision([{**amend("SEMI-001", name_en="x"), "note": "x"}]))
    assert [e["field"] for e in assert_problem(resp, 422)["errors"]] == ["changes[0].note"]
    # A field missing inside the member (found by a review: the tag stayed there).
    resp = await api.post("/v1/revisions", json=revision([{"op": "add"}, {"op": "retire"}]))
    fields = sorted(e["field"] for e in assert_problem(resp, 422)["errors"])
    assert fields == ["changes[0].technology", "changes[1].code"]
    # A tag that names no member is still the change's own error.
    resp = await api.post("/v1/revisions", json=revision([{"op": "rename", "code": "SEMI-001"}]))
    assert [e["field"] for e in assert_problem(resp, 422)["errors"]] == ["changes[0]"]


async def test_unknown_industry_is_named(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    # Each change that names it, by its own path (found by a probe: the error said `changes`).
    changes = [add("SEMI-009", industry="NOPE"), amend("SEMI-002", industry_code="NOPE"), add("SEMI-010")]
    body = await rejected(db, api.post("/v1/revisions", json=revision(changes)), 422)
    assert "NOPE" in body["detail"]
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("changes[0].technology.industry_code", "unknown industry code NOPE"),
        ("changes[1].industry_code", "unknown industry code NOPE"),
    ]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        P(b"{not json", "application/json", id="malformed-json"),
        P(b"[1, 2]", "application/json", id="json-array"),
        P(b"title=x", "text/plain", id="plain-text"),
    ],
)
async def test_body_that_is_not_a_json_object_is_rejected(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World, content: bytes, content_type: str
) -> None:
    request = api.post("/v1/revisions", content=content, headers={"content-type": content_type})
    await rejected(db, request, 422, "body")


async def test_unknown_routes_and_methods_answer_problems(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/nothing"), 404)
    assert_problem(await api.delete("/v1/technologies"), 405)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        P({"effective_on": "2023-12-31"}, "effective_on", id="effective-before-decided"),
        P({"changes": []}, "changes", id="no-changes"),
        P({"status": "published"}, "status", id="unknown-field"),
        P({"changes": [retire("SEMI-404")]}, "changes[0].code", id="retire-unknown"),
        P({"changes": [add("SEMI-009"), retire("SEMI-009")]}, "changes", id="duplicate-code"),
        P(
            {"changes": [add("SEMI-009", industry="NOPE")]},
            "changes[0].technology.industry_code",
            id="add-unknown-industry",
        ),
    ],
)
async def test_bad_edit_is_rejected(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World, patch: dict[str, Any], field: str
) -> None:
    await rejected(db, api.patch(f"/v1/revisions/{world.draft_id}", json=patch), 422, field)


async def test_retire_of_a_retired_technology_conflicts_at_publish(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    rev = await draft(api, [retire("BATT-001")], decided_on="2024-04-01", effective_on="2024-04-01")
    body = await rejected(db, api.post(f"/v1/revisions/{rev['id']}/publish"), 409)
    assert "BATT-001" in body["detail"]
    assert (await api.get(f"/v1/revisions/{rev['id']}")).json()["status"] == "draft"


async def test_amend_of_a_retired_technology_conflicts_at_publish(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    rev = await draft(
        api, [amend("BATT-001", name_en="x")], decided_on="2024-04-01", effective_on="2024-04-01"
    )
    await rejected(db, api.post(f"/v1/revisions/{rev['id']}/publish"), 409)


async def test_retire_on_the_listing_day_conflicts_at_publish(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    rev = await draft(api, [retire("SEMI-001")], decided_on="2024-01-10", effective_on="2024-02-01")
    await rejected(db, api.post(f"/v1/revisions/{rev['id']}/publish"), 409)


async def test_publish_waits_for_the_effective_date(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    api.app.state.clock = fixed_clock(date(2024, 6, 1))  # type: ignore[attr-defined]
    early = await draft(api, [add("SEMI-009")], decided_on="2024-05-01", effective_on="2024-06-02")
    body = await rejected(db, api.post(f"/v1/revisions/{early['id']}/publish"), 409)
    assert "2024-06-02" in body["detail"]

    on_time = await draft(api, [add("SEMI-010")], decided_on="2024-05-01", effective_on="2024-06-01")
    resp = await api.post(f"/v1/revisions/{on_time['id']}/publish")
    assert resp.status_code == 200, resp.text
    assert (await api.get("/v1/technologies/SEMI-010")).json()["listed_on"] == "2024-06-01"


async def test_a_published_revision_is_immutable(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    path = f"/v1/revisions/{world.first_id}"
    await rejected(db, api.patch(path, json={"title": "Rewritten"}), 409)
    await rejected(db, api.delete(path), 409)
    await rejected(db, api.post(f"{path}/publish"), 409)


async def test_unknown_revision_is_404(api: httpx.AsyncClient, db: asyncpg.Connection, world: World) -> None:
    path = f"/v1/revisions/{uuid.uuid4()}"
    await rejected(db, api.get(path), 404)
    await rejected(db, api.patch(path, json={"title": "x"}), 404)
    await rejected(db, api.delete(path), 404)
    await rejected(db, api.post(f"{path}/publish"), 404)


async def test_malformed_revision_id_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    await rejected(db, api.get("/v1/revisions/not-a-uuid"), 422, "revision_id")
    await rejected(db, api.post("/v1/revisions/12345/publish"), 422, "revision_id")


async def test_unknown_technology_is_404(api: httpx.AsyncClient, world: World) -> None:
    body = assert_problem(await api.get("/v1/technologies/SEMI-404"), 404)
    assert "SEMI-404" in body["detail"]


@pytest.mark.parametrize("path", ["/v1/technologies", "/v1/industries", "/v1/revisions"])
@pytest.mark.parametrize(
    "cursor",
    [
        P("not a cursor!", id="not-base64"),
        P(cursor_of({"code": "A"}), id="object"),
        P(cursor_of([1]), id="number"),
        P(cursor_of([None]), id="null"),
        P(cursor_of([[1]]), id="nested-list"),
        P(cursor_of(["A", "B", "C"]), id="too-long"),
        P(cursor_of(["yesterday", "not-a-uuid"]), id="pair-of-junk"),
        P(cursor_of(["9999-12-31T23:59:59-14:00", str(uuid.UUID(int=1))]), id="timestamp-out-of-range"),
        # Found by a review: text Postgres refuses reached the database (a 500).
        P(cursor_of(["SEMI-\x00"]), id="nul"),
        P(cursor_of(["SEMI-\ud800"]), id="half-a-surrogate-pair"),
        P(cursor_of(["\x00", str(uuid.UUID(int=1))]), id="nul-in-a-pair"),
    ],
)
async def test_bad_cursor_is_422(api: httpx.AsyncClient, world: World, path: str, cursor: str) -> None:
    assert_problem(await api.get(path, params={"cursor": cursor}), 422, "cursor")


@pytest.mark.parametrize("path", ["/v1/technologies", "/v1/industries", "/v1/revisions"])
@pytest.mark.parametrize("limit", ["201", "0", "-1", "ten"])
async def test_limit_out_of_range_is_422(api: httpx.AsyncClient, path: str, limit: str) -> None:
    assert_problem(await api.get(path, params={"limit": limit}), 422, "limit")


async def test_limit_of_200_is_allowed(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/technologies", params={"limit": 200})).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"as_of": "2024-13-01"}, "as_of"),
        ({"kind": "gas"}, "kind"),
        ({"status": "gone"}, "status"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_bad_technology_filters_are_422(
    api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    assert_problem(await api.get("/v1/technologies", params=params), 422, field)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "statuses"),
    [
        P(
            "POST",
            "/v1/industries",
            {"json": {"code": "AUTO", "name_en": "Auto\u0000", "name_ko": "자동차"}},
            {422},
            id="industry-name",
        ),
        P(
            "POST",
            "/v1/revisions",
            {"json": revision([add("SEMI-009", name_ko="기술\u0000")])},
            {422},
            id="revision-technology-name",
        ),
        P("GET", "/v1/technologies", {"params": {"q": "a\u0000b"}}, {200, 422}, id="q-filter"),
        P("GET", "/v1/technologies/A%00B", {}, {404, 422}, id="technology-code-in-path"),
        P("GET", "/v1/industries/A%00B", {}, {404, 422}, id="industry-code-in-path"),
    ],
)
async def test_nul_characters_are_bad_input_not_a_500(
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    world: World,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    statuses: set[int],
) -> None:
    # Postgres text cannot hold U+0000; the API must answer a 4xx (or ignore it), never fail.
    before = await snapshot(db)
    resp = await api.request(method, path, **kwargs)
    assert resp.status_code in statuses, resp.text
    if resp.status_code >= 400:
        assert_problem(resp, resp.status_code)
    assert await snapshot(db) == before


async def test_a_nul_in_a_body_field_names_the_field(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/v1/industries", json={"code": "AUTO", "name_en": "Auto\u0000", "name_ko": "자동차"}
    )
    assert_problem(resp, 422, "name_en")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/industries", '{"code": "AUTO", "name_en": "Auto\\ud800", "name_ko": "자동차"}'),
        ("/v1/revisions", '{"title": "a\\udfffb", "changes": []}'),
    ],
    ids=["name", "title"],
)
async def test_half_a_surrogate_pair_in_a_body_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, path: str, body: str
) -> None:
    """JSON may escape half of a UTF-16 pair (`\\ud800`); no UTF-8 text holds it."""
    before = await snapshot(db)
    resp = await api.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
    assert_problem(resp, 422)
    assert await snapshot(db) == before


async def test_a_body_that_is_not_json_or_not_utf8_says_so(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Found by a review: JSON cut short named "body.33" (the character offset) as if a field,
    # and a body in EUC-KR got "There was an error parsing the body".
    before = await snapshot(db)
    json_header = {"Content-Type": "application/json"}
    resp = await api.post(
        "/v1/industries", content=b'{"code": "AUTO", "name_en": "Auto",', headers=json_header
    )
    assert_problem(resp, 422)
    [error] = resp.json()["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith("The body is not valid JSON (UTF-8)")
    resp = await api.post(
        "/v1/industries", content='{"code": "자동차"}'.encode("euc-kr"), headers=json_header
    )
    assert_problem(resp, 400)
    assert "UTF-8 (not EUC-KR" in resp.json()["detail"]
    assert await snapshot(db) == before


# authentication and authorization


@pytest.fixture
async def anonymous(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app that sends no token."""
    async with _client(api.app) as client:  # type: ignore[attr-defined]
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/technologies"), ("GET", "/v1/industries/SEMI"), ("POST", "/v1/industries")],
)
async def test_no_token_is_401_with_a_challenge(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection, method: str, path: str
) -> None:
    body = {"code": "AUTO", "name_en": "Auto", "name_ko": "자동차"} if method == "POST" else None
    await rejected(db, anonymous.request(method, path, json=body), 401)
    resp = await anonymous.request(method, path, json=body)
    assert resp.headers["www-authenticate"].startswith("Bearer")


def _expired() -> str:
    return issue_token(SECRET, sub="tester", roles=["editor"], ttl_s=-60)


def _other_secret() -> str:
    return issue_token("another-secret-of-at-least-32-bytes!!", sub="tester", roles=["editor"])


def _no_exp() -> str:
    return jwt.encode({"sub": "tester", "roles": ["editor"]}, SECRET, "HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer ",
        "Basic dGVzdGVyOnB3",
        f"Bearer {_expired()}",
        f"Bearer {_other_secret()}",
        f"Bearer {_no_exp()}",
        f"Bearer {jwt.encode({'sub': 't', 'roles': 'editor', 'exp': 4102444800}, SECRET, 'HS256')}",
    ],
)
async def test_bad_token_is_401(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection, authorization: str
) -> None:
    req = anonymous.post(
        "/v1/industries",
        json={"code": "AUTO", "name_en": "Auto", "name_ko": "자동차"},
        headers={"Authorization": authorization},
    )
    await rejected(db, req, 401)


async def test_expired_token_says_so(anonymous: httpx.AsyncClient) -> None:
    resp = await anonymous.get("/v1/technologies", headers={"Authorization": f"Bearer {_expired()}"})
    body = assert_problem(resp, 401)
    assert "expired" in body["detail"]
    assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_viewer_reads_but_cannot_write(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    viewer = {"Authorization": f"Bearer {token('viewer')}"}
    assert (await anonymous.get("/v1/technologies", headers=viewer)).status_code == 200
    assert (await anonymous.get(f"/v1/revisions/{world.draft_id}", headers=viewer)).status_code == 200
    writes = [
        anonymous.post(
            "/v1/industries", json={"code": "AUTO", "name_en": "A", "name_ko": "자"}, headers=viewer
        ),
        anonymous.post("/v1/revisions", json=revision([add("SEMI-009")]), headers=viewer),
        anonymous.patch(f"/v1/revisions/{world.draft_id}", json={"title": "x"}, headers=viewer),
        anonymous.delete(f"/v1/revisions/{world.draft_id}", headers=viewer),
        anonymous.post(f"/v1/revisions/{world.draft_id}/publish", headers=viewer),
    ]
    for write in writes:
        body = await rejected(db, write, 403)
        assert "editor" in body["detail"]


async def test_token_without_roles_cannot_read(anonymous: httpx.AsyncClient) -> None:
    assert_problem(
        await anonymous.get("/v1/technologies", headers={"Authorization": f"Bearer {token()}"}), 403
    )


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_operations_endpoints_need_no_token(anonymous: httpx.AsyncClient, path: str) -> None:
    resp = await anonymous.get(path)
    assert resp.status_code == 200, resp.text


async def test_readyz_reports_the_database_and_outbox(anonymous: httpx.AsyncClient) -> None:
    body = (await anonymous.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["database"] == {"reachable": True, "pending_migrations": 0}
    assert "outbox" in body


# atomicity and concurrency


async def test_a_revision_that_fails_midway_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    doomed = await draft(
        api,
        [add("SEMI-009"), retire("SEMI-002"), amend("SEMI-001", name_en="Changed")],
        decided_on="2024-04-01",
        effective_on="2024-04-01",
    )
    await publish(api, [retire("SEMI-002")], decided_on="2024-03-15", effective_on="2024-03-15")

    body = await rejected(db, api.post(f"/v1/revisions/{doomed['id']}/publish"), 409)
    assert "SEMI-002" in body["detail"]
    assert_problem(await api.get("/v1/technologies/SEMI-009"), 404)
    semi1 = (await api.get("/v1/technologies/SEMI-001")).json()
    assert (semi1["name_en"], semi1["version"], len(semi1["history"])) == ("Photoresist for EUV", 1, 1)
    assert (await api.get(f"/v1/revisions/{doomed['id']}")).json()["status"] == "draft"


@pytest.fixture
def overlapping_publishes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each publish's transaction open a moment after it reads the technologies.

    Without it one publish often commits before the other starts, and the race under test
    would only happen by luck.
    """
    read = repository.technologies_for_update

    async def slow_read(conn: Any, codes: Any) -> Any:
        found = await read(conn, codes)
        await asyncio.sleep(0.2)
        return found

    monkeypatch.setattr(repository, "technologies_for_update", slow_read)


@pytest.mark.usefixtures("overlapping_publishes")
async def test_concurrent_publishes_of_one_draft_apply_it_once(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    rev = await draft(
        api,
        [add("SEMI-009"), amend("SEMI-001", name_en="Once")],
        decided_on="2024-04-01",
        effective_on="2024-04-01",
    )
    before = await db.fetchval("select count(*) from outbox")
    results = await asyncio.gather(*(api.post(f"/v1/revisions/{rev['id']}/publish") for _ in range(2)))

    assert sorted(r.status_code for r in results) == [200, 409]
    assert_problem(next(r for r in results if r.status_code == 409), 409)
    assert (await api.get("/v1/technologies/SEMI-009")).json()["version"] == 1
    semi1 = (await api.get("/v1/technologies/SEMI-001")).json()
    assert (semi1["name_en"], semi1["version"], len(semi1["history"])) == ("Once", 2, 2)
    assert [e["type"] for e in await outbox_since(db, before)] == [
        f"{TECH}.listed.v1",
        f"{TECH}.amended.v1",
        f"{REVISION}.published.v1",
    ]


async def test_two_drafts_adding_one_code_publish_once(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    # Both drafts are valid when drafted; the code only exists once one of them is published.
    first = await draft(
        api, [add("SEMI-009", name_en="First")], decided_on="2024-04-01", effective_on="2024-04-01"
    )
    second = await draft(
        api, [add("SEMI-009", name_en="Second")], decided_on="2024-04-01", effective_on="2024-04-01"
    )
    resp = await api.post(f"/v1/revisions/{first['id']}/publish")
    assert resp.status_code == 200
    body = await rejected(db, api.post(f"/v1/revisions/{second['id']}/publish"), 409)
    assert "SEMI-009" in body["detail"]


@pytest.mark.usefixtures("overlapping_publishes")
async def test_concurrent_publishes_of_two_drafts_adding_one_code(
    api: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    drafts = [
        await draft(api, [add("SEMI-009", name_en=name)], decided_on="2024-04-01", effective_on="2024-04-01")
        for name in ("First", "Second")
    ]
    results = await asyncio.gather(*(api.post(f"/v1/revisions/{d['id']}/publish") for d in drafts))

    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    assert_problem(next(r for r in results if r.status_code == 409), 409)
    tech = (await api.get("/v1/technologies/SEMI-009")).json()
    assert tech["version"] == 1
    statuses = [(await api.get(f"/v1/revisions/{d['id']}")).json()["status"] for d in drafts]
    assert sorted(statuses) == ["draft", "published"]
    listed = await db.fetchval("select count(*) from outbox where key = 'SEMI-009'")
    assert listed == 1


async def test_names_written_in_decomposed_korean_are_kept_composed(
    api: httpx.AsyncClient, world: World
) -> None:
    decomposed = unicodedata.normalize("NFD", "웨이퍼 세정 장비")
    assert decomposed != "웨이퍼 세정 장비"
    await publish(
        api, [add("SEMI-009", name_ko=decomposed)], decided_on="2024-05-01", effective_on="2024-06-01"
    )
    stored = (await api.get("/v1/technologies/SEMI-009")).json()
    assert stored["name_ko"] == "웨이퍼 세정 장비"
    assert await codes(api, q="세정") == ["SEMI-009"]


async def test_latin_typed_full_width_is_kept_as_ascii(api: httpx.AsyncClient, world: World) -> None:
    await publish(
        api,
        [add("SEMI-009", name_ko="ＯＬＥＤ　봉지　장비", name_en="ＯＬＥＤ encapsulation")],
        decided_on="2024-05-01",
        effective_on="2024-06-01",
    )
    stored = (await api.get("/v1/technologies/SEMI-009")).json()
    assert (stored["name_ko"], stored["name_en"]) == ("OLED 봉지 장비", "OLED encapsulation")
    assert await codes(api, q="oled") == ["SEMI-009"]
