"""Probe: the rebuild's switch against a live projector."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from gateway.projector import freshness
from gateway.projector import rebuild as rb
from gateway.projector.handlers import HANDLERS, apply_batch
from mpe_devstack.kafka import KafkaCluster
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED
from mpe_events.topics import CATALOG_INDUSTRY
from mpe_kit import db
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.kafka import ensure_topics
from mpe_kit.status import RuntimeStatus

GROUP = "gateway-projector"


def env(code: str, version: int) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="/mpe/catalog",
        type=INDUSTRY_CREATED.type,
        subject=code,
        time=datetime.now(UTC),
        data={"code": code, "name_en": f"{code} v{version}", "name_ko": code, "version": version},
    )


async def publish(bootstrap: str, topic: str, *envs: Envelope) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await p.start()
    for e in envs:
        await p.send_and_wait(topic, key=e.key, value=e.value(), headers=e.headers())
    await p.stop()


def projector(pool: db.Pool, bootstrap: str, prefix: str) -> ConsumerRunner:
    return ConsumerRunner(
        name=GROUP,
        pool=pool,
        bootstrap=bootstrap,
        handlers=HANDLERS,
        batch_handler=apply_batch,
        on_batch=freshness.on_batch,
        status=RuntimeStatus(),
        topic_prefix=prefix,
    )


async def until(pool: db.Pool, sql: str, timeout: float = 40) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with pool.acquire() as c:
                if await c.fetchval(sql):
                    return
            await asyncio.sleep(0.1)


@pytest.mark.timeout(150)
async def test_changes_missed_when_projector_behind(gateway_db: str, kafka: KafkaCluster, topic_prefix: str) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(kafka.bootstrap, [CATALOG_INDUSTRY], prefix=topic_prefix)
    pool = await db.create_pool(gateway_db)
    await publish(kafka.bootstrap, topic, env("AAA", 1))
    stop = asyncio.Event()
    task = asyncio.create_task(projector(pool, kafka.bootstrap, topic_prefix).run(stop))
    await until(pool, "select count(*) = 1 from changes where entity_key = 'AAA'")
    stop.set()
    await task
    # The projector is behind (down, restarting, or just slower than the rebuild) while these arrive.
    await publish(kafka.bootstrap, topic, env("AAA", 2), env("BBB", 1))
    await rb.rebuild(dsn=gateway_db, bootstrap=kafka.bootstrap, prefix=topic_prefix, consumer_name=GROUP)
    stop = asyncio.Event()
    task = asyncio.create_task(projector(pool, kafka.bootstrap, topic_prefix).run(stop))
    await asyncio.sleep(8)
    stop.set()
    await task
    async with pool.acquire() as c:
        rows = [tuple(r) for r in await c.fetch("select entity_type, entity_key, version from changes order by seq")]
        inds = [tuple(r) for r in await c.fetch("select code, version from industries order by code")]
    await pool.close()
    print("industries:", inds)
    print("changes:", rows)
    assert ("industry", "AAA", 2) in rows and ("industry", "BBB", 1) in rows, rows


@pytest.mark.timeout(150)
async def test_crash_after_switch_loses_events(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"{topic_prefix}{CATALOG_INDUSTRY.name}"
    await ensure_topics(kafka.bootstrap, [CATALOG_INDUSTRY], prefix=topic_prefix)
    pool = await db.create_pool(gateway_db)
    await publish(kafka.bootstrap, topic, env("AAA", 1))
    stop = asyncio.Event()
    task = asyncio.create_task(projector(pool, kafka.bootstrap, topic_prefix).run(stop))
    await until(pool, "select count(*) = 1 from industries where code = 'AAA'")
    real_switch = rb.switch

    async def switch_then_crash(conn, *, new: str, old_name: str) -> None:  # type: ignore[no-untyped-def]
        # An event arrives after the rebuild's last catch-up; the live projector applies it to the old model.
        await publish(kafka.bootstrap, topic, env("BBB", 1))
        await until(pool, "select count(*) = 1 from public.industries where code = 'BBB'")
        await real_switch(conn, new=new, old_name=old_name)
        raise RuntimeError("simulated crash of the rebuild process right after the switch")

    monkeypatch.setattr(rb, "switch", switch_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        await rb.rebuild(dsn=gateway_db, bootstrap=kafka.bootstrap, prefix=topic_prefix, consumer_name=GROUP)
    await asyncio.sleep(8)  # the live projector keeps running
    stop.set()
    await task
    async with pool.acquire() as c:
        inds = [tuple(r) for r in await c.fetch("select code, version from industries order by code")]
    await pool.close()
    print("industries after crash:", inds)
    assert ("BBB", 1) in inds, inds
