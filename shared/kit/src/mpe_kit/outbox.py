"""Writing events into the outbox, inside the caller's transaction (a use case's unit of work)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from mpe_events.envelope import Envelope
from mpe_events.registry import EventType
from mpe_kit.db import Conn
from mpe_kit.errors import Invalid
from mpe_kit.tracing import current_traceparent
from mpe_kit.writes import Written

MAX_EVENT_BYTES = 1_000_000
"""The largest event (its JSON value) the outbox takes: under the 1 MiB a Kafka producer and broker
take by default, with room for the headers and the batch around it. The broker would refuse a
bigger record every time, and the relay, which sends a service's rows in order, would stop at it
for good."""


@dataclass(frozen=True)
class PendingEvent:
    """An event to publish: its type, the aggregate id and the full state after the change."""

    event_type: EventType
    subject: str
    data: BaseModel


@dataclass(frozen=True)
class Enqueued:
    """The outbox rows one call wrote: their ids, and what a write token says of them."""

    ids: list[uuid.UUID]
    written: Written | None


async def enqueue(conn: Conn, events: Sequence[PendingEvent], *, source: str) -> Enqueued:
    """Insert the events into the outbox; the caller's transaction makes them atomic."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox rows must be written inside the use case's transaction")
    traceparent = current_traceparent()
    now = datetime.now(UTC)
    txid = await conn.fetchval("select pg_current_xact_id()::text::bigint")
    rows = []
    for ev in events:
        if not isinstance(ev.data, ev.event_type.model):
            raise TypeError(f"{ev.event_type.type} carries {ev.event_type.model.__name__}")
        payload = ev.data.model_dump(mode="json")
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_EVENT_BYTES:
            raise Invalid(
                f"This change is too large to publish: its event ({ev.event_type.type}, {ev.subject})"
                f" would be {size:,} bytes, and an event holds at most {MAX_EVENT_BYTES:,}."
                " Split it into smaller changes.",
                ko=f"이 변경은 너무 커서 발행할 수 없습니다. 이벤트({ev.event_type.type}, {ev.subject})가"
                f" {size:,}바이트가 되는데, 이벤트 하나는 {MAX_EVENT_BYTES:,}바이트까지입니다. 더 작은"
                " 변경으로 나누십시오.",
                event_bytes=size,
                max_event_bytes=MAX_EVENT_BYTES,
            )
        rows.append(
            (
                uuid.uuid4(),
                ev.event_type.topic.name,
                ev.subject,
                ev.event_type.type,
                source,
                ev.subject,
                now,
                traceparent,
                payload,
                txid,
            )
        )
    await conn.executemany(
        "insert into outbox (id, topic, key, type, source, subject, time, traceparent, payload, write_txid)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        rows,
    )
    return Enqueued([r[0] for r in rows], Written(source, txid, len(rows)) if rows else None)


def row_to_envelope(row: asyncpg.Record) -> Envelope:
    """The CloudEvent an outbox row stands for."""
    return Envelope(
        id=row["id"],
        source=row["source"],
        type=row["type"],
        subject=row["subject"],
        time=row["time"],
        data=row["payload"],
        traceparent=row["traceparent"],
        write=str(row["write_txid"]) if row["write_txid"] is not None else None,
    )
