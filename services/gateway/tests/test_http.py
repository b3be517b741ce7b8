"""/graphql over HTTP: persisted queries, GET, malformed requests, dataAsOf and the wait for writes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway import store
from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.state import state_of
from mpe_kit import db, ops
from mpe_kit.writes import Written, encode

from .conftest import new_key
from .test_access import metric, serving

pytestmark = pytest.mark.usefixtures("seeded")

COUNT = "{ technologies { totalCount } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str, query: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if query is not None:
        body["query"] = query
    return body


async def post(client: httpx.AsyncClient, secret: str, body: Any, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"X-API-Key": secret, **headers})


async def test_a_persisted_query_is_registered_once_then_sent_by_hash(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        unknown = await post(served.client, key.secret, apq(sha(COUNT)))
        assert unknown.status_code == 200
        assert unknown.json()["errors"] == [
            {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
        ]
        registered = await post(served.client, key.secret, apq(sha(COUNT), COUNT))
        assert registered.json()["data"] == {"technologies": {"totalCount": 25}}
        by_hash = await post(served.client, key.secret, apq(sha(COUNT)))
        assert by_hash.json()["data"] == {"technologies": {"totalCount": 25}}
        by_get = await served.client.get(
            "/graphql",
            params={"extensions": json.dumps(apq(sha(COUNT))["extensions"])},
            headers={"X-API-Key": key.secret},
        )
        assert by_get.json()["data"] == {"technologies": {"totalCount": 25}}


async def test_only_a_valid_query_of_modest_size_is_remembered(conn: db.Conn, gateway_db: str) -> None:
    # Found by a review: a text was remembered before it was parsed, so 300 requests of 250 KB
    # that were no query at all kept 75 MB, each still served by its hash.
    key = await new_key(conn, "catalog:read")
    broken = "# " + "x" * 1000 + "\n{ technologies { totalCount "
    invalid = "{ technologies { nonsense } }"
    huge = "# " + "x" * 60_000 + "\n" + COUNT
    async with serving(gateway_db) as served:
        for text in (broken, invalid, huge):
            first = await post(served.client, key.secret, apq(sha(text), text))
            assert first.status_code in (200, 400), first.text
            again = await post(served.client, key.secret, apq(sha(text)))
            assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", text[:40]
        # The huge one was answered all the same; only not kept.
        assert (await post(served.client, key.secret, apq(sha(huge), huge))).json()["data"] == {
            "technologies": {"totalCount": 25}
        }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (apq(sha(COUNT), "{ industries { code } }"), "PERSISTED_QUERY_HASH_MISMATCH"),
        (apq("ABC"), "BAD_REQUEST"),
        (
            {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha(COUNT)}}},
            "PERSISTED_QUERY_NOT_SUPPORTED",
        ),
        ({"query": 1}, "BAD_REQUEST"),
        ({"query": COUNT, "variables": []}, "BAD_REQUEST"),
        ({"query": COUNT, "operationName": 3}, "BAD_REQUEST"),
        ({"variables": {}}, "BAD_REQUEST"),
        ([COUNT], "BAD_REQUEST"),
    ],
    ids=[
        "hash-mismatch",
        "bad-hash",
        "apq-version",
        "query-type",
        "variables",
        "operation",
        "no-query",
        "list",
    ],
)
async def test_malformed_requests_are_400_with_a_clear_error(
    conn: db.Conn, gateway_db: str, body: Any, code: str
) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        r = await post(served.client, key.secret, body)
        assert r.status_code == 400, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == code
        # A mismatching hash is not remembered.
        after = await post(served.client, key.secret, apq(sha(COUNT)))
        assert after.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("where", ["body", "get"])
async def test_json_nested_past_the_parsers_depth_is_400_not_500(
    conn: db.Conn, gateway_db: str, where: str
) -> None:
    # Found by a review: Python's json raised RecursionError, and the gateway answered 500.
    key = await new_key(conn, "catalog:read")
    deep = "[" * 1200 + "]" * 1200  # past the parser's depth, and within the URL limit
    async with serving(gateway_db) as served:
        headers = {"X-API-Key": key.secret, "content-type": "application/json"}
        if where == "body":
            body = '{"query": "{ industries { code } }", "variables": {"a": ' + deep + "}}"
            r = await served.client.post("/graphql", content=body.encode(), headers=headers)
        else:
            params = {"query": "{ industries { code } }", "variables": '{"a": ' + deep + "}"}
            r = await served.client.get("/graphql", params=params, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "nests too deeply" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("first", ["{ dataAsOf { topic } }", "{ technologies { totalCount } }"])
async def test_two_operations_without_an_operation_name_are_refused(
    conn: db.Conn, gateway_db: str, first: str
) -> None:
    # Found by a review: the first operation ran. The GraphQL spec refuses such a request.
    key = await new_key(conn, "catalog:read")
    query = f"query B {first} query A {{ industries {{ code }} }}"
    async with serving(gateway_db) as served:
        r = await post(served.client, key.secret, {"query": query})
        assert r.status_code == 400, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "operationName" in error["message"]
        named = await post(served.client, key.secret, {"query": query, "operationName": "A"})
        assert "industries" in named.json()["data"]


async def test_a_body_that_is_not_json_is_refused(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        headers = {"X-API-Key": key.secret, "content-type": "application/json"}
        r = await served.client.post("/graphql", content=b"{nope", headers=headers)
        assert r.status_code == 400
        assert r.json()["errors"][0]["message"] == "The body is not valid JSON."
        r = await served.client.post(
            "/graphql", content=COUNT.encode(), headers={**headers, "content-type": "text/plain"}
        )
        assert r.status_code == 415


async def test_queries_over_get(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        r = await served.client.get(
            "/graphql",
            params={
                "query": "query($n: Int!) { technologies(first: $n) { edges { node { code } } } }",
                "variables": json.dumps({"n": 2}),
            },
            headers={"X-API-Key": key.secret},
        )
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]["technologies"]["edges"]) == 2
        assert "dataAsOf" in r.json()["extensions"]
        # Found by a review: a GET's answer depends on the key in a header no cache knows of.
        assert r.headers["cache-control"] == "no-store"
        unauthenticated = await served.client.get("/graphql", params={"query": COUNT})
        assert unauthenticated.status_code == 401


async def test_data_as_of_is_the_oldest_time_every_partition_was_seen_complete(
    conn: db.Conn, gateway_db: str
) -> None:
    key = await new_key(conn, "catalog:read")
    now = datetime.now(UTC).replace(microsecond=0)
    async with serving(gateway_db) as served:
        r = await served.query(key.secret, COUNT)
        assert r.json()["extensions"] == {"dataAsOf": None}  # nothing is known yet
        await store.changes.record_caught_up(
            conn,
            [
                ("mpe.catalog.technology", 0, 10, now - timedelta(seconds=3)),
                ("mpe.catalog.industry", 0, 2, now),
            ],
        )
        await asyncio.sleep(0.6)  # the route reads it at most every half second
        r = await served.query(key.secret, COUNT)
        assert datetime.fromisoformat(r.json()["extensions"]["dataAsOf"]) == now - timedelta(seconds=3)
        # Times only grow, and a partition never seen complete makes the whole unknown.
        await store.changes.record_caught_up(
            conn, [("mpe.catalog.technology", 0, 10, now - timedelta(days=1))]
        )
        await store.changes.record_positions(conn, [("mpe.firms.firm", 0, 5, 9, now)])
        await asyncio.sleep(0.6)
        r = await served.query(key.secret, COUNT)
        assert r.json()["extensions"] == {"dataAsOf": None}
        fields = await served.query(key.secret, "{ dataAsOf { topic caughtUpAt } }")
        assert fields.json()["data"]["dataAsOf"] == [
            {"topic": "mpe.catalog.industry", "caughtUpAt": now.isoformat()},
            {"topic": "mpe.catalog.technology", "caughtUpAt": (now - timedelta(seconds=3)).isoformat()},
            {"topic": "mpe.firms.firm", "caughtUpAt": None},
        ]


async def test_with_kafka_unreachable_the_gateway_answers_and_says_how_old_its_data_is(
    conn: db.Conn, gateway_db: str
) -> None:
    """The projector cannot reach the broker: answers come from the read model, dataAsOf stays put."""
    key = await new_key(conn, "catalog:read")
    seen = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    await store.changes.record_caught_up(conn, [("mpe.catalog.technology", 0, 25, seen)])
    s = GatewaySettings(database_url=gateway_db, log_json=False, kafka_bootstrap="127.0.0.1:1")
    app = create_app(s, with_workers=True)
    async with (
        LifespanManager(app, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        for _ in range(3):
            r = await post(client, key.secret, {"query": COUNT})
            assert r.status_code == 200
            assert r.json() == {
                "data": {"technologies": {"totalCount": 25}},
                "extensions": {"dataAsOf": seen.isoformat()},
            }
            await asyncio.sleep(0.6)
        ready = (await client.get("/readyz")).json()
        assert ready["projection"]["mpe.catalog.technology"]["caught_up_at"] == seen.isoformat()


async def test_a_write_not_yet_projected_is_waited_for_then_refused_clearly(
    conn: db.Conn, gateway_db: str
) -> None:
    key = await new_key(conn, "catalog:read")
    token = encode([Written("/mpe/catalog", 42, 3)])
    async with serving(gateway_db, read_your_writes_timeout_s=0.3) as served:
        start = time.monotonic()
        r = await post(served.client, key.secret, {"query": COUNT}, **{"MPE-Wait-For": token})
        waited = time.monotonic() - start
        assert r.status_code == 200
        [error] = r.json()["errors"]
        assert error["extensions"] == {"code": "WRITE_NOT_YET_VISIBLE", "timeoutSeconds": 0.3, "pending": 1}
        assert "data" not in r.json()
        assert waited >= 0.3
        # Two of three events are not the whole write; the third makes it visible.
        await store.changes.record_writes(conn, [("/mpe/catalog", 42, 2)])
        r = await post(served.client, key.secret, {"query": COUNT}, **{"MPE-Wait-For": token})
        assert r.json()["errors"][0]["extensions"]["code"] == "WRITE_NOT_YET_VISIBLE"

        async def third() -> None:
            await asyncio.sleep(0.1)
            await store.changes.record_writes(conn, [("/mpe/catalog", 42, 1)])

        task = asyncio.create_task(third())
        r = await post(served.client, key.secret, {"query": COUNT}, **{"MPE-Wait-For": token})
        await task
        assert r.json()["data"] == {"technologies": {"totalCount": 25}}


async def test_past_its_most_requests_at_once_an_instance_answers_503_at_once(
    conn: db.Conn, gateway_db: str
) -> None:
    """Two requests are held in flight, their bodies half sent; the third is refused without
    waiting, then served once they are done. The refusal is counted, and the in-flight count
    goes back to 0."""
    key = await new_key(conn, "catalog:read")
    release = asyncio.Event()
    body = json.dumps({"query": COUNT}).encode()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:5]
        await release.wait()
        yield body[5:]

    async def held() -> httpx.Response:
        return await served.client.post(
            "/graphql",
            content=slow_body(),
            headers={"X-API-Key": key.secret, "Content-Type": "application/json"},
        )

    async with serving(gateway_db, max_in_flight=2) as served:
        graphql = state_of(served.app).graphql
        waiting = [asyncio.create_task(held()) for _ in range(2)]
        deadline = time.monotonic() + 5
        while graphql.in_flight < 2:
            assert time.monotonic() < deadline, "the two held requests never got in"
            await asyncio.sleep(0.01)
        r = await post(served.client, key.secret, {"query": COUNT})
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert r.json()["detail"] == (
            "This gateway instance is already working on 2 requests, its most at once; retry in 1 s."
        )
        assert r.json()["retry_after_s"] == 1
        release.set()
        for answer in await asyncio.gather(*waiting):
            assert answer.json()["data"] == {"technologies": {"totalCount": 25}}
        assert graphql.in_flight == 0
        r = await post(served.client, key.secret, {"query": COUNT})
        assert r.json()["data"] == {"technologies": {"totalCount": 25}}
        metrics = await ops.scrape(served.app)
    assert metric(metrics, "mpe_gateway_requests_total", agency="(none)", outcome="busy") == 1
    assert metric(metrics, "mpe_gateway_rejections_total", agency="(none)", limit="GATEWAY_BUSY") == 1
    # Each request has its own access record, though asgi-lifespan hands them one state dict.
    assert (
        metric(metrics, "mpe_gateway_requests_total", agency="KIAT", operation_type="query", outcome="ok")
        == 3
    )


async def test_a_request_waiting_for_its_writes_leaves_room_under_the_cap(
    conn: db.Conn, gateway_db: str
) -> None:
    """With a cap of one, a read waiting on a lagging projector does not turn others away."""
    key = await new_key(conn, "catalog:read")
    token = encode([Written("/mpe/catalog", 78, 1)])
    async with serving(gateway_db, max_in_flight=1, read_your_writes_timeout_s=10) as served:
        graphql = state_of(served.app).graphql
        waiting = asyncio.create_task(
            post(served.client, key.secret, {"query": COUNT}, **{"MPE-Wait-For": token})
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()
        assert graphql.in_flight == 0
        r = await post(served.client, key.secret, {"query": COUNT})
        assert r.status_code == 200
        assert r.json()["data"] == {"technologies": {"totalCount": 25}}
        await store.changes.record_writes(conn, [("/mpe/catalog", 78, 1)])
        assert (await waiting).json()["data"] == {"technologies": {"totalCount": 25}}
        assert graphql.in_flight == 0


async def test_a_wait_token_of_a_source_the_gateway_does_not_show_is_400_at_once(
    conn: db.Conn, gateway_db: str
) -> None:
    # Found by a review: it waited the whole read-your-writes timeout, then said "not yet visible".
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        token = encode([Written("/mpe/nope", 1, 1)])
        r = await post(served.client, key.secret, {"query": COUNT}, **{"MPE-Wait-For": token})
        # Refused before any wait: a wait would end in WRITE_NOT_YET_VISIBLE (a 200).
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "/mpe/nope" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "token",
    [
        "nope",
        "v1.!!!",
        encode([Written("s", 1, 1)])[:-3] + "AAA",
        "v1.",
        # Found by a review: a NUL or a half surrogate pair in the source reached Postgres (a 500).
        encode([Written("/mpe/firms\x00", 1, 1)]),
        encode([Written("/mpe/\ud800", 1, 1)]),
    ],
)
async def test_a_malformed_wait_token_is_400(conn: db.Conn, gateway_db: str, token: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        r = await post(served.client, key.secret, {"query": COUNT}, **{"MPE-Wait-For": token})
        assert r.status_code == 400
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
