"""Kit fixtures: a database with the kit's tables, and helpers to read topics back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from mpe_kit import migrations


@pytest.fixture
async def kit_db(migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]]) -> str:
    """A fresh database with the outbox and inbox tables."""
    dsn = await migrated_database("kit", migrations.kit_migrations())
    return dsn


async def read_topic(
    bootstrap: str, topic: str, *, at_least: int, timeout_s: float = 30
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a topic from the beginning, once at least `at_least` arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(timeout_s):
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    records.extend(recs)
                if len(records) >= at_least:
                    ends = await consumer.end_offsets(tps)
                    positions = {tp: await consumer.position(tp) for tp in tps}
                    if all(positions[tp] >= ends[tp] for tp in tps):
                        return records
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    async with asyncio.timeout(30):
        while True:
            parts = consumer.partitions_for_topic(topic)
            if parts:
                return set(parts)
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)


async def wait_until(check: Callable[[], object], *, timeout_s: float = 30, what: str = "condition") -> None:
    """Poll an async or sync check until it is truthy."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)
