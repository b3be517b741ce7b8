"""Probe: records the parser accepts but the projector's batch hook cannot take."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from gateway.projector import freshness
from gateway.projector.handlers import HANDLERS, apply_batch
from mpe_devstack.kafka import KafkaCluster
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY, dlq_spec
from mpe_kit import db
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.kafka import ensure_topics
from mpe_kit.status import RuntimeStatus


def env(code: str, *, write: str | None = None) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="/mpe/catalog",
        type=INDUSTRY_CREATED.type,
        subject=code,
        time=datetime.now(UTC),
        data={"code": code, "name_en": code, "name_ko": code, "version": 1},
        write=write,
    )


def naive_time(e: Envelope) -> list[tuple[str, bytes]]:
    return [(k, b"2024-01-01T00:00:00" if k == "ce_time" else v) for k, v in e.headers()]


@pytest.mark.parametrize("kind", ["naive_ce_time", "huge_mpewrite", "superscript_mpewrite"])
@pytest.mark.timeout(120)
async def test_poison_blocks_projector(gateway_db: str, kafka: KafkaCluster, topic_prefix: str, kind: str) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(kafka.bootstrap, [CATALOG_INDUSTRY, dlq_spec(CATALOG_INDUSTRY.name)], prefix=topic_prefix)
    good1, good2 = env("GOOD1"), env("GOOD2")
    if kind == "naive_ce_time":
        bad = env("BAD")
        bad_headers = naive_time(bad)
    elif kind == "huge_mpewrite":
        bad = env("BAD", write="99999999999999999999")
        bad_headers = bad.headers()
    else:
        bad = env("BAD", write="\u00b2")
        bad_headers = bad.headers()
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, enable_idempotence=True)
    await producer.start()
    for headers, value in [(good1.headers(), good1.value()), (bad_headers, bad.value()), (good2.headers(), good2.value())]:
        await producer.send_and_wait(topic, key=b"same", value=value, headers=headers)
    await producer.stop()

    pool = await db.create_pool(gateway_db)
    r = ConsumerRunner(
        name="gateway-projector",
        pool=pool,
        bootstrap=kafka.bootstrap,
        handlers=HANDLERS,
        batch_handler=apply_batch,
        on_batch=freshness.on_batch,
        status=RuntimeStatus(),
        topic_prefix=topic_prefix,
        max_retries=2,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(r.run(stop))
    await asyncio.sleep(15)
    stop.set()
    await asyncio.wait_for(task, 30)
    async with pool.acquire() as conn:
        codes = sorted(x["code"] for x in await conn.fetch("select code from industries"))
    await pool.close()
    print(kind, "applied:", codes, "dead:", r.dead._value.get(), "applied counter:", r.applied._value.get())
    assert "GOOD2" in codes, f"{kind}: partition stalled; industries={codes}"
