"""`gateway rebuild`: a fresh read model from offset 0 of every topic, then one atomic switch.

Readers never see a half-built model. The rebuild migrates an empty schema of its own
(`rebuild_<time>`), replays every topic the projector reads into it with the projector's own
handlers (a poll's batch in one transaction, set-based, as the live projector applies it), and catches up with
the end of the log. Then one transaction swaps the names: `public` becomes `replaced_<time>`
and the new schema becomes `public`. Every query of the gateway names its tables without a
schema, and a schema rename invalidates every prepared plan, so the next statement of every
open connection reads the new model; until that commit they read the old one.

What is not derived from events moves with the switch, inside that transaction: the partner
keys, and the change log (partners page it by `seq`, so its numbers must not restart; one more
row of type `read_model` moves the response caches' watermark past everything they hold).

The live projector keeps running throughout. The switch's transaction first takes the lock
each projector batch holds shared for its whole transaction (`SWITCH_LOCK`), so no batch is half
done and none spans the switch. It reads how far the live projector got in the old model and
applies whatever the rebuild has not read yet up to there, into the new schema, still in that
transaction: the new model never lacks an event the live projector has committed past, even if
the rebuild dies right after the switch. Changes the rebuild applied that the live projector had
not (it was behind, or stopped) are kept in the carried-over change log, after its last row, or
partners' feeds would never see them: the live projector skips those events as duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from gateway.projector import freshness
from gateway.projector.handlers import HANDLERS, apply_batch
from gateway.store.changes import CHANGES_CHANNEL, CHANGES_LOCK, SWITCH_LOCK
from mpe_events.registry import EVENT_TYPES
from mpe_kit import db, dlq, migrations
from mpe_kit.consumer import BatchHandler, Event, Handler, Poison, Position, claim, parse
from mpe_kit.db import Conn
from mpe_kit.kafka import topic_name
from mpe_kit.kafka_client import KafkaClient, as_client
from mpe_kit.logging import get_logger

log = get_logger("gateway.rebuild")

# Tables a rebuild does not derive from events; copied from the old schema at the switch.
CARRIED = ("api_keys",)
BATCH = 2000
# Records parsed between two turns of the event loop, while the batch before is being applied.
YIELD_EVERY = 200


class RebuildError(RuntimeError):
    """The rebuild cannot go on; readers still use the old read model."""


@dataclass
class Progress:
    """What the rebuild did so far: events read, applied, skipped (duplicates), unreadable."""

    total: int = 0
    read: int = 0
    applied: int = 0
    skipped: int = 0
    unreadable: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Events read per second over the whole rebuild."""
        return self.read / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class RebuildResult:
    """Where the new model lives (`public`), what the old one is called now, and the counts."""

    replaced: str | None
    built: str
    progress: Progress


@dataclass(frozen=True)
class _Batch:
    """A batch read and parsed, to be applied: its events, the partitions' positions after it."""

    events: list[Event]
    positions: list[Position]
    next_offsets: dict[TopicPartition, int]
    records: int


def _schema_dsn(dsn: str, schema: str) -> str:
    # asyncpg passes unknown DSN parameters to the server as settings.
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"


class _Replayer:
    """Reads topic partitions from given offsets up to given ends and applies them in batches."""

    def __init__(
        self,
        *,
        bootstrap: str | KafkaClient,
        prefix: str,
        consumer_name: str,
        handlers: Mapping[str, Handler],
        apply: BatchHandler,
        progress: Progress,
        on_progress: Callable[[Progress], None],
    ) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._name = consumer_name
        self._handlers = handlers
        self._apply_batch = apply
        self.progress = progress
        self._on_progress = on_progress
        self._logical = {
            topic_name(prefix, EVENT_TYPES[t].topic.name): EVENT_TYPES[t].topic.name for t in handlers
        }
        self.positions: dict[TopicPartition, int] = {}

    async def partitions(self) -> list[TopicPartition]:
        return await dlq.partitions(self._bootstrap, sorted(self._logical))

    async def ends(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(**as_client(self._bootstrap).kwargs(), enable_auto_commit=False)
        await consumer.start()
        try:
            return dict(await consumer.end_offsets(tps))
        finally:
            await consumer.stop()

    def physical(self, positions: list[asyncpg.Record]) -> dict[TopicPartition, int]:
        """(topic, partition, next_offset) rows of a read model as the partitions it reads."""
        names = {logical: name for name, logical in self._logical.items()}
        return {
            TopicPartition(names[r["topic"]], r["partition"]): r["next_offset"]
            for r in positions
            if r["topic"] in names
        }

    async def replay(self, target: asyncpg.Pool | Conn, schema: str, ends: dict[TopicPartition, int]) -> None:
        """Apply every record from the current positions (0 at first) up to `ends`: each batch in a
        transaction of a pool's connection, or in a savepoint of a connection's transaction."""
        todo = {tp: end for tp, end in ends.items() if self.positions.get(tp, 0) < end}
        if not todo:
            return
        consumer = AIOKafkaConsumer(
            **as_client(self._bootstrap).kwargs(),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        # One batch is applied while the next one is read and parsed: parsing is Python's work,
        # applying mostly Postgres's, so the two overlap. Batches are applied one at a time, in order.
        applying: asyncio.Task[None] | None = None
        try:
            self._assign(consumer, todo)
            while todo:
                batch = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
                wanted = {
                    tp: [r for r in recs if r.offset < todo[tp]] for tp, recs in batch.items() if tp in todo
                }
                wanted = {tp: recs for tp, recs in wanted.items() if recs}
                if wanted:
                    prepared = await self._prepare(consumer, wanted)
                    if applying is not None:
                        await applying
                    applying = asyncio.create_task(self._apply(target, schema, prepared))
                for tp, end in list(todo.items()):
                    # Compaction leaves gaps in the offsets: the consumer's position tells where it is.
                    if self.positions.get(tp, 0) >= end or await consumer.position(tp) >= end:
                        self.positions[tp] = max(self.positions.get(tp, 0), end)
                        del todo[tp]
                        # Paused, not unassigned: a new assignment would drop what the consumer
                        # has fetched ahead for the other partitions.
                        consumer.pause(tp)
            if applying is not None:
                await applying
        finally:
            if applying is not None and not applying.done():
                applying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await applying
            await consumer.stop()

    def _assign(self, consumer: AIOKafkaConsumer, todo: dict[TopicPartition, int]) -> None:
        """Read only the partitions not done yet, each from where the rebuild left it."""
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, self.positions.get(tp, 0))

    def _parse(self, tp: TopicPartition, record: ConsumerRecord) -> Event | None:
        try:
            return parse(record, self._handlers, self._logical[tp.topic])
        except Poison as exc:
            # The live projector dead-lettered it when it first came by; it stays out here too.
            log.warning("unreadable record skipped", topic=tp.topic, offset=record.offset, error=str(exc))
            self.progress.unreadable += 1
            return None

    async def _prepare(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> _Batch:
        """Parse a batch, letting the batch before it go on talking to Postgres every few records."""
        events: list[Event] = []
        for n, (tp, record) in enumerate((tp, r) for tp, recs in batch.items() for r in recs):
            if (event := self._parse(tp, record)) is not None:
                events.append(event)
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        return _Batch(
            events=events,
            positions=[
                Position(self._logical[tp.topic], tp.partition, recs[-1].offset + 1, consumer.highwater(tp))
                for tp, recs in batch.items()
            ],
            next_offsets={tp: recs[-1].offset + 1 for tp, recs in batch.items()},
            records=sum(len(recs) for recs in batch.values()),
        )

    async def _apply(self, target: asyncpg.Pool | Conn, schema: str, batch: _Batch) -> None:
        if isinstance(target, asyncpg.Pool):
            async with target.acquire() as conn, conn.transaction():
                applied = await self._apply_in(conn, schema, batch)
        else:
            async with target.transaction():
                applied = await self._apply_in(target, schema, batch)
        for tp, offset in batch.next_offsets.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset)
        self.progress.read += batch.records
        self.progress.applied += len(applied)
        self.progress.skipped += len(batch.events) - len(applied)
        self._on_progress(self.progress)

    async def _apply_in(self, conn: Conn, schema: str, batch: _Batch) -> list[Event]:
        await conn.execute(f"set local search_path to {schema}")
        applied = await claim(conn, self._name, batch.events)
        await self._apply_all(conn, applied)
        await freshness.on_batch(conn, applied, batch.positions)
        return applied

    async def _apply_all(self, conn: Conn, events: list[Event]) -> None:
        """The batch set-based, as the live projector applies it; else one by one, where a failure
        names its event and stops the rebuild."""
        try:
            async with conn.transaction():
                await self._apply_batch(conn, events)
            return
        except asyncpg.PostgresError as exc:
            # Say a deadlock with the live projector during the last pass: one by one may pass.
            log.warning("batch failed; applying its events one by one", events=len(events), error=str(exc))
        for event in events:
            try:
                await self._apply_batch(conn, [event])
            except asyncpg.PostgresError as exc:
                raise RebuildError(
                    f"event {event.envelope.id} ({event.envelope.type}, {event.topic}/{event.partition}"
                    f"@{event.offset}) failed: {exc}"
                ) from exc


async def _migrate(dsn: str, schema: str, runtime_role: str | None) -> None:
    from gateway.app import all_migrations

    conn = await db.connect(dsn)
    try:
        await conn.execute(f"create schema {schema}")
    finally:
        await conn.close()
    await migrations.migrate(_schema_dsn(dsn, schema), all_migrations())
    if runtime_role is not None:
        conn = await db.connect(dsn)
        try:
            role = await conn.fetchval("select quote_ident($1)", runtime_role)
            await conn.execute(f"grant usage on schema {schema} to {role}")
            await conn.execute(
                f"grant select, insert, update, delete on all tables in schema {schema} to {role}"
            )
        finally:
            await conn.close()


async def switch(conn: Conn, *, new: str, old_name: str, replayer: _Replayer) -> None:
    """In one transaction: catch up with the live projector, carry the keys and the change log
    over, then swap the schema names."""
    async with conn.transaction():
        # No projector batch is half done from here to the commit; new ones wait for it.
        await conn.execute("select pg_advisory_xact_lock($1)", SWITCH_LOCK)
        live = replayer.physical(
            await conn.fetch("select topic, partition, next_offset from public.source_positions")
        )
        ahead = any(offset > live.get(tp, 0) for tp, offset in replayer.positions.items())
        await replayer.replay(conn, new, live)
        await conn.execute("set local search_path to default")
        # The appenders' lock: nothing appends to either log between the copy and the switch.
        await conn.execute("select pg_advisory_xact_lock($1)", CHANGES_LOCK)
        for table in CARRIED:
            await conn.execute(f"delete from {new}.{table}")
            await conn.execute(f"insert into {new}.{table} select * from public.{table}")
        if ahead:
            # What the rebuild applied beyond the live projector (behind, or stopped): the entity
            # versions the old log never reached. Its rows are never pruned and versions only grow.
            await conn.execute(
                "create temporary table carried_changes on commit drop as"
                " select c.entity_type, c.entity_key, c.version, c.event_id, c.seq"
                f" from {new}.changes c where c.entity_type <> 'read_model' and not exists ("
                " select from public.changes o where o.entity_type = c.entity_type"
                " and o.entity_key = c.entity_key and o.version >= c.version)"
            )
        await conn.execute(f"delete from {new}.changes")
        await conn.execute(f"insert into {new}.changes select * from public.changes")
        if ahead:
            await conn.execute(
                f"insert into {new}.changes (seq, entity_type, entity_key, version, applied_at, event_id)"
                " select last.seq + row_number() over (order by k.seq), k.entity_type, k.entity_key,"
                " k.version, clock_timestamp(), k.event_id"
                f" from carried_changes k, (select coalesce(max(seq), 0) as seq from {new}.changes) as last"
            )
        await conn.execute(
            f"insert into {new}.changes (seq, entity_type, entity_key, version, applied_at, event_id)"
            f" select coalesce(max(seq), 0) + 1, 'read_model', $1, 1, clock_timestamp(), $2 from {new}.changes",
            new,
            uuid.uuid4(),
        )
        await conn.execute(f"alter schema public rename to {old_name}")
        await conn.execute(f"alter schema {new} rename to public")
        await conn.execute(
            "select pg_notify($1, (select max(seq)::text from public.changes))", CHANGES_CHANNEL
        )


async def rebuild(
    *,
    dsn: str,
    bootstrap: str | KafkaClient,
    prefix: str = "",
    consumer_name: str,
    runtime_role: str | None = None,
    switch_readers: bool = True,
    on_progress: Callable[[Progress], None] = lambda _p: None,
    before_switch: Callable[[], None] = lambda: None,
) -> RebuildResult:
    """Build the read model in a new schema from offset 0, then switch readers to it (or not)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    new, old_name = f"rebuild_{stamp}", f"replaced_{stamp}"
    progress = Progress()
    started = time.monotonic()
    replayer = _Replayer(
        bootstrap=bootstrap,
        prefix=prefix,
        consumer_name=consumer_name,
        handlers=HANDLERS,
        apply=apply_batch,
        progress=progress,
        on_progress=on_progress,
    )
    tps = await replayer.partitions()
    if not tps:
        raise RebuildError("none of the projector's topics exists on the broker")
    await _migrate(dsn, new, runtime_role)
    progress.phases["migrate"] = time.monotonic() - started
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    try:
        ends = await replayer.ends(tps)
        progress.total = sum(ends.values())
        on_progress(progress)
        await replayer.replay(pool, new, ends)
        progress.phases["replay"] = time.monotonic() - started
        # Catch up with what arrived meanwhile, until one pass finds almost nothing new.
        while True:
            ends = await replayer.ends(tps)
            behind = sum(max(e - replayer.positions.get(tp, 0), 0) for tp, e in ends.items())
            progress.total = progress.read + behind
            await replayer.replay(pool, new, ends)
            if behind < BATCH:
                break
        if not switch_readers:
            progress.seconds = time.monotonic() - started
            return RebuildResult(replaced=None, built=new, progress=progress)
        progress.phases["caught up"] = time.monotonic() - started
        before_switch()
        async with pool.acquire() as conn:
            await switch(conn, new=new, old_name=old_name, replayer=replayer)
        progress.phases["switch"] = time.monotonic() - started
    finally:
        await pool.close()
    progress.seconds = time.monotonic() - started
    return RebuildResult(replaced=old_name, built=new, progress=progress)
