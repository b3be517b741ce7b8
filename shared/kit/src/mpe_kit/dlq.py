"""Dead letters: read them back, summarize them, and replay them to their source topic.

A consumer that cannot apply a record sends it unchanged to `<topic>.dlq`, with why and where in
`dlq_*` headers (`mpe_kit.consumer`). A replay sends it back to the source topic with the same
key, the same CloudEvents headers (so `ce_id` still deduplicates: a consumer that had applied
it skips it) and an `mpe_replay` header naming the dead letter it came from.

A dead letter whose key has a later record in its source partition is superseded: that later
record carries the whole, newer state, so every version-checked consumer would skip the
replayed one anyway, and on a compacted topic the replay would become the key's last record,
leaving the stale state as the one that survives compaction. Replay skips those.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from mpe_kit.kafka import idempotent_producer
from mpe_kit.kafka_client import KafkaClient, as_client

REPLAY_HEADER = "mpe_replay"
_DLQ_HEADERS = ("dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset")


class UnknownDeadLetter(LookupError):
    """No dead letter at that reference."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, with its position there."""

    dlq_topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def ref(self) -> str:
        """How the tools name it: `<dead-letter topic>:<partition>:<offset>`."""
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        """A header's value as text (the last one of that name), or None."""
        found = [v for k, v in self.headers if k == name]
        return found[-1].decode(errors="replace") if found else None

    @property
    def error(self) -> str:
        """Why the consumer gave up on it."""
        return self.header("dlq_error") or "(no dlq_error header)"

    @property
    def source_topic(self) -> str:
        """The topic it was read from (as named on the broker)."""
        return self.header("dlq_topic") or self.dlq_topic.removesuffix(".dlq")


def parse_ref(ref: str) -> tuple[str, int, int]:
    """Split `<topic>:<partition>:<offset>`; raise ValueError if it is not one."""
    topic, sep, rest = ref.rpartition(":")
    topic, sep2, partition = topic.rpartition(":")
    if not (sep and sep2 and topic and partition.isdigit() and rest.isdigit()):
        raise ValueError(f"{ref!r} is not <dead-letter topic>:<partition>:<offset>")
    return topic, int(partition), int(rest)


async def partitions(bootstrap: str | KafkaClient, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of those of these topics that exist on the broker."""
    admin = AIOKafkaAdminClient(**as_client(bootstrap).kwargs(), request_timeout_ms=10_000)
    await admin.start()
    try:
        # Only topics that exist: asking a broker that auto-creates topics about others would create them.
        there = set(await admin.list_topics())
        wanted = [t for t in topics if t in there]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    )


async def read(bootstrap: str | KafkaClient, dlq_topics: Sequence[str]) -> list[DeadLetter]:
    """Every dead letter now in these dead-letter topics, oldest first per partition."""
    out: list[DeadLetter] = []
    tps = await partitions(bootstrap, dlq_topics)
    if not tps:
        return out
    consumer = AIOKafkaConsumer(**as_client(bootstrap).kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        for tp in tps:
            if tp in pending and await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < ends[tp]:
                        out.append(
                            DeadLetter(
                                dlq_topic=tp.topic,
                                partition=tp.partition,
                                offset=r.offset,
                                timestamp=datetime.fromtimestamp(r.timestamp / 1000, UTC),
                                key=r.key,
                                value=r.value,
                                headers=tuple(r.headers or ()),
                            )
                        )
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return out


async def find(bootstrap: str | KafkaClient, ref: str) -> DeadLetter:
    """The dead letter at `ref`."""
    topic, partition, offset = parse_ref(ref)
    for letter in await read(bootstrap, [topic]):
        if letter.partition == partition and letter.offset == offset:
            return letter
    raise UnknownDeadLetter(f"no dead letter at {ref}")


def counts(letters: Iterable[DeadLetter]) -> list[tuple[str, str, str, int]]:
    """(source topic, consumer, error's first line, count), most frequent first."""
    counter = Counter(
        (d.source_topic, d.header("dlq_consumer") or "?", d.error.splitlines()[0][:200]) for d in letters
    )
    return [(t, c, e, n) for (t, c, e), n in counter.most_common()]


@dataclass(frozen=True)
class ReplayReport:
    """What a replay sent back, and which dead letters it skipped as superseded."""

    sent: list[DeadLetter]
    superseded: list[DeadLetter]


async def _superseded(bootstrap: str | KafkaClient, letters: Sequence[DeadLetter]) -> set[str]:
    """Refs of the letters whose key has a later record in the source partition."""
    wanted: dict[TopicPartition, list[DeadLetter]] = {}
    for d in letters:
        source_partition, source_offset = d.header("dlq_partition"), d.header("dlq_offset")
        if source_partition is None or source_offset is None or d.key is None:
            continue
        wanted.setdefault(TopicPartition(d.source_topic, int(source_partition)), []).append(d)
    if not wanted:
        return set()
    last_offset: dict[tuple[TopicPartition, bytes], int] = {}
    consumer = AIOKafkaConsumer(**as_client(bootstrap).kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = list(wanted)
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp, ds in wanted.items():
            consumer.seek(tp, min(int(d.header("dlq_offset") or 0) for d in ds) + 1)
        pending = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.key is not None:
                        last_offset[(tp, r.key)] = r.offset
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return {
        d.ref
        for tp, ds in wanted.items()
        for d in ds
        if d.key is not None and last_offset.get((tp, d.key), -1) > int(d.header("dlq_offset") or 0)
    }


async def replay(
    bootstrap: str | KafkaClient,
    letters: Sequence[DeadLetter],
    *,
    value: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
    every: int = 100,
) -> ReplayReport:
    """Send each letter not superseded back to its source topic, marked as a replay.

    `value` replaces the record's value (a fixed payload); it applies to a single letter only.
    """
    if value is not None and len(letters) != 1:
        raise ValueError("a replacement value applies to one dead letter, not to several")
    stale = await _superseded(bootstrap, letters)
    todo = [d for d in letters if d.ref not in stale]
    producer = idempotent_producer(bootstrap, client_id="mpe-dlq-replay")
    await producer.start()
    try:
        acks = []
        for n, d in enumerate(todo, 1):
            headers = [(k, v) for k, v in d.headers if k not in _DLQ_HEADERS and k != REPLAY_HEADER]
            headers.append((REPLAY_HEADER, d.ref.encode()))
            acks.append(
                await producer.send(
                    d.source_topic, key=d.key, value=value if value is not None else d.value, headers=headers
                )
            )
            if n % every == 0:
                await asyncio.gather(*acks)
                acks.clear()
                if progress is not None:
                    progress(n, len(todo))
        await asyncio.gather(*acks)
        if progress is not None and todo and len(todo) % every:
            progress(len(todo), len(todo))
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()
    return ReplayReport(sent=todo, superseded=[d for d in letters if d.ref in stale])
