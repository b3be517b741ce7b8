"""The gateway's statement timeout (`GATEWAY_DB_STATEMENT_TIMEOUT_S`): reads are stopped, the projector is not.

A read that passes the cost limit can still wait in Postgres for as long as something holds a
lock it needs (a migration, a manual `lock table`). Each of the gateway's connections opens
with `statement_timeout`; such a read is stopped there and answered `QUERY_TIMEOUT`, and its
connection goes back to the pool in working order. The projector's batches and the inbox's
pruning set the timeout to 0 for their own transactions: stopped half-way, they could only be
tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from structlog.testing import capture_logs

from gateway import store
from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.store.changes import SWITCH_LOCK
from mpe_devstack.kafka import KafkaCluster
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY, dlq_spec
from mpe_kit import db, inbox
from mpe_kit.kafka import ensure_topics
from mpe_kit.transient import RETRY_AFTER_S

from .conftest import new_key
from .test_projector_poison import projector_runner

LIMIT_S = 0.3
QUERY = """{ technologies(first: 5) { totalCount edges { node { code nameEn
  designations(first: 3) { id firm { nameEn } } } } } }"""


def _settings(dsn: str, **fields: object) -> GatewaySettings:
    return GatewaySettings(database_url=dsn, log_json=False, kafka_bootstrap="127.0.0.1:1", **fields)


@contextlib.asynccontextmanager
async def served(
    gateway_db: str, conn: db.Conn, *, compiled: bool, limit_s: float = LIMIT_S
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway (no projector, no key cache) whose statements stop at `limit_s`."""
    app = create_app(
        _settings(gateway_db, db_statement_timeout_s=limit_s, key_cache_ttl_s=0, compiled_queries=compiled),
        with_workers=False,
    )
    key = await new_key(conn, "catalog:read", "firms:read")
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers={"X-API-Key": key.secret}
        ) as c:
            yield c


@pytest.fixture(params=[True, False], ids=["compiled", "resolved"])
async def client(
    gateway_db: str, conn: db.Conn, seeded: None, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    async with served(gateway_db, conn, compiled=request.param) as c:
        yield c


async def _locked(dsn: str, table: str) -> asyncpg.Connection:
    """A connection holding `table` in ACCESS EXCLUSIVE mode until it rolls back."""
    holder: asyncpg.Connection = await asyncpg.connect(dsn)
    await holder.execute("begin")
    await holder.execute(f"lock table {table} in access exclusive mode")
    return holder


async def _waiting_on_locks(conn: db.Conn) -> int:
    """Backends of this database waiting for a lock (the test's own connections never do)."""
    n: int = await conn.fetchval(
        "select count(*) from pg_stat_activity"
        " where datname = current_database() and wait_event_type = 'Lock'"
    )
    return n


async def _until_one_waits(conn: db.Conn) -> None:
    """Until a backend of this database waits for a lock."""
    while True:
        if await _waiting_on_locks(conn) >= 1:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(("configured", "shown"), [(0.25, "250ms"), (12.0, "12s"), (0, "0")])
async def test_each_connection_opens_with_the_configured_timeout(
    gateway_db: str, configured: float, shown: str
) -> None:
    app = create_app(_settings(gateway_db, db_statement_timeout_s=configured), with_workers=False)
    async with LifespanManager(app), app.state.pool.acquire() as a:
        assert await a.fetchval("show statement_timeout") == shown


async def test_the_default_is_ten_seconds() -> None:
    assert GatewaySettings(kafka_bootstrap="127.0.0.1:1").db_server_settings()["statement_timeout"] == "10000"


async def test_a_read_held_past_the_limit_is_stopped_and_answered_query_timeout(
    client: httpx.AsyncClient, gateway_db: str, conn: db.Conn
) -> None:
    holder = await _locked(gateway_db, "technologies")
    try:
        async with asyncio.timeout(20):
            r = await client.post("/graphql", json={"query": QUERY})
        assert r.status_code == 200, r.text
        body = r.json()
        # Compiled, the one statement is the whole answer (`data` null); resolved, each root field
        # that met the limit is null with its own error.
        assert not any((body["data"] or {}).values()), body
        assert {e["extensions"]["code"] for e in body["errors"]} == {"QUERY_TIMEOUT"}, body
        assert "time limit" in body["errors"][0]["message"]
        # Stopped in Postgres, not abandoned there: nothing of the gateway's still waits.
        assert await _waiting_on_locks(conn) == 0
    finally:
        await holder.execute("rollback")
        await holder.close()
    # The same connections answer once the lock is gone, and the refusal was not cached.
    r = await client.post("/graphql", json={"query": QUERY})
    body = r.json()
    assert "errors" not in body, body
    assert body["data"]["technologies"]["totalCount"] == 25


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolved"])
async def test_identical_requests_under_the_lock_share_one_timeout(
    gateway_db: str, conn: db.Conn, compiled: bool
) -> None:
    # Found by a review: each waiting copy used to run again after the first's timeout, so three
    # copies took one limit each, in turn. Now the copies waiting get the first one's answer.
    # The copies are sent once the first waits on the lock, well within a longer limit: on a
    # busy machine, a copy that arrived after the first's answer would rightly run again.
    async with served(gateway_db, conn, compiled=compiled, limit_s=2.0) as client:
        holder = await _locked(gateway_db, "technologies")
        try:
            with capture_logs() as logs:
                async with asyncio.timeout(20):
                    first = asyncio.create_task(client.post("/graphql", json={"query": QUERY}))
                    await _until_one_waits(conn)
                    copies = await asyncio.gather(
                        *(client.post("/graphql", json={"query": QUERY}) for _ in range(2))
                    )
                    answers = [await first, *copies]
        finally:
            await holder.execute("rollback")
            await holder.close()
        # Not kept: the next request, once the lock is gone, is answered.
        r = await client.post("/graphql", json={"query": QUERY})
        assert "errors" not in r.json(), r.text
    for r in answers:
        assert [e["extensions"]["code"] for e in r.json()["errors"]] == ["QUERY_TIMEOUT"], r.text
    answered_by = [e["answered_by"] for e in logs if e["event"] == "graphql request"]
    ran = [by for by in answered_by if by != "shared"]
    assert len(answered_by) == 3, answered_by
    assert len(ran) == 1, answered_by
    assert ran[0] in ("compiled", "strawberry"), answered_by


async def test_a_database_too_slow_before_the_operation_is_a_503_to_retry(
    client: httpx.AsyncClient, gateway_db: str
) -> None:
    # The key's lookup (no key cache here) meets the lock before anything is executed.
    holder = await _locked(gateway_db, "api_keys")
    try:
        async with asyncio.timeout(20):
            r = await client.post(
                "/graphql", json={"query": QUERY}, headers={"Accept-Language": "ko-KR,ko;q=0.9"}
            )
    finally:
        await holder.execute("rollback")
        await holder.close()
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == str(RETRY_AFTER_S)
    assert r.headers["content-language"] == "ko"
    assert "제한 시간" in r.json()["detail"]
    r = await client.post("/graphql", json={"query": QUERY})
    assert r.status_code == 200, r.text
    assert "errors" not in r.json(), r.text


async def test_the_projectors_transaction_is_not_bound_by_it(gateway_db: str) -> None:
    pool = await db.create_pool(gateway_db, server_settings={"statement_timeout": "200"})
    try:
        async with pool.acquire() as c:
            with pytest.raises(asyncpg.QueryCanceledError):
                await c.execute("select pg_sleep(0.5)")
            async with c.transaction():
                await store.changes.hold_off_a_switch(c)
                await c.execute("select pg_sleep(0.5)")
            # The exemption ended with the transaction.
            assert await c.fetchval("show statement_timeout") == "200ms"
    finally:
        await pool.close()


async def test_pruning_the_inbox_waits_as_long_as_it_must(gateway_db: str) -> None:
    pool = await db.create_pool(gateway_db, server_settings={"statement_timeout": "200"})
    holder: asyncpg.Connection = await asyncpg.connect(gateway_db)
    try:
        await holder.execute(
            "insert into inbox (consumer, event_id, topic, applied_at)"
            " values ('projector', gen_random_uuid(), 't', now() - interval '90 days')"
        )
        await holder.execute("begin")
        await holder.execute("lock table inbox in share mode")  # a delete must wait for it

        async def release() -> None:
            await asyncio.sleep(0.6)
            await holder.execute("rollback")

        releasing = asyncio.create_task(release())
        async with pool.acquire() as c:
            assert await inbox.prune(c, consumer="projector", older_than=timedelta(days=30)) == 1
        await releasing
    finally:
        await holder.close()
        await pool.close()


async def test_an_export_held_before_its_first_line_is_a_503_to_retry(
    client: httpx.AsyncClient, gateway_db: str
) -> None:
    holder = await _locked(gateway_db, "technologies")
    answers = []
    try:
        # More than a key's exports at once (2): each refused one gave its slot and count back.
        for _ in range(3):
            async with asyncio.timeout(20):
                answers.append(await client.get("/export/technologies.ndjson"))
    finally:
        await holder.execute("rollback")
        await holder.close()
    for r in answers:
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "time limit" in r.json()["detail"]
        assert r.headers["retry-after"] == str(RETRY_AFTER_S)
    r = await client.get("/export/technologies.ndjson")
    assert r.status_code == 200, r.text
    assert len(r.text.splitlines()) == 25


async def test_the_projector_waits_out_a_switch_past_the_limit_and_loses_nothing(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    # The batch's first statement waits for SWITCH_LOCK under the connection's limit (a rebuild's
    # switch holds it): stopped there, the batch is retried, never dead-lettered, and the consumer
    # does not restart.
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(
        kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
    )
    env = Envelope(
        id=uuid.uuid4(),
        source="/mpe/catalog",
        type=INDUSTRY_CREATED.type,
        subject="LOCKED",
        time=datetime.now(UTC),
        data={"code": "LOCKED", "name_en": "Locked", "name_ko": "잠김", "version": 1},
    )
    holder: asyncpg.Connection = await asyncpg.connect(gateway_db)
    await holder.execute("select pg_advisory_lock($1)", SWITCH_LOCK)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"one", value=env.value(), headers=env.headers())
    finally:
        await producer.stop()
    pool = await db.create_pool(gateway_db, server_settings={"statement_timeout": "200"})
    runner = projector_runner(pool, kafka, topic_prefix)
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(runner.run(stop))
        try:
            deadline = time.monotonic() + 30
            # Held until the batch has been stopped by the limit at least twice.
            while sum(e["event"].startswith("database unavailable") for e in logs) < 2:
                assert time.monotonic() < deadline, logs
                await asyncio.sleep(0.05)
            assert runner.applied._value.get() == 0
            await holder.execute("select pg_advisory_unlock($1)", SWITCH_LOCK)
            while runner.applied._value.get() < 1:
                assert time.monotonic() < deadline, logs
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await holder.close()
    async with pool.acquire() as c:
        assert await c.fetchval("select name_ko from industries where code = 'LOCKED'") == "잠김"
    await pool.close()
    assert runner.dead._value.get() == 0
    assert not [e for e in logs if e["event"] == "consumer failed; restarting"]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolved"])
async def test_a_lost_connection_on_graphql_is_a_503_to_retry_not_a_500(
    gateway_db: str, conn: db.Conn, compiled: bool
) -> None:
    # The kit's DatabaseFailover answers the REST routes' lost connections; /graphql answers
    # before it would see them, and answered them 500 as unexpected errors. The connection is
    # ended while its query runs (the key's lookup, held by a lock): an idle one that was
    # ended, asyncpg may notice and replace before it is used.
    async with served(gateway_db, conn, compiled=compiled, limit_s=10) as client:
        holder = await _locked(gateway_db, "api_keys")
        try:
            async with asyncio.timeout(20):
                asked = asyncio.create_task(
                    client.post("/graphql", json={"query": QUERY}, headers={"Accept-Language": "ko"})
                )
                await _until_one_waits(conn)
                await conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity"
                    " where datname = current_database() and wait_event_type = 'Lock'"
                )
                r = await asked
        finally:
            await holder.execute("rollback")
            await holder.close()
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["retry-after"] == str(RETRY_AFTER_S)
        assert "연결이 끊겼습니다" in r.json()["detail"]
        # The pool's connections were replaced: the next request is answered.
        r = await client.post("/graphql", json={"query": QUERY})
        assert r.status_code == 200, r.text
        assert "errors" not in r.json(), r.text
