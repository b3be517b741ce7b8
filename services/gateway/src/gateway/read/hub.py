"""The change hub: what each app knows of the change log, and the news it hands to subscribers.

One hub per app holds one dedicated connection that LISTENs on `gateway_changes`, where the
projector notifies the highest seq of each batch it commits. The hub keeps `watermark`, the
highest seq it knows to be committed, and wakes its subscribers when it rises. It hands out no
rows: each subscriber reads the rows after its own position from the table, so a notification
that was coalesced, dropped or sent while the hub was reconnecting loses nothing. A subscriber
has one pending wake-up at most and reads a bounded page at a time, so a slow one holds no
memory for what it has not read and delays nobody else.

While its connection is down the hub is not `live`; it reconnects with backoff and reads the
watermark afresh. It also reads the watermark every `poll_s`, which checks the connection and
catches any notification that went missing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway import store
from mpe_kit import db
from mpe_kit.logging import get_logger

log = get_logger("gateway.feed")

PAGE = 100
# How the hub's connection shows in pg_stat_activity.
APPLICATION_NAME = "gateway-change-hub"


@dataclass(frozen=True)
class ChangeRow:
    """One row of the change log."""

    seq: int
    entity_type: str
    key: str
    version: int
    applied_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ChangeRow:
        """From a `changes` row."""
        return cls(
            seq=row["seq"],
            entity_type=row["entity_type"],
            key=row["entity_key"],
            version=row["version"],
            applied_at=row["applied_at"],
        )


class _Subscriber:
    """A subscriber's wake-up: set when the watermark rises, at most one pending."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()


class ChangeHub:
    """The change log's watermark for one app, kept live over LISTEN, and its subscribers."""

    def __init__(
        self,
        *,
        dsn: str,
        pool: db.Pool,
        poll_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.watermark = 0
        """The highest seq known to be committed (every lower seq is committed too)."""
        self.live = False
        """Whether the hub is listening now; while False, `watermark` may lag the table."""
        self._dsn = dsn
        self._pool = pool
        self._poll_s = poll_s
        self._connect_timeout_s = connect_timeout_s
        self._max_backoff_s = max_backoff_s
        self._subscribers: set[_Subscriber] = set()
        self._risen = asyncio.Event()
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        """Read the watermark, start listening, and wait (a few seconds at most) until the hub is live."""
        async with self._pool.acquire() as conn:
            self._advance(await store.changes.changes_watermark(conn))
        self._task = asyncio.create_task(self._run(), name="gateway-change-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self._connect_timeout_s)

    async def stop(self) -> None:
        """Stop listening and end every subscription."""
        self._closed = True
        for s in self._subscribers:
            s.wake.set()
        self._risen.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_beyond(self, seq: int) -> int:
        """Wait until the watermark passes `seq` (or the hub stops); the watermark then.

        Bound the wait with `asyncio.timeout` where it must end.
        """
        while self.watermark <= seq and not self._closed:
            await self._risen.wait()
        return self.watermark

    async def follow(self, types: Collection[str], *, page: int = PAGE) -> AsyncIterator[list[ChangeRow]]:
        """The changes of these entity types committed from now on, in seq order and in pages of up
        to `page` rows, until the hub stops."""
        me = _Subscriber()
        self._subscribers.add(me)
        position = self.watermark
        try:
            while not self._closed:
                me.wake.clear()
                # Cleared before reading the watermark: a rise from here on wakes us again.
                target = self.watermark
                while position < target:
                    async with self._pool.acquire() as conn:
                        rows = await store.changes.changes_between(
                            conn, types=list(types), after=position, upto=target, limit=page
                        )
                    if rows:
                        yield [ChangeRow.from_row(r) for r in rows]
                    position = rows[-1]["seq"] if len(rows) == page else target
                await me.wake.wait()
        finally:
            self._subscribers.discard(me)

    @property
    def subscribers(self) -> int:
        """How many subscriptions follow the log now."""
        return len(self._subscribers)

    def _advance(self, seq: int) -> None:
        if seq <= self.watermark:
            return
        self.watermark = seq
        for s in self._subscribers:
            s.wake.set()
        risen, self._risen = self._risen, asyncio.Event()
        risen.set()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._advance(int(str(payload)))
        except ValueError:
            log.warning("ignored a change notification that is no seq", payload=str(payload)[:100])

    async def _run(self) -> None:
        backoff = 0.5
        while not self._closed:
            try:
                await self._listen()
                backoff = 0.5
            except Exception as exc:
                log.warning("change hub lost its connection; reconnecting", error=repr(exc))
            finally:
                self.live = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff_s)

    async def _listen(self) -> None:
        """One connection's life: LISTEN, read the watermark, then check it every poll until it drops."""
        conn: asyncpg.Connection = await asyncio.wait_for(
            asyncpg.connect(self._dsn, server_settings={"application_name": APPLICATION_NAME}),
            self._connect_timeout_s,
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        try:
            await conn.add_listener(store.changes.CHANGES_CHANNEL, self._notified)
            # After LISTEN: whatever commits from now on is notified, and what came before is read.
            self._advance(await store.changes.changes_watermark(conn))
            self.live = True
            self._listening.set()
            log.info("change hub listening", watermark=self.watermark)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._poll_s)
                if lost.is_set() or conn.is_closed():
                    break
                self._advance(
                    await asyncio.wait_for(store.changes.changes_watermark(conn), self._connect_timeout_s)
                )
            log.warning("change hub connection closed; reconnecting")
        finally:
            self.live = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
