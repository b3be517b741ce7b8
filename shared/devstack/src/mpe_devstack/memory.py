"""A unit of work without a database, for use-case unit tests (the unit lane: no Postgres, no Kafka)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

from mpe_kit.db import Conn
from mpe_kit.outbox import PendingEvent
from mpe_kit.uow import UnitOfWork
from mpe_kit.writes import WriteRecorder, Written


class InMemoryUnitOfWork(UnitOfWork):
    """Transactions over a dict of tables: a rollback restores them, a commit publishes the events.

    `tables` is what a test's in-memory repository reads and writes; it is also what the use
    case passes to the repository as its connection. Every commit gets a transaction id of its
    own, so the write token reads as it would with Postgres.
    """

    def __init__(
        self,
        tables: dict[str, Any] | None = None,
        *,
        source: str = "/mpe/test",
        writes: WriteRecorder | None = None,
    ) -> None:
        super().__init__(source=source, writes=writes)
        self.tables: dict[str, Any] = tables if tables is not None else {}
        self.published: list[PendingEvent] = []
        self.commits = 0
        self.rollbacks = 0
        self._before: dict[str, Any] = {}
        self._enqueued: list[PendingEvent] = []
        self._last_txid = 0

    @property
    def conn(self) -> Conn:
        """The tables, standing in for the connection the repositories take."""
        return cast("Conn", self.tables)

    async def _begin(self) -> None:
        self._before = copy.deepcopy(self.tables)
        self._enqueued = []

    async def _enqueue(self, events: list[PendingEvent]) -> Written | None:
        self._last_txid += 1
        self._enqueued = list(events)
        return Written(self.source, self._last_txid, len(events))

    async def _commit(self) -> None:
        self.published.extend(self._enqueued)
        self.commits += 1

    async def _rollback(self) -> None:
        self._restore(self._before)
        self.rollbacks += 1

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self.tables.clear()
        self.tables.update(copy.deepcopy(snapshot))

    def _savepoint(self) -> AbstractAsyncContextManager[None]:
        return self._nested()

    @asynccontextmanager
    async def _nested(self) -> AsyncIterator[None]:
        before = copy.deepcopy(self.tables)
        try:
            yield
        except BaseException:
            self._restore(before)
            raise
