"""The outbox relay against the real Postgres and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from mpe_devstack.kafka import KafkaCluster
from mpe_events import catalog as ev
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY
from mpe_kit import db, migrations
from mpe_kit.consumer import ConsumerRunner, Event
from mpe_kit.errors import Invalid
from mpe_kit.outbox import MAX_EVENT_BYTES, PendingEvent, enqueue
from mpe_kit.relay import Relay
from mpe_kit.status import RuntimeStatus

from .conftest import read_topic, wait_until


async def write_industries(dsn: str, codes: list[str]) -> list[uuid.UUID]:
    conn = await db.connect(dsn)
    try:
        async with conn.transaction():
            enqueued = await enqueue(
                conn,
                [
                    PendingEvent(INDUSTRY_CREATED, c, ev.IndustryV1(code=c, name_en=c, name_ko=c, version=1))
                    for c in codes
                ],
                source="/mpe/test",
            )
            return enqueued.ids
    finally:
        await conn.close()


def make_relay(dsn: str, kafka: KafkaCluster, prefix: str, service: str, cls: type[Relay] = Relay) -> Relay:
    return cls(
        service=service,
        dsn=dsn,
        bootstrap=kafka.bootstrap,
        topics=[CATALOG_INDUSTRY],
        status=RuntimeStatus(),
        topic_prefix=prefix,
        poll_interval_s=0.2,
    )


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield task
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


async def unpublished(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("select count(*) from outbox where published_at is null"))
    finally:
        await conn.close()


async def test_relay_sends_cloudevents_and_marks_rows(
    kit_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    ids = await write_industries(kit_db, ["SEMI", "DISP", "AUTO"])
    async with running(make_relay(kit_db, kafka, topic_prefix, f"svc-{uuid.uuid4()}")):
        records = await read_topic(kafka.bootstrap, f"{topic_prefix}mpe.catalog.industry", at_least=3)
        await wait_until(lambda: _zero(unpublished(kit_db)), what="rows marked")
    assert len(records) == 3
    envelopes = {Envelope.from_record(r.headers, r.value).id: r for r in records}
    assert set(envelopes) == set(ids)
    for record in records:
        headers = dict(record.headers)
        assert headers["ce_source"] == b"/mpe/test"
        assert headers["ce_type"] == b"kr.mpe.catalog.industry.created.v1"
        assert headers["ce_subject"] == record.key
        assert headers["content-type"] == b"application/json"
        assert headers["traceparent"].startswith(b"00-")


def _industry_of_size(code: str, size: int) -> ev.IndustryV1:
    """An industry whose event value (compact JSON) is `size` bytes."""
    empty = ev.IndustryV1(code=code, name_en="", name_ko=code, version=1)
    base = len(json.dumps(empty.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False).encode())
    return empty.model_copy(update={"name_en": "a" * (size - base)})


async def test_an_event_bigger_than_kafka_takes_is_refused_at_the_write_and_one_at_the_cap_is_sent(
    kit_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    # Found by a review: the broker refused a record over 1 MiB on every try, and the relay,
    # which sends a service's rows in order, stopped at it for good. The write is refused now.
    conn = await db.connect(kit_db)
    try:
        with pytest.raises(Invalid) as refused:
            async with conn.transaction():
                await enqueue(
                    conn,
                    [
                        PendingEvent(INDUSTRY_CREATED, "SMALL", _industry_of_size("SMALL", 200)),
                        PendingEvent(INDUSTRY_CREATED, "BIG", _industry_of_size("BIG", MAX_EVENT_BYTES + 1)),
                    ],
                    source="/mpe/test",
                )
        assert refused.value.status == 422
        assert f"would be {MAX_EVENT_BYTES + 1:,} bytes" in refused.value.detail
        assert await conn.fetchval("select count(*) from outbox") == 0
        async with conn.transaction():
            await enqueue(
                conn,
                [PendingEvent(INDUSTRY_CREATED, "CAP", _industry_of_size("CAP", MAX_EVENT_BYTES))],
                source="/mpe/test",
            )
    finally:
        await conn.close()
    # The largest event the outbox takes goes through the producer and the broker as they are set.
    async with running(make_relay(kit_db, kafka, topic_prefix, f"svc-{uuid.uuid4()}")):
        [record] = await read_topic(kafka.bootstrap, f"{topic_prefix}mpe.catalog.industry", at_least=1)
        await wait_until(lambda: _zero(unpublished(kit_db)), what="rows marked")
    assert record.key == b"CAP"
    assert len(record.value) == MAX_EVENT_BYTES


async def _zero(count: Any) -> bool:
    return bool(await count == 0)


class CrashBeforeMark(Relay):
    """A relay that dies after Kafka acknowledged the batch but before marking the rows."""

    acked = asyncio.Event()

    async def mark_sent(self, conn: db.Conn, ids: list[Any]) -> None:
        type(self).acked.set()
        await asyncio.Event().wait()  # hangs until the task is cancelled, like a killed process


async def test_relay_killed_between_send_and_mark_resends_and_consumer_applies_once(
    kit_db: str, kafka: KafkaCluster, topic_prefix: str, new_database: Any
) -> None:
    service = f"svc-{uuid.uuid4()}"
    await write_industries(kit_db, ["SEMI", "DISP"])
    CrashBeforeMark.acked = asyncio.Event()
    stop = asyncio.Event()
    doomed = asyncio.create_task(make_relay(kit_db, kafka, topic_prefix, service, CrashBeforeMark).run(stop))
    await asyncio.wait_for(CrashBeforeMark.acked.wait(), 30)
    doomed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    assert await unpublished(kit_db) == 2  # sent, but never marked

    async with running(make_relay(kit_db, kafka, topic_prefix, service)):
        await wait_until(lambda: _zero(unpublished(kit_db)), what="re-sent rows marked")
    topic = f"{topic_prefix}mpe.catalog.industry"
    records = await read_topic(kafka.bootstrap, topic, at_least=4)
    assert len(records) == 4  # each event twice: at-least-once
    assert len({Envelope.from_record(r.headers, r.value).id for r in records}) == 2

    # A consumer applies each event once, whatever the duplicates.
    sink = new_database("sink")
    await migrations.migrate(sink, migrations.kit_migrations())
    pool = await db.create_pool(sink)
    try:
        async with pool.acquire() as conn:
            await conn.execute("create table applied (event_id uuid, code text)")

        async def handler(conn: db.Conn, event: Event) -> None:
            await conn.execute(
                "insert into applied values ($1, $2)", event.envelope.id, event.envelope.subject
            )

        runner = ConsumerRunner(
            name=f"sink-{uuid.uuid4()}",
            pool=pool,
            bootstrap=kafka.bootstrap,
            handlers={INDUSTRY_CREATED.type: handler},
            status=RuntimeStatus(),
            topic_prefix=topic_prefix,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            await wait_until(lambda: runner.duplicates._value.get() >= 2, what="duplicates seen")
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
        async with pool.acquire() as conn:
            rows = await conn.fetch("select code, count(*) as n from applied group by code order by code")
        assert [(r["code"], r["n"]) for r in rows] == [("DISP", 1), ("SEMI", 1)]
    finally:
        await pool.close()


async def test_second_relay_waits_while_the_first_holds_the_lock(
    kit_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    service = f"svc-{uuid.uuid4()}"
    first = make_relay(kit_db, kafka, topic_prefix, service)
    second = make_relay(kit_db, kafka, topic_prefix, service)
    stop_first = asyncio.Event()
    first_task = asyncio.create_task(first.run(stop_first))
    try:
        await wait_until(lambda: first._status.relay_role == "leader", what="first leads")
        async with running(second):
            await wait_until(lambda: second._status.relay_role == "standby", what="second waits")
            await write_industries(kit_db, ["SEMI"])
            await wait_until(lambda: _zero(unpublished(kit_db)), what="sent by the leader")
            await asyncio.sleep(1)  # several poll intervals: the standby must stay a standby
            assert second._status.relay_role == "standby"
            assert first.sent._value.get() == 1
            assert second.sent._value.get() == 0

            stop_first.set()
            await asyncio.wait_for(first_task, 20)
            await wait_until(lambda: second._status.relay_role == "leader", what="second takes over")
            await write_industries(kit_db, ["DISP"])
            await wait_until(lambda: _zero(unpublished(kit_db)), what="sent by the new leader")
            assert second.sent._value.get() == 1
    finally:
        stop_first.set()
        await asyncio.wait_for(first_task, 20)
    records = await read_topic(kafka.bootstrap, f"{topic_prefix}mpe.catalog.industry", at_least=2)
    assert sorted(r.key for r in records) == [b"DISP", b"SEMI"]
