"""The GraphQL surface over a read model filled by the projection handlers."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import httpx
import pytest

from gateway import store
from mpe_kit import db

from .conftest import gql, new_key

pytestmark = pytest.mark.usefixtures("seeded")

PAGE = """
query($first: Int!, $after: String, $filter: TechnologyFilter) {
  technologies(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { code kind status industry { code } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_pages_follow_the_cursor_to_the_end(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = (await gql(client, PAGE, first=10, after=after))["data"]["technologies"]
        assert data["totalCount"] == 25
        seen += [e["node"]["code"] for e in data["edges"]]
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"SEMI-{i:03d}" for i in range(1, 26)]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"status": "RETIRED"}, ["SEMI-001", "SEMI-002", "SEMI-003"]),
        ({"industry": "DISP"}, ["SEMI-025"]),
        ({"kind": "PART"}, ["SEMI-025"]),
        ({"search": "봉지"}, ["SEMI-025"]),
        ({"search": "oled"}, ["SEMI-025"]),
        ({"asOf": "2019-12-31"}, []),
        (
            {"asOf": "2022-10-17", "industry": "SEMI", "status": "RETIRED"},
            ["SEMI-001", "SEMI-002", "SEMI-003"],
        ),
        ({"asOf": "2022-10-18", "status": "RETIRED"}, []),
    ],
)
async def test_filters(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], filter: dict[str, str], expected: list[str]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    data = (await gql(client, PAGE, first=100, filter=filter))["data"]["technologies"]
    assert [e["node"]["code"] for e in data["edges"]] == expected
    assert data["totalCount"] == len(expected)


async def test_industry_counts_today_and_as_of(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    q = '{ industries { code nameKo technologyCount before: technologyCount(asOf: "2022-10-17") } }'
    data = (await gql(client, q))["data"]["industries"]
    assert data == [
        {"code": "DISP", "nameKo": "디스플레이", "technologyCount": 1, "before": 1},
        {"code": "SEMI", "nameKo": "반도체", "technologyCount": 21, "before": 24},
    ]


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_first_outside_1_to_100_is_an_error(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], first: int
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    body = await gql(client, PAGE, first=first)
    assert body["data"] == {"technologies": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 1 and 100" in body["errors"][0]["message"]


async def test_a_foreign_cursor_is_an_error(conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    body = await gql(client, PAGE, first=5, after="not-a-cursor")
    assert body["errors"][0]["message"] == "`after` is not a cursor from this API."


async def test_a_key_without_the_scope_gets_null_and_forbidden(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "budget:read")).secret)
    body = await gql(client, '{ technology(code: "SEMI-004") { code } dataAsOf { topic } }')
    assert body["data"] == {"technology": None, "dataAsOf": []}
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "catalog:read"}


async def test_unknown_technology_is_null_without_error(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    body = await gql(client, '{ technology(code: "NOPE-1") { code } }')
    assert body == {"data": {"technology": None}}


async def test_a_revoked_key_is_refused(conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]) -> None:
    key = await new_key(conn, "catalog:read")
    client = gateway(key.secret)
    assert (await client.post("/graphql", json={"query": "{ industries { code } }"})).status_code == 200
    assert await store.keys.revoke_key(conn, key.id)
    r = await client.post("/graphql", json={"query": "{ industries { code } }"})
    assert r.status_code == 401
    assert r.json()["detail"] == "The API key is not valid or has been revoked."


async def test_graphiql_is_off_unless_enabled(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read")).secret)
    r = await client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert "graphiql" not in r.text.lower()


async def test_a_search_in_decomposed_korean_finds_what_the_composed_one_does(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    # Found by a review: text copied from macOS is often NFD (jamo in a row), and found nothing.
    client = gateway((await new_key(conn, "catalog:read")).secret)
    # And Korean input methods type a space full width (U+3000), as they do Latin.
    for search in ("봉지 필름", unicodedata.normalize("NFD", "봉지 필름"), "봉지\u3000필름"):
        data = (await gql(client, PAGE, first=10, filter={"search": search}))["data"]["technologies"]
        assert [e["node"]["code"] for e in data["edges"]] == ["SEMI-025"], search
