"""How current the read model is, and waiting for a client's own writes to be projected.

- `dataAsOf`: the projector notes, for each source partition, when the broker last told it
  that nothing more was there (`CaughtUp.at`). The read model holds every event published
  before the oldest of those times. With Kafka unreachable the times stop moving, so the
  gateway keeps answering from its read model and `dataAsOf` says how old the data may be.
- read-your-writes: events carry their write's transaction (`Envelope.write`); the projector
  counts, per transaction, the events it applied, in the same commit. A reader holding a
  write token waits until every transaction in it is counted whole.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta

from gateway import store
from gateway.projector.handlers import record_positions
from mpe_kit.consumer import CaughtUp, Event, Position
from mpe_kit.db import Conn, Pool, without_statement_timeout
from mpe_kit.writes import Written

# Writes are waited for within seconds; their counts are kept a day, then pruned.
WRITE_PROGRESS_KEPT = timedelta(days=1)
PRUNE_EVERY_S = 600.0
POLL_S = 0.02


async def on_batch(conn: Conn, applied: list[Event], positions: list[Position]) -> None:
    """The projector's batch hook: positions as before, plus the events applied per write."""
    await record_positions(conn, applied, positions)
    writes = Counter((e.envelope.source, int(e.envelope.write or 0)) for e in applied if _is_write(e))
    if writes:
        await store.changes.record_writes(conn, [(s, t, n) for (s, t), n in writes.items()])


def _is_write(event: Event) -> bool:
    return event.envelope.write is not None and event.envelope.write.isdigit()


class CaughtUpRecorder:
    """The projector's caught-up hook: stores when each partition was last seen complete."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._pruned = 0.0

    async def __call__(self, caught_up: list[CaughtUp]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            # The projector's work, not a read: without `GATEWAY_DB_STATEMENT_TIMEOUT_S`.
            await without_statement_timeout(conn)
            await store.changes.record_caught_up(
                conn, [(c.topic, c.partition, c.next_offset, c.at) for c in caught_up]
            )
            now = time.monotonic()
            if now - self._pruned >= PRUNE_EVERY_S:
                await store.changes.prune_writes(conn, WRITE_PROGRESS_KEPT)
                self._pruned = now


class DataAsOf:
    """`extensions.dataAsOf` of this instance, read from the database at most every `ttl_s`."""

    def __init__(self, ttl_s: float = 0.5) -> None:
        self._ttl = ttl_s
        self._value: datetime | None = None
        self._read_at = float("-inf")

    async def get(self, pool: Pool, *, fresh: bool = False) -> datetime | None:
        now = time.monotonic()
        if fresh or now - self._read_at >= self._ttl:
            self._read_at = now
            async with pool.acquire() as conn:
                self._value = await store.changes.data_as_of(conn)
        return self._value


async def wait_for_writes(pool: Pool, written: list[Written], *, timeout_s: float) -> list[Written]:
    """Wait until every write is projected whole; what is still missing after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    pending = sorted(set(written))
    while True:
        async with pool.acquire() as conn:
            counts = await store.changes.write_counts(conn, [(w.source, w.txid) for w in pending])
        pending = [w for w in pending if counts.get((w.source, w.txid), 0) < w.count]
        if not pending or time.monotonic() >= deadline:
            return pending
        await asyncio.sleep(min(POLL_S, max(deadline - time.monotonic(), 0)))
