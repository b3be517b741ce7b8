"""Replaying a consumer group from a point in its topics: `<service> consumer reset`.

Moving a group's offsets back alone does nothing: the inbox still holds the ids of the events
it re-reads, so the consumer skips them all. A reset therefore also forgets that consumer's
inbox rows for the topics it resets. The events then apply again, and the handlers' version
checks (apply only a version above the stored one) leave the read model as it was, or bring it
to the topics' state if it had drifted.

Both are done only while the group has no members: with a consumer running, offsets committed
behind its back would be overwritten by its next commit, and rows it is inserting would race
with the delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from mpe_events.topics import TOPICS
from mpe_kit import db, dlq, inbox
from mpe_kit.kafka_client import KafkaClient, as_client

# Group states in which nobody consumes (Kafka's GroupState names).
_IDLE = {"Empty", "Dead"}


class ResetRefused(Exception):
    """The reset cannot be done as asked; nothing was changed."""


@dataclass(frozen=True)
class ResetReport:
    """What a reset did: the offsets it set and how many inbox rows it forgot."""

    group: str
    offsets: dict[TopicPartition, int]
    inbox_rows: int


async def group_state(admin: AIOKafkaAdminClient, group: str) -> tuple[str, int]:
    """The group's state and its number of members, as its coordinator reports them."""
    for response in await admin.describe_consumer_groups([group]):
        for error_code, group_id, state, _ptype, _protocol, members, *_ in response.groups:
            if group_id == group:
                if error_code:
                    raise ResetRefused(f"cannot describe group {group}: Kafka error {error_code}")
                return str(state), len(members)
    return "Dead", 0


async def reset(
    *,
    bootstrap: str | KafkaClient,
    database_url: str,
    group: str,
    to: datetime | None,
    prefix: str = "",
    topics: Sequence[str] = (),
) -> ResetReport:
    """Point `group` at the start of its topics (`to` None) or at the first event at/after `to`.

    `topics` are logical names (without the prefix); by default, every registry topic the group
    has committed offsets for in this deployment.
    """
    if to is not None and to > datetime.now(UTC):
        raise ResetRefused(f"--to {to.isoformat()} is in the future: nothing is there to re-apply")
    admin = AIOKafkaAdminClient(**as_client(bootstrap).kwargs(), request_timeout_ms=10_000)
    await admin.start()
    try:
        state, members = await group_state(admin, group)
        if state not in _IDLE or members:
            raise ResetRefused(
                f"group {group} is active ({state}, {members} member(s)): stop its consumers first"
            )
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise ResetRefused(f"not topics of the registry: {', '.join(unknown)}")
    logical = list(topics) or sorted(
        {tp.topic.removeprefix(prefix) for tp in committed if tp.topic.startswith(prefix)} & set(TOPICS)
    )
    if not logical:
        raise ResetRefused(f"group {group} has no committed offsets here; name the topics with --topic")

    tps = await dlq.partitions(bootstrap, [f"{prefix}{t}" for t in logical])
    if not tps:
        raise ResetRefused(f"none of {', '.join(logical)} exists on the broker")
    consumer = AIOKafkaConsumer(**as_client(bootstrap).kwargs(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        offsets: dict[TopicPartition, int] = dict(await consumer.beginning_offsets(tps))
        if to is not None:
            found = await consumer.offsets_for_times({tp: int(to.timestamp() * 1000) for tp in tps})
            ends = await consumer.end_offsets(tps)
            # A reset only goes back: where the group has not yet read up to `to`, it keeps its
            # place (or the log's start, where it never committed), or the events between would
            # never be applied.
            offsets = {
                tp: min(
                    found[tp].offset if found.get(tp) else ends[tp],
                    committed[tp].offset if tp in committed and committed[tp].offset >= 0 else offsets[tp],
                )
                for tp in tps
            }
        # The inbox first: should the commit then fail, the group has merely lost its duplicates
        # filter for events it will not re-read; the other way round, the reset would do nothing.
        conn = await db.connect(database_url)
        try:
            forgotten = await inbox.forget(conn, consumer=group, topics=logical)
        finally:
            await conn.close()
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            raise ResetRefused(
                f"Kafka refused the new offsets (did a consumer of {group} start?): {exc}"
            ) from exc
    finally:
        await consumer.stop()
    return ResetReport(group=group, offsets=offsets, inbox_rows=forgotten)
