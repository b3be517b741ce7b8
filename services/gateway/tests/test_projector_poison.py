"""Records the projector cannot use go to the dead-letter topic; their neighbours are applied.

A review found records whose headers passed the parser and then failed the projector's batch
hook (a `ce_time` without an offset, a `ce_mpewrite` that is no transaction id): the whole
batch rolled back and the projector restarted on it forever, applying nothing behind them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gateway.projector.parts import projector_parts
from mpe_devstack.kafka import KafkaCluster
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY, dlq_spec
from mpe_kit import db
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.kafka import ensure_topics
from mpe_kit.status import RuntimeStatus


def industry(code: str, *, write: str | None = None) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="/mpe/catalog",
        type=INDUSTRY_CREATED.type,
        subject=code,
        time=datetime.now(UTC),
        data={"code": code, "name_en": code, "name_ko": code, "version": 1},
        write=write,
    )


def projector_runner(pool: db.Pool, kafka: KafkaCluster, topic_prefix: str) -> ConsumerRunner:
    """The gateway's projector, as its worker runs it, in a consumer group of its own."""
    return ConsumerRunner(
        name=f"gateway-projector-{uuid.uuid4().hex[:8]}",
        pool=pool,
        bootstrap=kafka.bootstrap,
        status=RuntimeStatus(),
        topic_prefix=topic_prefix,
        **projector_parts(),
    )


def with_header(env: Envelope, name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [*((k, v) for k, v in env.headers() if k != name), (name, value)]


BAD = {
    "ce_time without an offset": ("ce_time", b"2024-01-01T00:00:00"),
    "ce_mpewrite past int64": ("ce_mpewrite", b"99999999999999999999"),
    "ce_mpewrite a superscript digit": ("ce_mpewrite", "²".encode()),
    # Found by the review of the fix: a NUL in the source reached write_progress, which refused it.
    "ce_source with a NUL": ("ce_source", b"/mpe/cat\x00alog"),
}


@pytest.mark.parametrize("bad", list(BAD), ids=list(BAD))
async def test_a_record_the_batch_hook_cannot_take_is_dead_lettered_and_the_rest_applied(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str, bad: str
) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(
        kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
    )
    before, poison, after = (
        industry("GOOD1", write="41"),
        industry("BAD", write="43"),
        industry("GOOD2", write="42"),
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        # One key, so one partition and one batch: the bad record sits between the good ones.
        for headers, value in [
            (before.headers(), before.value()),
            (with_header(poison, *BAD[bad]), poison.value()),
            (after.headers(), after.value()),
        ]:
            await producer.send_and_wait(topic, key=b"one", value=value, headers=headers)
    finally:
        await producer.stop()

    pool = await db.create_pool(gateway_db)
    runner = projector_runner(pool, kafka, topic_prefix)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        deadline = time.monotonic() + 30
        while runner.dead._value.get() < 1 or runner.applied._value.get() < 2:
            assert time.monotonic() < deadline, (runner.applied._value.get(), runner.dead._value.get())
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    async with pool.acquire() as conn:
        codes = [r["code"] for r in await conn.fetch("select code from industries order by code")]
        counted = await conn.fetch("select txid, events from write_progress order by txid")
    await pool.close()
    assert codes == ["GOOD1", "GOOD2"]
    assert [(r["txid"], r["events"]) for r in counted] == [(41, 1), (42, 1)]

    dlq = AIOKafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await dlq.start()
    try:
        record = await asyncio.wait_for(dlq.getone(), 20)
    finally:
        await dlq.stop()
    dead = dict(record.headers)
    assert dead["ce_id"] == str(poison.id).encode()
    assert dead["dlq_error"].startswith(b"bad envelope: ")
    assert BAD[bad][0].encode() in dead["dlq_error"]
