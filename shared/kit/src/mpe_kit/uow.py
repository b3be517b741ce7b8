"""The unit of work a use case writes through: one connection, one transaction, its events.

`async with uow:` takes a connection and begins a transaction; the use case changes its
aggregates through `uow.conn` and hands their events to `uow.add`. Leaving the block without an
error writes the events into the outbox inside the same transaction, commits, and notes the
write in the request's write token; an error rolls everything back and notes nothing. A unit
of work may be entered again after it has left (a use case may check before it writes), never
while it is open.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Self

from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from mpe_kit import outbox
from mpe_kit.db import Conn, Pool
from mpe_kit.outbox import PendingEvent
from mpe_kit.writes import WriteRecorder, Written


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

    def __init__(self, pool: Pool, *, source: str, writes: WriteRecorder | None = None) -> None:
        super().__init__(source=source, writes=writes)
        self._pool = pool
        self._conn: PoolConnectionProxy | None = None
        self._tx: Transaction | None = None

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
        self._conn, self._tx = conn, tx

    async def _enqueue(self, events: list[PendingEvent]) -> Written | None:
        return (await outbox.enqueue(self.conn, events, source=self.source)).written

    async def _commit(self) -> None:
        assert self._tx is not None
        try:
            await self._tx.commit()
        finally:
            await self._release()

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
