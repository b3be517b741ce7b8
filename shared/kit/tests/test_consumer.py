"""The consumer runner against the real Postgres and Kafka: duplicates, stale and poison events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port
from mpe_devstack.postgres import PostgresServer
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY, dlq_spec
from mpe_kit import db, migrations
from mpe_kit.consumer import ConsumerRunner, Event
from mpe_kit.kafka import ensure_topics
from mpe_kit.status import RuntimeStatus

from .conftest import read_topic, wait_until


def envelope(code: str, version: int, *, event_id: uuid.UUID | None = None, name: str = "x") -> Envelope:
    return Envelope(
        id=event_id or uuid.uuid4(),
        source="/mpe/test",
        type=INDUSTRY_CREATED.type,
        subject=code,
        time=datetime.now(UTC),
        data={"code": code, "name_en": name, "name_ko": name, "version": version},
    )


@pytest.fixture
async def pool(kit_db: str) -> AsyncIterator[db.Pool]:
    pool = await db.create_pool(kit_db)
    async with pool.acquire() as conn:
        await conn.execute("create table seen (code text primary key, name text, version int)")
        await conn.execute("create table calls (event_id uuid, code text)")
    yield pool
    await pool.close()


async def handler(conn: db.Conn, event: Event) -> None:
    """Upsert with the version check; BOOM always fails, like a bug in a handler."""
    code = event.envelope.subject
    if code == "BOOM":
        raise ValueError("cannot apply BOOM")
    await conn.execute("insert into calls values ($1, $2)", event.envelope.id, code)
    await conn.execute(
        "insert into seen values ($1, $2, $3) on conflict (code) do update"
        " set name = excluded.name, version = excluded.version where seen.version < excluded.version",
        code,
        event.data.name_en,  # type: ignore[attr-defined]
        event.data.version,  # type: ignore[attr-defined]
    )


async def produce(
    kafka: KafkaCluster, topic: str, records: list[tuple[list[tuple[str, bytes]], bytes | None]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for headers, value in records:
            # One key, so one partition: the poison records sit between good ones.
            await producer.send_and_wait(topic, key=b"same", value=value, headers=headers)
    finally:
        await producer.stop()


class Together:
    """A batch handler: the events one after another in one go; it fails whole where one fails."""

    def __init__(self) -> None:
        self.batches: list[list[uuid.UUID]] = []

    async def __call__(self, conn: db.Conn, events: list[Event]) -> None:
        self.batches.append([e.envelope.id for e in events])
        for e in events:
            await handler(conn, e)


def runner(
    pool: db.Pool, kafka: KafkaCluster, prefix: str, name: str, together: Together | None = None
) -> ConsumerRunner:
    return ConsumerRunner(
        name=name,
        pool=pool,
        bootstrap=kafka.bootstrap,
        handlers={INDUSTRY_CREATED.type: handler},
        batch_handler=together,
        status=RuntimeStatus(),
        topic_prefix=prefix,
        max_retries=2,
    )


async def run_until(r: ConsumerRunner, done: Callable[[], object]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(r.run(stop))
    try:
        await wait_until(done, what="consumer progress")
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


@pytest.mark.parametrize("together", [None, Together()], ids=["one by one", "set-based, then one by one"])
async def test_duplicates_stale_and_poison_messages(
    pool: db.Pool, kafka: KafkaCluster, topic_prefix: str, together: Together | None
) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(
        kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
    )
    v2 = envelope("SEMI", 2, name="second")
    good = [(v2.headers(), v2.value())]
    duplicate = [(v2.headers(), v2.value())]
    stale = envelope("SEMI", 1, name="first")
    no_headers: list[tuple[str, bytes]] = [("content-type", b"application/json")]
    bad_payload = envelope("BAD", 0)  # version must be >= 1
    boom = envelope("BOOM", 1)
    last = envelope("DISP", 1, name="display")
    await produce(
        kafka,
        topic,
        [
            *good,
            *duplicate,
            (stale.headers(), stale.value()),
            (no_headers, b"{}"),
            (bad_payload.headers(), bad_payload.value()),
            (bad_payload.headers(), b"not json"),
            (boom.headers(), boom.value()),
            (last.headers(), last.value()),
        ],
    )
    r = runner(pool, kafka, topic_prefix, f"c-{uuid.uuid4()}", together)

    async def display_applied() -> bool:
        async with pool.acquire() as conn:
            return bool(await conn.fetchval("select count(*) from seen where code = 'DISP'"))

    await run_until(r, display_applied)

    async with pool.acquire() as conn:
        seen = {row["code"]: (row["name"], row["version"]) for row in await conn.fetch("select * from seen")}
        calls = await conn.fetch("select event_id from calls where code = 'SEMI'")
    # The duplicate was skipped by the inbox, the stale version by the handler's check.
    assert seen == {"SEMI": ("second", 2), "DISP": ("display", 1)}
    assert sorted(str(c["event_id"]) for c in calls) == sorted([str(v2.id), str(stale.id)])
    assert r.duplicates._value.get() == 1
    if together is not None:
        # The batch holding BOOM was tried set-based first and undone; the inbox kept the
        # duplicate out of every batch the handler saw.
        assert any(boom.id in ids for ids in together.batches)
        assert all(ids.count(v2.id) <= 1 for ids in together.batches)

    dead = await read_topic(kafka.bootstrap, f"{topic}.dlq", at_least=4)
    errors = sorted(dict(d.headers)["dlq_error"].decode().split(":")[0] for d in dead)
    assert errors == [
        "bad envelope",
        "bad envelope",
        "handler failed 2 times",
        "invalid kr.mpe.catalog.industry.created.v1 payload",
    ]
    for d in dead:
        headers = dict(d.headers)
        assert headers["dlq_topic"] == topic.encode()
        assert headers["dlq_consumer"] == r.name.encode()
    assert r.dead._value.get() == 4

    # Offsets were committed past everything: the partition moved on.
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=r.name, enable_auto_commit=False)
    await consumer.start()
    try:
        committed = [
            await consumer.committed(TopicPartition(topic, p)) for p in range(CATALOG_INDUSTRY.partitions)
        ]
    finally:
        await consumer.stop()
    assert sum(c or 0 for c in committed) == 8


async def test_a_restarted_consumer_resumes_without_reapplying(
    pool: db.Pool, kafka: KafkaCluster, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(kafka.bootstrap, [CATALOG_INDUSTRY], prefix=topic_prefix)
    first = [envelope(f"I{i}", 1) for i in range(5)]
    await produce(kafka, topic, [(e.headers(), e.value()) for e in first])
    name = f"c-{uuid.uuid4()}"

    async def count(n: int) -> Callable[[], object]:
        async def check() -> bool:
            async with pool.acquire() as conn:
                return bool(await conn.fetchval("select count(*) from calls") == n)

        return check

    await run_until(runner(pool, kafka, topic_prefix, name), await count(5))
    more = [envelope(f"J{i}", 1) for i in range(3)]
    await produce(kafka, topic, [(e.headers(), e.value()) for e in more])
    second = runner(pool, kafka, topic_prefix, name)
    await run_until(second, await count(8))
    await asyncio.sleep(0.5)
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from calls") == 8
    assert second.duplicates._value.get() == 0  # offsets were committed: nothing re-read


async def test_a_database_outage_pauses_the_consumer_and_loses_nothing(
    kafka: KafkaCluster, topic_prefix: str, stack_dir: Path
) -> None:
    # A Postgres of its own, so stopping it does not disturb the other tests.
    pg = PostgresServer(stack_dir / f"outage-{uuid.uuid4().hex[:6]}", port=free_port())
    pg.start()
    try:
        pg.create_database("sink")
        dsn = pg.dsn("sink")
        await migrations.migrate(dsn, migrations.kit_migrations())
        pool = await db.create_pool(dsn, max_size=2)
        async with pool.acquire() as conn:
            await conn.execute("create table seen (code text primary key, name text, version int)")
            await conn.execute("create table calls (event_id uuid, code text)")
        topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
        await ensure_topics(
            kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
        )
        r = runner(pool, kafka, topic_prefix, f"c-{uuid.uuid4()}")
        stop = asyncio.Event()
        task = asyncio.create_task(r.run(stop))
        try:
            before = [envelope(f"A{i}", 1) for i in range(3)]
            await produce(kafka, topic, [(e.headers(), e.value()) for e in before])
            await wait_until(lambda: r.applied._value.get() == 3, what="first events applied")

            pg.stop()
            during = [envelope(f"B{i}", 1) for i in range(4)]
            await produce(kafka, topic, [(e.headers(), e.value()) for e in during])
            await asyncio.sleep(2)  # the consumer meets the outage and backs off
            assert r.applied._value.get() == 3
            pg.start()

            await wait_until(lambda: r.applied._value.get() == 7, what="events applied after the outage")
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
        async with pool.acquire() as conn:
            codes = sorted(row["code"] for row in await conn.fetch("select code from seen"))
        assert codes == ["A0", "A1", "A2", "B0", "B1", "B2", "B3"]
        assert r.dead._value.get() == 0  # an outage is nobody's poison
        await pool.close()
    finally:
        pg.stop()


async def test_a_batch_handler_applies_fresh_events_together_and_skips_what_the_inbox_knows(
    pool: db.Pool, kafka: KafkaCluster, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(
        kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
    )
    events = [envelope(f"T{i}", 1) for i in range(20)]
    await produce(kafka, topic, [(e.headers(), e.value()) for e in [*events, events[3]]])
    together = Together()
    name = f"c-{uuid.uuid4()}"
    r = runner(pool, kafka, topic_prefix, name, together)

    async def all_applied() -> bool:
        async with pool.acquire() as conn:
            return bool(await conn.fetchval("select count(*) from seen where code like 'T%'") == 20)

    await run_until(r, all_applied)
    seen_by_handler = [i for ids in together.batches for i in ids]
    # Every event reached the batch handler once, and most of them with others.
    assert sorted(map(str, seen_by_handler)) == sorted(str(e.id) for e in events)
    assert max(len(ids) for ids in together.batches) > 1
    assert r.duplicates._value.get() == 1
    assert r.applied._value.get() == 20
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from inbox where consumer = $1", name) == 20


async def test_a_deadlock_with_another_writer_retries_the_batch_instead_of_dead_lettering(
    kafka: KafkaCluster, topic_prefix: str, kit_db: str, pool: db.Pool
) -> None:
    # A deadlock used to be a handler's failure, retried in its savepoint. When the
    # other side waits on a lock an earlier event of the batch took, the batch's transaction
    # still holds it, so each retry deadlocked again and a good event was dead-lettered. A
    # deadlock rolls back; the runner now treats it like an outage and retries the whole batch.
    other = await asyncpg.connect(kit_db)
    try:
        await other.execute("create table locks (id int primary key); insert into locks values (1), (2)")
        # Another writer holds row 2 and, once B runs, asks for row 1. It waits 30 s before it
        # looks for a deadlock, so the consumer's backend (1 s) finds it and is the one refused.
        await other.execute(
            "begin; set local deadlock_timeout = '30s'; update locks set id = id where id = 2"
        )
        other_done: asyncio.Task[str] | None = None
        attempts: list[str] = []

        async def handle(conn: db.Conn, event: Event) -> None:
            nonlocal other_done
            code = event.envelope.subject
            attempts.append(code)
            if code == "A":
                await conn.execute("update locks set id = id where id = 1")
            elif other_done is None:
                other_done = asyncio.create_task(other.execute("update locks set id = id where id = 1"))
                pid = other.get_server_pid()
                await wait_until(
                    lambda: conn.fetchval(
                        "select wait_event_type = 'Lock' from pg_stat_activity where pid = $1", pid
                    ),
                    what="the other writer waiting for row 1",
                )
                await conn.execute("update locks set id = id where id = 2")
            else:
                await conn.execute("update locks set id = id where id = 2")
            await conn.execute("insert into calls values ($1, $2)", event.envelope.id, code)

        topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
        await ensure_topics(
            kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
        )
        events = [envelope("A", 1), envelope("B", 1)]
        await produce(kafka, topic, [(e.headers(), e.value()) for e in events])
        r = ConsumerRunner(
            name=f"c-{uuid.uuid4()}",
            pool=pool,
            bootstrap=kafka.bootstrap,
            handlers={INDUSTRY_CREATED.type: handle},
            status=RuntimeStatus(),
            topic_prefix=topic_prefix,
            max_retries=2,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(r.run(stop))
        try:
            await wait_until(
                lambda: other_done is not None and other_done.done(), what="the other writer served"
            )
            assert other_done is not None
            await other_done
            await other.execute("commit")
            await wait_until(
                lambda: r.applied._value.get() + r.dead._value.get() >= 2, what="both events settled"
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
        assert r.dead._value.get() == 0
        async with pool.acquire() as conn:
            assert sorted(row["code"] for row in await conn.fetch("select code from calls")) == ["A", "B"]
        assert attempts[:2] == ["A", "B"]
        assert attempts.count("B") == 2  # refused once, then applied with the whole batch
    finally:
        await other.close()
