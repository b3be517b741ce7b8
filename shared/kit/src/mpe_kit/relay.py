"""The outbox relay: one leader per service sends outbox rows to Kafka and marks them after ack.

Leadership is a session-level Postgres advisory lock held on the relay's own connection, so a
crashed leader's lock goes away with its connection and a standby takes over. The leader wakes
on NOTIFY from the outbox trigger and also polls, in case a notification was missed. It sends
a batch, waits for every ack, then marks the rows: a crash in between re-sends the batch, which
consumers absorb through their inbox (at-least-once by design).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter

from mpe_events.topics import TopicSpec
from mpe_kit import db, telemetry
from mpe_kit.db import Conn
from mpe_kit.kafka import ensure_topics, idempotent_producer, topic_name
from mpe_kit.kafka_client import KafkaClient
from mpe_kit.logging import get_logger
from mpe_kit.outbox import row_to_envelope
from mpe_kit.status import RuntimeStatus

log = get_logger("mpe.relay")

_CHANNEL = "mpe_outbox"


def lock_key(service: str) -> int:
    """The advisory-lock key electing a service's relay leader."""
    return zlib.crc32(f"mpe-relay:{service}".encode())


class Relay:
    """Sends a service's outbox to Kafka; run one per process, any number per service."""

    def __init__(
        self,
        *,
        service: str,
        dsn: str,
        bootstrap: str | KafkaClient,
        topics: list[TopicSpec],
        status: RuntimeStatus,
        registry: CollectorRegistry | None = None,
        topic_prefix: str = "",
        replication: int = 1,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._service = service
        self._dsn = dsn
        self._bootstrap = bootstrap
        self._topics = topics
        self._status = status
        self._prefix = topic_prefix
        self._replication = replication
        self._batch_size = batch_size
        self._poll = poll_interval_s
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._topics_ready = False
        self.sent = Counter("mpe_relay_events_sent", "Outbox events acknowledged by Kafka", registry=registry)

    async def run(self, stop: asyncio.Event) -> None:
        """Wait for leadership, then relay until `stop` is set; survive Kafka and DB outages."""
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._lead(stop)
                backoff = 0.5
            except Exception as exc:
                if isinstance(exc, OSError | asyncpg.PostgresError | asyncpg.InterfaceError):
                    log.warning("relay lost its database connection", error=str(exc))
                else:
                    # Never let the relay die silently: the outbox keeps the events meanwhile.
                    log.exception("relay failed; restarting")
                self._status.relay_role = "reconnecting"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 10.0)
        await self._close_producer()
        self._status.relay_role = "stopped"

    async def _lead(self, stop: asyncio.Event) -> None:
        conn = await db.connect(self._dsn)
        try:
            self._status.relay_role = "standby"
            while not await conn.fetchval("select pg_try_advisory_lock($1)", lock_key(self._service)):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll)
                if stop.is_set():
                    return
            self._status.relay_role = "leader"
            log.info("relay is the leader", service=self._service)
            await conn.add_listener(_CHANNEL, self._notified)
            pruned_at = 0.0
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                if loop.time() - pruned_at > 3600:
                    await conn.execute("delete from outbox where published_at < now() - interval '7 days'")
                    pruned_at = loop.time()
                # Cleared before draining, so a NOTIFY that lands mid-drain is not lost.
                self._wake.clear()
                sent = await self._drain(conn)
                if sent >= self._batch_size:
                    continue
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                await asyncio.wait(waiters, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
        finally:
            # Closing the connection also releases the advisory lock for a standby.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _drain(self, conn: Conn) -> int:
        rows = await conn.fetch(
            "select id, topic, key, type, source, subject, time, traceparent, payload, write_txid"
            " from outbox where published_at is null order by seq limit $1",
            self._batch_size,
        )
        if not rows:
            return 0
        try:
            await self._send(rows)
        except KafkaError as exc:
            self._status.kafka.failed(exc)
            log.warning("relay could not send; will retry", error=str(exc), pending=len(rows))
            # aiokafka#1017: after OutOfOrderSequenceNumber a producer can stall until recreated.
            await self._close_producer()
            await asyncio.sleep(self._poll)
            return 0
        await self.mark_sent(conn, [r["id"] for r in rows])
        self.sent.inc(len(rows))
        return len(rows)

    async def _send(self, rows: list[asyncpg.Record]) -> None:
        producer = await self._ensure_producer()
        acks = []
        for row in rows:
            env = row_to_envelope(row)
            with telemetry.send_span(row["topic"], env.traceparent) as traceparent:
                acks.append(
                    await producer.send(
                        topic_name(self._prefix, row["topic"]),
                        key=row["key"].encode(),
                        value=env.value(),
                        headers=telemetry.with_traceparent(env.headers(), traceparent),
                    )
                )
        await asyncio.gather(*acks)
        self._status.kafka.ok()

    async def mark_sent(self, conn: Conn, ids: list[Any]) -> None:
        """Mark rows as acknowledged by Kafka."""
        await conn.execute("update outbox set published_at = now() where id = any($1::uuid[])", ids)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if not self._topics_ready:
            await ensure_topics(
                self._bootstrap, self._topics, prefix=self._prefix, replication=self._replication
            )
            self._topics_ready = True
        if self._producer is None:
            producer = idempotent_producer(self._bootstrap, client_id=f"{self._service}-relay")
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 10)


async def outbox_lag(conn: Conn) -> tuple[int, float]:
    """Unsent outbox rows and the age in seconds of the oldest one."""
    row = await conn.fetchrow(
        "select count(*) as n, coalesce(extract(epoch from now() - min(time)), 0)::float8 as age"
        " from outbox where published_at is null"
    )
    assert row is not None
    return int(row["n"]), float(row["age"])
