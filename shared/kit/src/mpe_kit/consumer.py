"""The consumer runner: apply events exactly once per consumer, in DB transactions.

Each poll's batch is applied in one transaction. A consumer with a batch handler applies the
batch set-based first: one statement claims the inbox rows of all its events (a duplicate is
skipped), then the handler applies the fresh ones together, in a savepoint. If that fails, the
savepoint is rolled back and the batch is applied event by event: each in a savepoint together
with its inbox row, so a failing event is retried a bounded number of times and then
dead-lettered without undoing its neighbours. Offsets are committed to Kafka
only after the database commit (and after dead letters are acknowledged): a crash re-delivers,
and the inbox absorbs the re-delivery. A database outage, or a deadlock with another writer, is
not the message's fault: the batch is rolled back, the consumer seeks back and retries with
backoff, and nothing is dead-lettered.
Handlers do the version check themselves (apply only a version above the stored one), so
re-ordering is harmless too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel, ValidationError

from mpe_events.envelope import Envelope, EnvelopeError
from mpe_events.registry import EVENT_TYPES
from mpe_events.topics import compaction_lag_ms, dlq_spec
from mpe_kit import inbox, telemetry
from mpe_kit.db import ROLLED_BACK_FOR_ANOTHER, Conn, Pool
from mpe_kit.kafka import ensure_topics, idempotent_producer, topic_name
from mpe_kit.kafka_client import KafkaClient, as_client
from mpe_kit.logging import get_logger
from mpe_kit.status import RuntimeStatus

log = get_logger("mpe.consumer")

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # The schema not (yet) what the code expects, or not granted to the runtime role: every event
    # would fail alike, so pause and retry rather than dead-letter them all (a deploy in progress).
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedColumnError,
    asyncpg.InsufficientPrivilegeError,
    # A deadlock or serialization failure: retried in its savepoint, the handler would meet the
    # same lock again while the batch's transaction still holds what earlier events took; rolled
    # back whole, the batch lets the other side finish, then applies.
    *ROLLED_BACK_FOR_ANOTHER,
    # A statement stopped by a `statement_timeout` (or an operator's cancel): the database was
    # slow or something held a lock; not the events' fault, so the batch is retried, never
    # dead-lettered, and the consumer does not restart.
    asyncpg.QueryCanceledError,
)


@dataclass(frozen=True)
class Event:
    """A consumed event: its envelope's attributes, its validated payload and where it came from."""

    envelope: Envelope
    data: BaseModel
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Position:
    """How far a partition has been applied, and how far the log goes."""

    topic: str
    partition: int
    next_offset: int
    highwater: int | None


@dataclass(frozen=True)
class CaughtUp:
    """A partition applied up to the end of its log as the broker reported it at `at`.

    `at` is when that fetch answered: a consumer cut off from Kafka reports no newer time, so
    how old `at` is says how stale the applied data may be.
    """

    topic: str
    partition: int
    next_offset: int
    at: datetime


Handler = Callable[[Conn, Event], Awaitable[None]]
# Applies fresh events together (in the batch's order); it must leave the same state as the
# events' handlers one by one, and raise, changing nothing, where one of them would fail.
BatchHandler = Callable[[Conn, list[Event]], Awaitable[None]]
BatchHook = Callable[[Conn, list[Event], list[Position]], Awaitable[None]]
# Runs first in each batch's transaction, before anything is applied or claimed.
BeginHook = Callable[[Conn], Awaitable[None]]
CaughtUpHook = Callable[[list[CaughtUp]], Awaitable[None]]


class Poison(Exception):
    """A record that can never be applied."""


def parse(record: ConsumerRecord, wanted: Collection[str], topic: str) -> Event | None:
    """The record as an event of a type in `wanted` (None for another registered type); Poison if unreadable.

    The headers are read first, so a record of a type not wanted costs no JSON parsing; the
    value is parsed straight into the type's model (the envelope's `data` stays empty).
    """
    try:
        env = Envelope.from_headers(record.headers)
    except EnvelopeError as exc:
        raise Poison(f"bad envelope: {exc}") from exc
    if env.type not in EVENT_TYPES:
        raise Poison(f"unknown event type {env.type!r}")
    if env.type not in wanted:
        return None
    if record.value is None:
        raise Poison("bad envelope: record has no value")
    try:
        data = EVENT_TYPES[env.type].model.model_validate_json(record.value)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise Poison(f"bad envelope: value is not JSON: {exc}") from exc
        raise Poison(f"invalid {env.type} payload: {exc}") from exc
    return Event(env, data, topic, record.partition, record.offset)


async def claim(conn: Conn, consumer: str, events: list[Event]) -> list[Event]:
    """Write the inbox rows of these events in one statement; those `consumer` had not applied.

    An event already in the inbox is a duplicate, and so is a second copy within `events`.
    """
    ids = await inbox.claim(
        conn, consumer=consumer, ids=[e.envelope.id for e in events], topics=[e.topic for e in events]
    )
    fresh = []
    for event in events:
        if event.envelope.id in ids:
            ids.discard(event.envelope.id)
            fresh.append(event)
    return fresh


class ConsumerRunner:
    """Runs one consumer group over the topics of the event types it handles."""

    def __init__(
        self,
        *,
        name: str,
        pool: Pool,
        bootstrap: str | KafkaClient,
        handlers: Mapping[str, Handler],
        status: RuntimeStatus,
        batch_handler: BatchHandler | None = None,
        registry: CollectorRegistry | None = None,
        on_batch: BatchHook | None = None,
        on_begin: BeginHook | None = None,
        on_caught_up: CaughtUpHook | None = None,
        caught_up_interval_s: float = 1.0,
        topic_prefix: str = "",
        replication: int = 1,
        max_retries: int = 3,
        max_records: int = 500,
        inbox_retention: timedelta | None = None,
        prune_interval_s: float = 3600.0,
    ) -> None:
        unknown = set(handlers) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"handlers for unregistered event types: {sorted(unknown)}")
        specs = {EVENT_TYPES[t].topic.name: EVENT_TYPES[t].topic for t in handlers}
        lag = max((timedelta(milliseconds=compaction_lag_ms(s)) for s in specs.values()), default=timedelta())
        if inbox_retention is not None and inbox_retention <= lag:
            # Within the lag a rewound consumer can re-read every event, not only each key's
            # latest: the inbox must still know them (docs/consumer-guide.md).
            raise ValueError(
                f"inbox retention {inbox_retention} must exceed the topics' compaction lag {lag}"
            )
        self._inbox_retention = inbox_retention
        self._prune_interval = prune_interval_s
        self._pruned_at = float("-inf")
        self.name = name
        self._pool = pool
        self._bootstrap = bootstrap
        self._handlers = dict(handlers)
        self._batch_handler = batch_handler
        self._status = status
        self._on_batch = on_batch
        self._on_begin = on_begin
        self._on_caught_up = on_caught_up
        self._caught_up_interval = caught_up_interval_s
        self._caught_up_reported = 0.0
        self._prefix = topic_prefix
        self._replication = replication
        self._max_retries = max_retries
        self._max_records = max_records
        self._specs = list(specs.values())
        self._physical = {topic_name(topic_prefix, n): n for n in specs}
        self.applied = Counter(
            "mpe_consumer_events_applied", "Events applied", ["consumer"], registry=registry
        ).labels(name)
        self.duplicates = Counter(
            "mpe_consumer_events_duplicate", "Re-delivered events skipped", ["consumer"], registry=registry
        ).labels(name)
        self.dead = Counter(
            "mpe_consumer_events_dead_lettered", "Events sent to a DLQ", ["consumer"], registry=registry
        ).labels(name)
        self.lag = Gauge(
            "mpe_consumer_lag",
            "Records not yet applied",
            ["consumer", "topic", "partition"],
            registry=registry,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; never crash on bad messages or outages."""
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._consume(stop)
                backoff = 0.5
            except Exception as exc:
                if isinstance(exc, KafkaError):
                    self._status.kafka.failed(exc)
                    log.warning("consumer lost Kafka; retrying", consumer=self.name, error=str(exc))
                else:
                    log.exception("consumer failed; restarting", consumer=self.name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 10.0)

    async def _consume(self, stop: asyncio.Event) -> None:
        await ensure_topics(
            self._bootstrap,
            [*self._specs, *(dlq_spec(s.name) for s in self._specs)],
            prefix=self._prefix,
            replication=self._replication,
        )
        consumer = AIOKafkaConsumer(
            *self._physical,
            **as_client(self._bootstrap).kwargs(),
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5_000,
        )
        producer = idempotent_producer(self._bootstrap, client_id=f"{self.name}-dlq")
        try:
            await consumer.start()
            await producer.start()
            self._status.kafka.ok()
            backoff = 0.5
            while not stop.is_set():
                await self._prune()
                batch = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
                if not batch:
                    await self._report_lag(consumer)
                    continue
                try:
                    with telemetry.batch_span(self.name, sum(len(r) for r in batch.values())):
                        await self._apply(consumer, producer, batch)
                    backoff = 0.5
                except TRANSIENT as exc:
                    log.warning(
                        "database unavailable, or the batch lost a deadlock; will retry the batch",
                        consumer=self.name,
                        error=str(exc),
                    )
                    for tp, records in batch.items():
                        consumer.seek(tp, records[0].offset)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 10)

    async def _prune(self) -> None:
        """Forget inbox rows older than the retention, at most once per interval."""
        now = time.monotonic()
        if self._inbox_retention is None or now - self._pruned_at < self._prune_interval:
            return
        self._pruned_at = now
        try:
            async with self._pool.acquire() as conn:
                n = await inbox.prune(conn, consumer=self.name, older_than=self._inbox_retention)
        except TRANSIENT as exc:
            log.warning("could not prune the inbox", consumer=self.name, error=str(exc))
            return
        if n:
            log.info("inbox pruned", consumer=self.name, rows=n)

    async def _apply(
        self,
        consumer: AIOKafkaConsumer,
        producer: object,
        batch: dict[TopicPartition, list[ConsumerRecord]],
    ) -> None:
        dead: list[tuple[ConsumerRecord, str]] = []
        applied: list[Event] = []
        positions = [
            Position(self._physical[tp.topic], tp.partition, recs[-1].offset + 1, consumer.highwater(tp))
            for tp, recs in batch.items()
        ]
        parsed: list[tuple[ConsumerRecord, Event]] = []
        for records in batch.values():
            for record in records:
                try:
                    event = self._parse(record)
                except Poison as exc:
                    dead.append((record, str(exc)))
                    continue
                if event is not None:
                    parsed.append((record, event))
        async with self._pool.acquire() as conn, conn.transaction():
            if self._on_begin is not None:
                await self._on_begin(conn)
            together = await self._apply_together(conn, [e for _, e in parsed])
            if together is not None:
                applied = together
            else:
                for record, event in parsed:
                    with telemetry.apply_span(self.name, event.topic, event.envelope.traceparent):
                        error = await self._apply_one(conn, event)
                    if error is None:
                        applied.append(event)
                    elif error:
                        dead.append((record, error))
            if self._on_batch is not None:
                await self._on_batch(conn, applied, positions)
        if dead:
            await self._dead_letter(producer, dead)
        try:
            await consumer.commit({tp: recs[-1].offset + 1 for tp, recs in batch.items()})
        except KafkaError as exc:
            # Already applied; a re-delivery after a rebalance is absorbed by the inbox.
            log.warning("offset commit failed", consumer=self.name, error=str(exc))
        self.applied.inc(len(applied))
        await self._report_lag(consumer)

    def _parse(self, record: ConsumerRecord) -> Event | None:
        return parse(record, self._handlers, self._physical[record.topic])

    async def _apply_together(self, conn: Conn, events: list[Event]) -> list[Event] | None:
        """Apply the batch set-based, in a savepoint: the fresh events, or None if it failed (and left nothing)."""
        if self._batch_handler is None or not events:
            return None
        try:
            async with conn.transaction():
                fresh = await claim(conn, self.name, events)
                if fresh:
                    with telemetry.batch_apply_spans(
                        self.name, [(e.topic, e.envelope.traceparent) for e in fresh]
                    ):
                        await self._batch_handler(conn, fresh)
        except TRANSIENT:
            raise
        except Exception as exc:
            log.warning(
                "batch failed; applying its events one by one",
                consumer=self.name,
                events=len(events),
                error=repr(exc),
            )
            return None
        self.duplicates.inc(len(events) - len(fresh))
        return fresh

    async def _apply_one(self, conn: Conn, event: Event) -> str | None:
        """None when applied; '' when a duplicate; else the error that dead-letters it."""
        last: Exception | None = None
        for attempt in range(1, self._max_retries + 1):
            try:
                async with conn.transaction():
                    fresh = await conn.fetchval(
                        "insert into inbox (consumer, event_id, topic) values ($1, $2, $3)"
                        " on conflict do nothing returning true",
                        self.name,
                        event.envelope.id,
                        event.topic,
                    )
                    if not fresh:
                        self.duplicates.inc()
                        return ""
                    await self._handlers[event.envelope.type](conn, event)
                return None
            except TRANSIENT:
                raise
            except Exception as exc:
                last = exc
                log.warning(
                    "handler failed",
                    consumer=self.name,
                    event_id=str(event.envelope.id),
                    type=event.envelope.type,
                    attempt=attempt,
                    error=repr(exc),
                )
        return f"handler failed {self._max_retries} times: {last!r}"

    async def _dead_letter(self, producer: object, dead: list[tuple[ConsumerRecord, str]]) -> None:
        acks = []
        for record, error in dead:
            headers = [
                *(record.headers or ()),
                ("dlq_error", error[:4000].encode()),
                ("dlq_consumer", self.name.encode()),
                ("dlq_topic", record.topic.encode()),
                ("dlq_partition", str(record.partition).encode()),
                ("dlq_offset", str(record.offset).encode()),
            ]
            log.error(
                "event dead-lettered",
                consumer=self.name,
                topic=record.topic,
                offset=record.offset,
                error=error,
            )
            acks.append(
                await producer.send(  # type: ignore[attr-defined]
                    f"{record.topic}.dlq", key=record.key, value=record.value, headers=headers
                )
            )
        await asyncio.gather(*acks)
        self.dead.inc(len(dead))

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        parts: dict[str, int] = {}
        caught_up: list[CaughtUp] = []
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(tp)
            lag = max(highwater - position, 0)
            parts[f"{self._physical.get(tp.topic, tp.topic)}:{tp.partition}"] = lag
            self.lag.labels(self.name, tp.topic, str(tp.partition)).set(lag)
            polled_ms = consumer.last_poll_timestamp(tp)
            if lag == 0 and polled_ms:
                caught_up.append(
                    CaughtUp(
                        self._physical.get(tp.topic, tp.topic),
                        tp.partition,
                        position,
                        datetime.fromtimestamp(polled_ms / 1000, UTC),
                    )
                )
        self._status.consumer_lag[self.name] = parts
        now = time.monotonic()
        if (
            self._on_caught_up is not None
            and caught_up
            and now - self._caught_up_reported >= self._caught_up_interval
        ):
            self._caught_up_reported = now
            try:
                await self._on_caught_up(caught_up)
            except TRANSIENT as exc:
                log.warning("could not record caught-up partitions", consumer=self.name, error=str(exc))
