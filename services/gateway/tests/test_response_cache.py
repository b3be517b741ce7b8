"""The response cache: whole answers reused until a projected change, never a stale one after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import structlog

from gateway.http.endpoint import GraphQLHTTP
from gateway.http.response_cache import Building, Cached, ResponseCache
from mpe_events.registry import TECHNOLOGY_AMENDED
from mpe_kit import db, ops

from .conftest import batch, brn, event, firm, firm_event, hub_caught_up, new_key, technology
from .test_access import Served, metric, serving

pytestmark = pytest.mark.usefixtures("seeded")

NAME = "query($code: String!) { technology(code: $code) { code nameEn version } }"


def answered_by(logs: list[dict[str, Any]]) -> list[str]:
    return [e["answered_by"] for e in logs if e["event"] == "graphql request"]


async def test_a_repeated_query_is_answered_from_the_cache_per_variables_and_scopes(
    conn: db.Conn, gateway_db: str
) -> None:
    reader = await new_key(conn, "catalog:read")
    other = await new_key(conn, "budget:read")
    async with serving(gateway_db) as served:
        state: GraphQLHTTP = served.app.state.gateway.graphql
        with structlog.testing.capture_logs() as logs:
            first = await served.query(reader.secret, NAME, code="SEMI-004")
            again = await served.query(reader.secret, NAME, code="SEMI-004")
            another = await served.query(reader.secret, NAME, code="SEMI-005")
            forbidden = await served.query(other.secret, NAME, code="SEMI-004")
            forbidden_again = await served.query(other.secret, NAME, code="SEMI-004")
        assert again.content == first.content
        assert first.json()["data"]["technology"]["code"] == "SEMI-004"
        assert another.json()["data"]["technology"]["code"] == "SEMI-005"
        # A key without the scope is never answered from an entry made for one with it.
        assert forbidden.json()["data"] == {"technology": None}
        assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert forbidden_again.content == forbidden.content
        assert answered_by(logs) == ["compiled", "cache", "compiled", "strawberry", "cache"]
        assert (state.responses.hits, state.responses.misses) == (2, 3)


async def test_a_projected_change_is_never_hidden_by_a_cached_answer(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        for version in range(2, 12):
            before = await served.query(key.secret, NAME, code="SEMI-004")
            assert (await served.query(key.secret, NAME, code="SEMI-004")).content == before.content
            await batch(
                conn,
                event(
                    TECHNOLOGY_AMENDED.type,
                    technology("SEMI-004", version=version, name_en=f"Name {version}"),
                    "SEMI-004",
                ),
            )
            await hub_caught_up(served.app, conn)
            after = (await served.query(key.secret, NAME, code="SEMI-004")).json()["data"]["technology"]
            assert after == {"code": "SEMI-004", "nameEn": f"Name {version}", "version": version}


async def test_a_stale_event_leaves_the_cache_alone(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        await served.query(key.secret, NAME, code="SEMI-004")
        watermark = served.app.state.gateway.changes.watermark
        stale = event(TECHNOLOGY_AMENDED.type, technology("SEMI-004", version=1, name_en="Old"), "SEMI-004")
        await batch(conn, stale)
        with structlog.testing.capture_logs() as logs:
            r = await served.query(key.secret, NAME, code="SEMI-004")
        assert served.app.state.gateway.changes.watermark == watermark
        assert answered_by(logs) == ["cache"]
        assert r.json()["data"]["technology"]["nameEn"] != "Old"


async def test_how_current_the_data_is_is_never_cached(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    query = '{ technology(code: "SEMI-004") { code } dataAsOf { topic lag } }'
    async with serving(gateway_db) as served:
        with structlog.testing.capture_logs() as logs:
            await served.query(key.secret, query)
            await served.query(key.secret, query)
        assert answered_by(logs) == ["strawberry", "strawberry"]


async def test_without_its_notifications_the_gateway_does_not_use_the_cache(
    conn: db.Conn, gateway_db: str
) -> None:
    """The hub's connection is cut: no entry can be trusted until it is back and has re-read the log."""
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        hub = served.app.state.gateway.changes
        await served.query(key.secret, NAME, code="SEMI-004")
        await conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'gateway-change-hub'"
            " and datname = current_database()"
        )
        async with asyncio.timeout(5):
            while True:
                if not hub.live:
                    break
                await asyncio.sleep(0.01)
        # A change committed while the hub is deaf.
        await batch(
            conn,
            event(TECHNOLOGY_AMENDED.type, technology("SEMI-004", version=2, name_en="Renamed"), "SEMI-004"),
        )
        with structlog.testing.capture_logs() as logs:
            r = await served.query(key.secret, NAME, code="SEMI-004")
        assert r.json()["data"]["technology"]["nameEn"] == "Renamed"
        assert answered_by(logs) == ["compiled"]


async def test_the_cache_is_off_at_size_zero(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, response_cache_size=0) as served:
        with structlog.testing.capture_logs() as logs:
            await served.query(key.secret, NAME, code="SEMI-004")
            await served.query(key.secret, NAME, code="SEMI-004")
        assert answered_by(logs) == ["compiled", "compiled"]


async def until_waiting(cache: ResponseCache, waiting: int) -> Building:
    """The one answer under way, once `waiting` identical requests wait for it."""
    async with asyncio.timeout(10):
        while True:
            under_way = cache.under_way()
            if len(under_way) == 1 and under_way[0].waiting == waiting:
                return under_way[0]
            await asyncio.sleep(0.01)


@dataclass
class Sharing:
    """A gateway app while its lifespan runs, a key that may read the catalog, and the app's cache."""

    served: Served
    secret: str
    cache: ResponseCache

    def ask(self) -> asyncio.Task[httpx.Response]:
        """The same request each time, sent in a task of its own."""
        return asyncio.create_task(self.served.query(self.secret, NAME, code="SEMI-004"))


@pytest.fixture
async def sharing(conn: db.Conn, gateway_db: str) -> AsyncIterator[Sharing]:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        yield Sharing(served, key.secret, served.app.state.gateway.graphql.responses)


@asynccontextmanager
async def first_held(
    conn: db.Conn, sharing: Sharing
) -> AsyncIterator[tuple[asyncio.Task[httpx.Response], Building]]:
    """A first request executing, held by a lock on `technologies` until the block ends."""
    async with conn.transaction():
        await conn.execute("lock table technologies in access exclusive mode")
        first = sharing.ask()
        yield first, await until_waiting(sharing.cache, 0)


async def test_identical_requests_at_one_watermark_share_one_execution(
    conn: db.Conn, sharing: Sharing
) -> None:
    """Four requests arrive while the first is executing (held by a lock): one statement, five answers."""
    cache = sharing.cache
    with structlog.testing.capture_logs() as logs:
        async with first_held(conn, sharing) as (first, _):
            others = [sharing.ask() for _ in range(4)]
            await until_waiting(cache, 4)
            assert not first.done()
        answers = await asyncio.gather(first, *others)
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.content for a in answers} == {answers[0].content}
    assert answers[0].json()["data"]["technology"]["code"] == "SEMI-004"
    assert sorted(answered_by(logs)) == ["compiled", "shared", "shared", "shared", "shared"]
    assert (cache.shared, cache.under_way()) == (4, [])
    # Once answered it is the cache's entry, as before.
    with structlog.testing.capture_logs() as logs:
        again = await sharing.served.query(sharing.secret, NAME, code="SEMI-004")
    assert again.content == answers[0].content
    assert answered_by(logs) == ["cache"]
    metrics = await ops.scrape(sharing.served.app)
    answers_by = [
        metric(metrics, "mpe_gateway_answers_total", by=by) for by in ("compiled", "shared", "cache")
    ]
    assert answers_by == [1, 4, 1]


async def test_when_the_executing_request_goes_away_one_of_the_waiting_executes(
    conn: db.Conn, sharing: Sharing
) -> None:
    """The executing request is cancelled (a shutdown): one of the two waiting executes, the other waits for it."""
    cache = sharing.cache
    with structlog.testing.capture_logs() as logs:
        async with first_held(conn, sharing) as (first, gone):
            others = [sharing.ask() for _ in range(2)]
            await until_waiting(cache, 2)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            again = await until_waiting(cache, 1)
            assert again is not gone
        answers = await asyncio.gather(*others)
    assert [a.json()["data"]["technology"]["code"] for a in answers] == ["SEMI-004"] * 2
    assert answers[0].content == answers[1].content
    # The cancelled request's line says it was not answered; the two others:
    assert sorted(e["answered_by"] for e in logs if e.get("status") == 200) == ["compiled", "shared"]
    assert (cache.shared, cache.under_way()) == (1, [])


async def test_a_request_after_the_watermark_moved_does_not_wait_for_an_older_answer(
    conn: db.Conn, gateway_db: str, sharing: Sharing
) -> None:
    """A change is projected while the first request executes: the next one executes on its own."""
    cache = sharing.cache
    with structlog.testing.capture_logs() as logs:
        async with first_held(conn, sharing) as (first, older):
            # A change that does not touch the locked table, from another connection.
            writer = await db.connect(gateway_db)
            try:
                await batch(writer, firm_event(firm(brn(777))))
                await hub_caught_up(sharing.served.app, writer)
            finally:
                await writer.close()
            later = sharing.ask()
            async with asyncio.timeout(10):  # its own, beside the older one
                while True:
                    if len(cache.under_way()) == 2:
                        break
                    await asyncio.sleep(0.01)
            assert older.waiting == 0
        answers = await asyncio.gather(first, later)
    assert [a.json()["data"]["technology"]["code"] for a in answers] == ["SEMI-004"] * 2
    assert answered_by(logs) == ["compiled", "compiled"]
    assert (cache.shared, cache.under_way()) == (0, [])


async def test_an_answer_is_shared_only_at_its_watermark() -> None:
    cache = ResponseCache(size=10, max_entry_bytes=1000)
    first, builds = cache.building(7, "query")
    assert builds
    same, builds = cache.building(7, "query")
    assert (same, builds) == (first, False)
    later, builds = cache.building(8, "query")
    assert builds
    assert later is not first
    other, builds = cache.building(7, "another query")
    assert builds
    assert other is not first
    # An answer that may not be shared (an unexpected error): those waiting get None, and build their own.
    waiting = asyncio.create_task(same.wait())
    await asyncio.sleep(0)
    first.done(None)
    assert await waiting is None
    again, builds = cache.building(7, "query")
    assert builds
    assert again is not first
    answer = Cached(b'{"data":{}}', None, "query", 1, ())
    waiting = asyncio.create_task(again.wait())
    cancelled = asyncio.create_task(again.wait())
    await asyncio.sleep(0)
    cancelled.cancel()  # one waiting request goes away: the others still get the answer
    again.done(answer)
    assert await waiting == answer
    assert cancelled.cancelled()
    assert cache.shared == 1
