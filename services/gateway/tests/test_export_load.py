"""GET /export/{entity}.ndjson under load: a client that hangs up or reads nothing, more exports
than the pool allows, and memory that does not grow with the rows (test_export.py: what it holds)."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway.app import create_app
from gateway.settings import GatewaySettings
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import db

from .conftest import Running, new_key


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app (its lifespan already running) behind a real HTTP server, so that clients can hang up."""
    async with uvicorn_serving(app, lifespan="off") as url:
        yield url


async def _many_technologies(conn: db.Conn, n: int, *, start: int = 0) -> None:
    # Straight into the read model: n events through the projector would only slow the test,
    # and the projection of technologies is tested on its own.
    await conn.execute(
        "insert into technologies (code, industry_code, kind, name_en, name_ko, description, status,"
        " listed_on, version, revision_id)"
        " select 'GEN-' || lpad(i::text, 6, '0'), 'SEMI', 'part', 'Generated technology ' || i,"
        " '생성된 기술 ' || i, repeat('x', 100), 'listed', date '2020-04-01', 1, gen_random_uuid()"
        " from generate_series($1::int, $2::int) as i",
        start + 1,
        start + n,
    )


async def until(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10) -> None:
    """Wait for a state the server reaches on its own."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - the pool and Postgres expose states, not events
            await asyncio.sleep(0.05)


async def _backends_in_transaction(conn: db.Conn) -> int:
    n = await conn.fetchval(
        "select count(*) from pg_stat_activity where datname = current_database()"
        " and pid <> pg_backend_pid() and state like '%transaction%'"
    )
    return int(n)


async def test_a_client_that_hangs_up_gives_the_connection_back(
    gateway_app: Running, conn: db.Conn, gateway_db: str
) -> None:
    await _many_technologies(conn, 30_000)
    key = await new_key(conn, "catalog:read")
    pool = gateway_app.app.state.pool

    async def released() -> bool:
        return not await _backends_in_transaction(conn) and pool.get_idle_size() == pool.get_size()

    async with served(gateway_app.app) as base:
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key.secret}) as client:
            for _ in range(3):
                async with client.stream("GET", "/export/technologies.ndjson") as r:
                    assert r.status_code == 200
                    first = await anext(r.aiter_bytes())
                    assert first.startswith(b'{"code":"GEN-000001"')
                    await asyncio.sleep(0.2)  # the server is mid-transfer, its socket buffers full
                # Closed half-way: the transaction ends and the connection goes back to the pool.
                await until(released)
            # And a whole export still works afterwards, on the same pool.
            r = await client.get("/export/technologies.ndjson")
            assert len(r.content.splitlines()) == 30_000
        assert not gateway_app.app.state.gateway.export_slots.locked()


async def test_exports_beyond_half_the_pool_are_turned_away(gateway_db: str, conn: db.Conn) -> None:
    await _many_technologies(conn, 30_000)
    key = await new_key(conn, "catalog:read")
    settings = GatewaySettings(
        database_url=gateway_db,
        log_json=False,
        kafka_bootstrap="127.0.0.1:1",
        db_pool_max=2,
        key_cache_ttl_s=0,
    )
    app = create_app(settings, with_workers=False)
    async with (
        LifespanManager(app),
        served(app) as base,
        httpx.AsyncClient(base_url=base, headers={"X-API-Key": key.secret}) as client,
    ):
        async with client.stream("GET", "/export/technologies.ndjson") as held:
            assert held.status_code == 200
            chunks = held.aiter_bytes()  # kept: dropping the iterator would close the connection
            await anext(chunks)
            busy = await client.get("/export/technologies.ndjson")
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == "5"
            assert "export slot" in busy.json()["detail"]
            # GraphQL still has its half of the pool.
            r = await client.post("/graphql", json={"query": '{ technology(code: "GEN-000002") { code } }'})
            assert r.json()["data"] == {"technology": {"code": "GEN-000002"}}

        async def slot_free() -> bool:
            return not app.state.gateway.export_slots.locked()

        await until(slot_free)
        r = await client.get("/export/technologies.ndjson")
        assert r.status_code == 200
        assert len(r.content.splitlines()) == 30_000


async def test_a_client_that_reads_nothing_is_cut_off_and_one_key_cannot_hold_every_slot(
    gateway_db: str, conn: db.Conn
) -> None:
    # Found by a review: two raw connections of one key that sent the request and never read the
    # body held both export slots, each with an open transaction, for as long as they liked;
    # every other agency got 503.
    await _many_technologies(conn, 30_000)
    first, other = await new_key(conn, "catalog:read"), await new_key(conn, "catalog:read")
    settings = GatewaySettings(
        database_url=gateway_db,
        log_json=False,
        kafka_bootstrap="127.0.0.1:1",
        db_pool_max=6,  # three export slots
        export_stall_timeout_s=1,
        exports_per_key=2,
    )
    app = create_app(settings, with_workers=False)
    request = f"GET /export/technologies.ndjson HTTP/1.1\r\nHost: x\r\nX-API-Key: {first.secret}\r\n\r\n"
    async with LifespanManager(app), uvicorn_serving(app, lifespan="off") as base:
        host, port = base.removeprefix("http://").split(":")
        stalled = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(request.encode())
            await writer.drain()
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            stalled.append(writer)  # and nothing more is read
        async with httpx.AsyncClient(base_url=base) as client:
            third = await client.get("/export/technologies.ndjson", headers={"X-API-Key": first.secret})
            assert third.status_code == 429
            assert third.headers["retry-after"] == "5"
            assert "already runs 2 exports" in third.json()["detail"]
            # Another agency still has a slot meanwhile.
            r = await client.get("/export/technologies.ndjson", headers={"X-API-Key": other.secret})
            assert len(r.content.splitlines()) == 30_000

            async def cut_off() -> bool:
                return not app.state.gateway.exports_by_key and not await _backends_in_transaction(conn)

            await until(cut_off)  # the stall timeout ended both transfers and their transactions
            again = await client.get("/export/technologies.ndjson", headers={"X-API-Key": first.secret})
            assert len(again.content.splitlines()) == 30_000
        for writer in stalled:
            writer.close()


async def _drain(app: Any, path: str, secret: str) -> tuple[int, int]:
    """Call the ASGI app directly, dropping each chunk as it comes: (status, lines)."""
    status = 0
    count = 0
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never hangs up
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, count
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            count += message.get("body", b"").count(b"\n")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"gateway"), (b"x-api-key", secret.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("gateway", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return status, count


async def test_memory_does_not_grow_with_the_number_of_rows(gateway_app: Running, conn: db.Conn) -> None:
    key = await new_key(conn, "catalog:read")
    peaks: dict[int, int] = {}
    await _many_technologies(conn, 5_000)
    await _drain(gateway_app.asgi, "/export/technologies.ndjson", key.secret)  # warm up: imports, caches
    tracemalloc.start()
    try:
        for total in (5_000, 50_000):
            if total > 5_000:
                await _many_technologies(conn, total - 5_000, start=5_000)
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            status, count = await _drain(gateway_app.asgi, "/export/technologies.ndjson", key.secret)
            assert (status, count) == (200, total)
            peaks[total] = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # Ten times the rows (about 15 MB of NDJSON): the peak stays where it was (about 0.9 MB, measured).
    print(f"peak memory above baseline: 5,000 rows {peaks[5_000]:,} B; 50,000 rows {peaks[50_000]:,} B")
    assert peaks[50_000] < 1.5 * peaks[5_000]
    assert peaks[50_000] < 8 * 1024 * 1024
