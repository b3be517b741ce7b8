"""The migration runner on a database that already holds data, while others use it.

Found by a review: a file that failed on existing rows (a unique index over duplicates) was
reported by `migrate` as a bare `UniqueViolationError(...)`, naming neither the file nor the rows;
and a file waiting for a table's lock waited without end while every later reader of that
table queued behind it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import pytest

from mpe_devstack.postgres import PostgresServer
from mpe_kit import migrations
from mpe_kit.migrations import Migration, MigrationError

FIRST = Migration(
    "probe", 1, "readings", "create table readings (x int); insert into readings values (1), (1)"
)
UNIQUE = Migration("probe", 2, "unique_readings", "create unique index readings_x on readings (x)")
WIDER = Migration("probe", 2, "wider_readings", "alter table readings add column y int")


async def _applied(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "select name from schema_migrations where namespace = 'probe' order by version"
        )
        return [r["name"] for r in rows]
    finally:
        await conn.close()


async def test_a_file_failing_on_existing_rows_is_named_with_the_rows(
    pg: PostgresServer, new_database: Callable[[str], str]
) -> None:
    dsn = new_database("migrations")
    with pytest.raises(MigrationError) as failed:
        await migrations.migrate(dsn, [FIRST, UNIQUE])
    message = str(failed.value)
    assert "migration probe/0002_unique_readings failed and was rolled back" in message
    assert "UniqueViolationError" in message
    assert "DETAIL: Key (x)=(1) is duplicated." in message
    assert await _applied(dsn) == ["readings"]


async def test_a_file_that_cannot_get_its_lock_gives_up_and_stalls_no_reader(
    pg: PostgresServer, new_database: Callable[[str], str]
) -> None:
    dsn = new_database("migrations")
    await migrations.migrate(dsn, [FIRST])
    holder = await asyncpg.connect(dsn)
    reader = await asyncpg.connect(dsn)
    try:
        await holder.execute("begin; select * from readings")  # a long transaction of the old release
        migrating = asyncio.create_task(
            migrations.migrate(dsn, [FIRST, WIDER], lock_timeout_s=0.5, lock_tries=2)
        )
        await asyncio.sleep(0.2)  # the file now waits for its lock
        t0 = time.monotonic()
        assert await reader.fetchval("select count(*) from readings") == 2
        waited = time.monotonic() - t0
        with pytest.raises(
            MigrationError, match=r"probe/0002_wider_readings could not take its locks in 2 tries"
        ):
            await migrating
        # Queued behind the waiting file at most until its try gave up, never until the holder ended.
        assert waited < 5, waited
        assert await _applied(dsn) == ["readings"]
        await holder.execute("commit")
        assert [m.name for m in await migrations.migrate(dsn, [FIRST, WIDER], lock_timeout_s=0.5)] == [
            "wider_readings"
        ]
    finally:
        await holder.close()
        await reader.close()


async def test_a_file_gets_its_lock_on_a_later_try(
    pg: PostgresServer, new_database: Callable[[str], str]
) -> None:
    dsn = new_database("migrations")
    await migrations.migrate(dsn, [FIRST])
    holder = await asyncpg.connect(dsn)
    try:
        await holder.execute("begin; select * from readings")
        migrating = asyncio.create_task(
            migrations.migrate(dsn, [FIRST, WIDER], lock_timeout_s=0.3, lock_tries=5)
        )
        await asyncio.sleep(0.5)  # the first try gave up
        await holder.execute("commit")
        applied = await migrating
    finally:
        await holder.close()
    assert [m.name for m in applied] == ["wider_readings"]
    assert await _applied(dsn) == ["readings", "wider_readings"]
