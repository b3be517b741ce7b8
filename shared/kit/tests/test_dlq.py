"""Dead-letter replay against the real broker: progress, the replay mark, superseded letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mpe_devstack.kafka import KafkaCluster
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY, dlq_spec
from mpe_kit import db, dlq
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.kafka import ensure_topics, idempotent_producer
from mpe_kit.status import RuntimeStatus

from .conftest import read_topic, wait_until


def event(code: str) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="/mpe/test",
        type=INDUSTRY_CREATED.type,
        subject=code,
        time=datetime.now(UTC),
        data={"code": code, "name_en": code, "name_ko": code, "version": 1},
    )


async def test_replay_marks_reports_progress_and_skips_superseded_letters(
    kafka: KafkaCluster, topic_prefix: str
) -> None:
    source = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(
        kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix
    )
    producer = idempotent_producer(kafka.bootstrap, client_id="t")
    await producer.start()
    try:
        # Five events, each dead-lettered; then a newer event for the key of the first one.
        events = [event(f"K{i}") for i in range(5)]
        for e in events:
            sent = await producer.send_and_wait(source, key=e.key, value=e.value(), headers=e.headers())
            await producer.send_and_wait(
                f"{source}.dlq",
                key=e.key,
                value=e.value(),
                headers=[
                    *e.headers(),
                    ("dlq_error", b"handler failed 3 times: boom"),
                    ("dlq_consumer", b"c1"),
                    ("dlq_topic", source.encode()),
                    ("dlq_partition", str(sent.partition).encode()),
                    ("dlq_offset", str(sent.offset).encode()),
                ],
            )
        newer = event("K0")
        await producer.send_and_wait(source, key=newer.key, value=newer.value(), headers=newer.headers())
    finally:
        await producer.stop()

    letters = await dlq.read(kafka.bootstrap, [f"{source}.dlq"])
    assert [d.header("ce_id") for d in letters] == [str(e.id) for e in events]
    assert dlq.counts(letters) == [(source, "c1", "handler failed 3 times: boom", 5)]
    seen: list[tuple[int, int]] = []
    report = await dlq.replay(
        kafka.bootstrap, letters, progress=lambda n, total: seen.append((n, total)), every=2
    )

    assert [d.header("ce_id") for d in report.superseded] == [str(events[0].id)]
    assert len(report.sent) == 4
    assert seen == [(2, 4), (4, 4)]
    records = await read_topic(kafka.bootstrap, source, at_least=10)
    replayed = [r for r in records if dict(r.headers).get(dlq.REPLAY_HEADER)]
    assert sorted(dict(r.headers)["ce_id"].decode() for r in replayed) == sorted(
        str(e.id) for e in events[1:]
    )
    for r in replayed:
        headers = dict(r.headers)
        assert "dlq_error" not in headers
        assert headers[dlq.REPLAY_HEADER].decode().startswith(f"{source}.dlq:0:")


async def test_the_runner_prunes_its_inbox(kit_db: str, kafka: KafkaCluster, topic_prefix: str) -> None:
    pool = await db.create_pool(kit_db)
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "insert into inbox (consumer, event_id, topic, applied_at)"
                " values ('pruner', $1, 'mpe.catalog.industry', now() - interval '9 days')",
                uuid.uuid4(),
            )

        async def noop(_conn: db.Conn, _event: object) -> None:
            return None

        runner = ConsumerRunner(
            name="pruner",
            pool=pool,
            bootstrap=kafka.bootstrap,
            handlers={INDUSTRY_CREATED.type: noop},  # type: ignore[dict-item]
            status=RuntimeStatus(),
            topic_prefix=topic_prefix,
            inbox_retention=timedelta(days=8),
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))

        def rows() -> Callable[[], object]:
            async def check() -> bool:
                async with pool.acquire() as conn:
                    return await conn.fetchval("select count(*) from inbox") == 0

            return check

        try:
            await wait_until(rows(), what="inbox pruned")
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
    finally:
        await pool.close()
