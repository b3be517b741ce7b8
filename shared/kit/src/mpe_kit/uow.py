"""The unit of work a use case writes through: one connection, one transaction, its events.

`async with uow:` takes a connection and begins a transaction; the use case changes its
aggregates through `uow.conn` and hands their events to `uow.add`. Leaving the block without an
error writes the events into the outbox inside the same transaction, commits, and notes the
write in the request's write token; an error rolls everything back and notes nothing. A unit
of work may be entered again after it has left (a use case may check before it writes), never
while it is open.

A connection lost during COMMIT leaves the outcome open: the server may have committed before
the connection went, or not. The Postgres unit of work asks, on a fresh connection, what became
of its transaction (`pg_xact_status`): committed, and the use case answers as if nothing had
happened; rolled back, and the lost connection is raised (the client may repeat the request);
not learned within `settle_s`, and `CommitOutcomeUnknown` is raised, which the service answers
with a 503 that says so (`mpe_kit.transient`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Self

from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from mpe_kit import outbox
from mpe_kit.db import Conn, Pool, is_connection_lost
from mpe_kit.logging import get_logger
from mpe_kit.outbox import PendingEvent
from mpe_kit.writes import WriteRecorder, Written

log = get_logger("mpe.uow")


class CommitOutcomeUnknown(Exception):
    """The connection was lost during COMMIT, and whether the transaction committed is not known."""

    def __init__(self, txid: int) -> None:
        super().__init__(
            f"the connection was lost during the commit of transaction {txid}; its outcome is unknown"
        )
        self.txid = txid


class UnitOfWork(abc.ABC):
    """One use case's transaction and the events it commits with it."""

    def __init__(self, *, source: str, writes: WriteRecorder | None = None) -> None:
        self.source = source
        self._writes = writes
        self._events: list[PendingEvent] = []
        self._open = False

    @property
    @abc.abstractmethod
    def conn(self) -> Conn:
        """The open transaction's connection, for the repositories."""

    def add(self, *events: PendingEvent) -> None:
        """Publish these events if, and only if, the transaction commits."""
        if not self._open:
            raise RuntimeError("events are added inside `async with uow:`")
        self._events.extend(events)

    def note_committed(self, txid: int, count: int) -> None:
        """Name in the request's write token a transaction committed earlier, by an earlier request:
        a repeated request answered with its first answer lets a reader wait for what that wrote."""
        if self._writes is not None:
            self._writes.add(self.source, txid, count)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: an error inside it also drops the events added inside it."""
        mark = len(self._events)
        try:
            async with self._savepoint():
                yield
        except BaseException:
            del self._events[mark:]
            raise

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("a unit of work is not re-entrant; it is already open")
        await self._begin()
        self._events = []
        self._open = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False
        events, self._events = self._events, []
        if exc_type is not None:
            await self._rollback()
            return
        try:
            written = await self._enqueue(events) if events else None
        except BaseException:
            await self._rollback()
            raise
        await self._commit()
        # Only after the commit: a token never names a transaction that did not happen.
        if written is not None and self._writes is not None:
            self._writes.add(written.source, written.txid, written.count)

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _enqueue(self, events: list[PendingEvent]) -> Written | None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _rollback(self) -> None: ...

    @abc.abstractmethod
    def _savepoint(self) -> AbstractAsyncContextManager[None]: ...


class PostgresUnitOfWork(UnitOfWork):
    """A unit of work on a connection borrowed from the pool for the length of the block."""

    # How long a commit whose connection was lost may spend learning its outcome: about what a
    # Postgres restart takes. The request waits that long at most.
    settle_s = 5.0

    def __init__(self, pool: Pool, *, source: str, writes: WriteRecorder | None = None) -> None:
        super().__init__(source=source, writes=writes)
        self._pool = pool
        self._conn: PoolConnectionProxy | None = None
        self._tx: Transaction | None = None
        self._txid: int | None = None

    @property
    def conn(self) -> Conn:
        """The open transaction's connection, for the repositories."""
        if self._conn is None:
            raise RuntimeError("the connection exists only inside `async with uow:`")
        return self._conn

    async def _begin(self) -> None:
        conn = await self._pool.acquire()
        try:
            tx = conn.transaction()
            await tx.start()
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn, self._tx, self._txid = conn, tx, None

    async def _enqueue(self, events: list[PendingEvent]) -> Written | None:
        written = (await outbox.enqueue(self.conn, events, source=self.source)).written
        if written is not None:
            self._txid = written.txid
        return written

    async def _commit(self) -> None:
        assert self._tx is not None
        txid = self._txid
        try:
            if txid is None:
                # A transaction without events may still have written; one that has not has no id.
                txid = await self.conn.fetchval("select pg_current_xact_id_if_assigned()::text::bigint")
            await self._tx.commit()
        except BaseException as exc:
            if txid is None or not is_connection_lost(exc):
                raise
            # Give the dead connection back first (the pool may have one only); its reset may fail.
            with contextlib.suppress(Exception):
                await self._release()
            status = await self._outcome(txid)
            log.warning(
                "connection lost during commit", txid=txid, outcome=status or "unknown", error=repr(exc)
            )
            if status == "committed":
                return
            if status == "aborted":
                raise
            raise CommitOutcomeUnknown(txid) from exc
        finally:
            await self._release()

    async def _outcome(self, txid: int) -> str | None:
        """`committed` or `aborted`, asked on fresh connections until `settle_s` has passed; None if not learned.

        Right after the loss the server may not yet have noticed that its client is gone: the
        transaction is still `in progress` until it does (and rolls it back), so it is asked again.
        """
        # Every pooled connection may have died with the server; reconnect them on next use.
        await self._pool.expire_connections()
        deadline = time.monotonic() + self.settle_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                async with asyncio.timeout(left):
                    async with self._pool.acquire() as conn:
                        status: str | None = await conn.fetchval(
                            "select pg_xact_status($1::text::xid8)", str(txid)
                        )
            except Exception:  # unreachable or refused, whatever asyncpg calls it: ask again
                status = None
            if status in ("committed", "aborted"):
                return status
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    async def _rollback(self) -> None:
        assert self._tx is not None
        try:
            await self._tx.rollback()
        finally:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn, self._tx = self._conn, None, None
        if conn is not None:
            await self._pool.release(conn)

    def _savepoint(self) -> AbstractAsyncContextManager[None]:
        return _transaction(self.conn)


@asynccontextmanager
async def _transaction(conn: Conn) -> AsyncIterator[None]:
    async with conn.transaction():
        yield
