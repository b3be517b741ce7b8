"""A connection lost during COMMIT: the unit of work learns what became of its transaction.

The loss is made by a proxy between the pool and Postgres (`mpe_devstack.pgproxy`), at the very
message that commits, so each outcome happens every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import structlog

from mpe_devstack.pgproxy import CommitProxy, Fault, commit_proxy
from mpe_events import catalog as ev
from mpe_events.registry import INDUSTRY_CREATED
from mpe_kit.db import connect, create_pool, is_connection_lost
from mpe_kit.outbox import PendingEvent
from mpe_kit.uow import CommitOutcomeUnknown, PostgresUnitOfWork
from mpe_kit.writes import WriteRecorder, decode


@pytest.fixture
async def proxy(kit_db: str) -> AsyncIterator[CommitProxy]:
    admin = await connect(kit_db)
    await admin.execute("create table notes (code text primary key)")
    await admin.close()
    async with commit_proxy(kit_db) as p:
        yield p


@pytest.fixture
async def pool(proxy: CommitProxy) -> AsyncIterator[asyncpg.Pool]:
    """One connection through the proxy, as a service's pool would reach Postgres."""
    p = await create_pool(proxy.dsn, min_size=1, max_size=1)
    yield p
    await p.close()


def created(code: str) -> PendingEvent:
    return PendingEvent(
        INDUSTRY_CREATED, code, ev.IndustryV1(code=code, name_en=code, name_ko=code, version=1)
    )


async def write(pool: asyncpg.Pool, code: str, *, events: bool, writes: WriteRecorder | None = None) -> None:
    async with PostgresUnitOfWork(pool, source="/mpe/test", writes=writes) as uow:
        await uow.conn.execute("insert into notes values ($1)", code)
        if events:
            uow.add(created(code))


async def stored(kit_db: str, code: str) -> tuple[int, int]:
    """(rows of `code` in notes, events of it in the outbox), read directly."""
    conn = await connect(kit_db)
    try:
        row = await conn.fetchrow(
            "select (select count(*) from notes where code = $1) as notes,"
            " (select count(*) from outbox where subject = $1) as events",
            code,
        )
        assert row is not None
        return row["notes"], row["events"]
    finally:
        await conn.close()


@pytest.mark.parametrize("events", [True, False], ids=["with-events", "without-events"])
async def test_a_commit_that_reached_the_server_is_a_success(
    kit_db: str, proxy: CommitProxy, pool: asyncpg.Pool, events: bool
) -> None:
    # The answer to COMMIT is lost, yet the server committed: before, the client was told the
    # write failed (503, "retry"), and a retry wrote it twice.
    writes = WriteRecorder()
    proxy.arm(Fault.DELIVER)
    with structlog.testing.capture_logs() as logs:
        await write(pool, "SEMI", events=events, writes=writes)
    assert proxy.struck.is_set()
    assert await stored(kit_db, "SEMI") == (1, 1 if events else 0)
    lost = [e for e in logs if e["event"] == "connection lost during commit"]
    assert [e["outcome"] for e in lost] == ["committed"]
    token = writes.token()
    if events:
        assert token is not None
        assert [(w.source, w.txid, w.count) for w in decode(token)] == [("/mpe/test", lost[0]["txid"], 1)]
    else:
        assert token is None
    # The pool goes on with a fresh connection.
    await write(pool, "DISP", events=events)
    assert await stored(kit_db, "DISP") == (1, 1 if events else 0)


async def test_a_commit_the_server_never_saw_raises_the_lost_connection(
    kit_db: str, proxy: CommitProxy, pool: asyncpg.Pool
) -> None:
    proxy.arm(Fault.DROP)
    with structlog.testing.capture_logs() as logs, pytest.raises(asyncpg.PostgresConnectionError):
        await write(pool, "SEMI", events=True)
    assert [e["outcome"] for e in logs if e["event"] == "connection lost during commit"] == ["aborted"]
    assert await stored(kit_db, "SEMI") == (0, 0)
    await write(pool, "SEMI", events=True)
    assert await stored(kit_db, "SEMI") == (1, 1)


async def test_an_outcome_not_learned_in_time_is_reported_unknown(
    kit_db: str, proxy: CommitProxy, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server has not noticed its client is gone: the transaction stays in progress for as
    # long as the unit of work may wait (shortened here), and nobody can say how it will end.
    monkeypatch.setattr(PostgresUnitOfWork, "settle_s", 0.5)
    proxy.arm(Fault.HOLD)
    with structlog.testing.capture_logs() as logs, pytest.raises(CommitOutcomeUnknown) as raised:
        await write(pool, "SEMI", events=True)
    assert is_connection_lost(raised.value.__cause__), repr(raised.value.__cause__)
    [lost] = [e for e in logs if e["event"] == "connection lost during commit"]
    assert (lost["outcome"], lost["txid"]) == ("unknown", raised.value.txid)
    conn = await connect(kit_db)
    try:
        assert (
            await conn.fetchval("select pg_xact_status($1::text::xid8)", str(raised.value.txid))
            == "in progress"
        )
        proxy.release()
        # Once the server sees the client gone it rolls the transaction back.
        for _ in range(100):
            status = await conn.fetchval("select pg_xact_status($1::text::xid8)", str(raised.value.txid))
            if status != "in progress":
                break
            await asyncio.sleep(0.05)
        assert status == "aborted"
    finally:
        await conn.close()
    assert await stored(kit_db, "SEMI") == (0, 0)


async def test_a_read_only_unit_of_work_that_loses_its_commit_raises_at_once(
    kit_db: str, proxy: CommitProxy, pool: asyncpg.Pool
) -> None:
    # Nothing was written, so there is no transaction to ask about: the loss is raised as it came.
    proxy.arm(Fault.HOLD)
    with structlog.testing.capture_logs() as logs, pytest.raises(asyncpg.PostgresConnectionError):
        async with PostgresUnitOfWork(pool, source="/mpe/test") as uow:
            assert await uow.conn.fetchval("select count(*) from notes") == 0
    assert [e for e in logs if e["event"] == "connection lost during commit"] == []
    proxy.release()
