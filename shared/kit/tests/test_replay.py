"""`consumer reset` against the real broker and database: offsets by date, inbox rows, refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mpe_devstack.kafka import KafkaCluster
from mpe_events.topics import BUDGET_FISCAL_YEAR, CATALOG_INDUSTRY
from mpe_kit import db, replay
from mpe_kit.event_cli import parse_point
from mpe_kit.kafka import ensure_topics

DAYS = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)]


async def commit(kafka: KafkaCluster, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def committed(kafka: KafkaCluster, group: str, tp: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(tp)  # type: ignore[no-any-return]
    finally:
        await consumer.stop()


async def test_reset_to_a_date_moves_offsets_and_forgets_only_that_groups_rows(
    kit_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    # fiscal_year has one partition: its offsets follow the record timestamps one to one.
    topic = f"{topic_prefix}{BUDGET_FISCAL_YEAR.name}"
    await ensure_topics(kafka.bootstrap, [BUDGET_FISCAL_YEAR, CATALOG_INDUSTRY], prefix=topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
    await producer.start()
    try:
        for day in DAYS:
            await producer.send_and_wait(
                topic, key=b"2026", value=b"{}", timestamp_ms=int(day.timestamp() * 1000)
            )
    finally:
        await producer.stop()
    group = f"g-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    await commit(kafka, group, {tp: 3})
    conn = await db.connect(kit_db)
    try:
        for consumer, t in [
            (group, BUDGET_FISCAL_YEAR.name),
            (group, CATALOG_INDUSTRY.name),
            ("other", BUDGET_FISCAL_YEAR.name),
        ]:
            await conn.execute(
                "insert into inbox (consumer, event_id, topic) values ($1, $2, $3)", consumer, uuid.uuid4(), t
            )
    finally:
        await conn.close()

    report = await replay.reset(
        bootstrap=kafka.bootstrap, database_url=kit_db, group=group, to=DAYS[1], prefix=topic_prefix
    )

    assert report.offsets == {tp: 1}
    assert report.inbox_rows == 1
    assert await committed(kafka, group, tp) == 1
    conn = await db.connect(kit_db)
    try:
        left = sorted(tuple(r) for r in await conn.fetch("select consumer, topic from inbox"))
    finally:
        await conn.close()
    assert left == [(group, CATALOG_INDUSTRY.name), ("other", BUDGET_FISCAL_YEAR.name)]

    # Found by a review: a date past where the stopped group had read moved it forward, so the
    # events between were never applied. A reset only goes back; the group keeps its place.
    for to in (DAYS[2], datetime(2026, 6, 1, tzinfo=UTC)):
        later = await replay.reset(
            bootstrap=kafka.bootstrap, database_url=kit_db, group=group, to=to, prefix=topic_prefix
        )
        assert later.offsets == {tp: 1}, to
        assert await committed(kafka, group, tp) == 1
    with pytest.raises(replay.ResetRefused, match="in the future"):
        await replay.reset(
            bootstrap=kafka.bootstrap,
            database_url=kit_db,
            group=group,
            to=datetime(2099, 1, 1, tzinfo=UTC),
            prefix=topic_prefix,
        )
    assert await committed(kafka, group, tp) == 1


async def test_a_group_without_offsets_here_is_refused(
    kit_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    with pytest.raises(replay.ResetRefused, match="no committed offsets"):
        await replay.reset(
            bootstrap=kafka.bootstrap,
            database_url=kit_db,
            group=f"g-{uuid.uuid4().hex[:8]}",
            to=None,
            prefix=topic_prefix,
        )
    with pytest.raises(replay.ResetRefused, match="not topics of the registry"):
        await replay.reset(
            bootstrap=kafka.bootstrap,
            database_url=kit_db,
            group="g",
            to=None,
            prefix=topic_prefix,
            topics=["nope"],
        )


@pytest.mark.unit
def test_a_date_means_its_midnight_in_korea() -> None:
    assert parse_point("earliest") is None
    assert parse_point("2026-12-01") == datetime(2026, 11, 30, 15, tzinfo=UTC)
    assert parse_point("2026-12-01T09:00") == datetime(2026, 12, 1, 0, tzinfo=UTC)
    assert parse_point("2026-12-01T09:00+00:00") == datetime(2026, 12, 1, 9, tzinfo=UTC)
