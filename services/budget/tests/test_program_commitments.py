"""A program's commitments kept on its row (migration 0003) follow every change of its projects."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from budget import projects, repository, schemas
from budget.app import all_migrations
from mpe_kit import db, migrations
from mpe_kit.uow import PostgresUnitOfWork

MigratedDatabase = Callable[[str, list[migrations.Migration]], Awaitable[str]]
BUDGET = 1_000_000

INSERT_PROJECT = (
    "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, chain_root, program_kind)"
    " values ($1, $2, 2025, 'p', 'new', '{SEMI-001}', 10000, 0, 0, '2025-04-01', '2026-12-31', 'proposed', $3, $1,"
    " 'rnd')"
)


async def _programs(conn: db.Conn, *codes: str) -> None:
    await conn.execute("insert into fiscal_years (year, envelope_krw) values (2025, $1)", BUDGET * len(codes))
    for code in codes:
        await conn.execute(
            "insert into programs (code, fiscal_year, name_en, name_ko, kind, budget_krw)"
            " values ($1, 2025, $1, $1, 'rnd', $2)",
            code,
            BUDGET,
        )


async def _stored_and_summed(conn: db.Conn) -> tuple[dict[str, int], dict[str, int]]:
    stored = {
        r["code"]: r["committed_krw"] for r in await conn.fetch("select code, committed_krw from programs")
    }
    summed = {code: 0 for code in stored}
    for r in await conn.fetch(
        "select program_code, sum(committed_krw)::bigint as n from projects group by 1"
    ):
        summed[r["program_code"]] = r["n"]
    return stored, summed


@pytest.fixture
async def dsn(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("budget", all_migrations())


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    c = await db.connect(dsn)
    try:
        yield c
    finally:
        await c.close()


async def test_the_sum_follows_any_sequence_of_statements(conn: asyncpg.Connection) -> None:
    await _programs(conn, "A", "B")
    rnd = random.Random(13)
    codes: list[str] = []
    for step in range(300):
        op = rnd.choice(["insert", "commit", "release", "move", "delete", "batch"] if codes else ["insert"])
        code = rnd.choice(codes) if codes else ""
        if op == "insert":
            codes.append(f"P-{step:03}")
            await conn.execute(INSERT_PROJECT, codes[-1], rnd.choice("AB"), rnd.choice([0, 0, 500, 2_000]))
        elif op == "commit":
            await conn.execute(
                "update projects set committed_krw = $2 where code = $1", code, rnd.randint(1, 9_000)
            )
        elif op == "release":
            await conn.execute("update projects set committed_krw = 0 where code = $1", code)
        elif op == "move":
            await conn.execute(
                "update projects set program_code = $2 where code = $1", code, rnd.choice("AB")
            )
        elif op == "delete":
            codes.remove(code)
            await conn.execute("delete from projects where code = $1", code)
        else:  # many rows of both programs in one statement
            await conn.execute(
                "update projects set committed_krw = committed_krw / 2 + $1 where code like $2",
                step,
                f"P-{step % 10}%",
            )
        stored, summed = await _stored_and_summed(conn)
        assert stored == summed, f"after step {step} ({op})"
    assert any(stored.values())


async def test_a_payment_and_a_proposal_take_no_lock_on_their_program(
    conn: asyncpg.Connection, dsn: str
) -> None:
    """The commonest writes must not wait for a move in the program, nor deadlock with one.

    A payment stores its project with the service's own statement, which sets the commitment to
    the value it had; a move holds the program's row while it runs.
    """
    await _programs(conn, "A")
    await conn.execute(INSERT_PROJECT, "P-1", "A", 10_000)
    async with conn.transaction():
        assert await repository.program_head(conn, "A", for_update=True) is not None  # a move holds it
        other: asyncpg.Connection = await db.connect(dsn)
        try:
            await other.execute("set lock_timeout = '2s'")
            paid = await repository.update_project_state(
                other, "P-1", status="active", committed=10_000, disbursed=100, step=None
            )
            assert paid["disbursed_krw"] == 100
            await other.execute(INSERT_PROJECT, "P-2", "A", 0)  # its foreign key reads the row
            with pytest.raises(asyncpg.LockNotAvailableError):
                # while a change of a commitment does wait for the move
                await repository.update_project_state(
                    other, "P-1", status="terminated", committed=100, disbursed=100, step=None
                )
        finally:
            await other.close()


class CountingUnitOfWork(PostgresUnitOfWork):
    """Notes the rows its transaction read from projects and programs, just before it commits."""

    read: dict[str, int]

    async def _commit(self) -> None:
        rows = await self.conn.fetch(
            "select relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as n"
            " from pg_stat_xact_user_tables where relname in ('projects', 'programs')"
        )
        self.read = {r["relname"]: r["n"] for r in rows}
        await super()._commit()


async def test_a_selection_reads_no_other_project_of_its_program(conn: asyncpg.Connection, dsn: str) -> None:
    await _programs(conn, "A")
    for n in range(200):
        await conn.execute(INSERT_PROJECT, f"P-{n:03}", "A", 1_000)
    await conn.execute(INSERT_PROJECT, "NEW", "A", 0)
    pool = await db.create_pool(dsn, max_size=1)
    try:
        uow = CountingUnitOfWork(pool, source="/mpe/test")
        moved = await projects.transition_project(
            uow, code="NEW", data=schemas.ProjectTransition(to="selected"), actor="tester"
        )
    finally:
        await pool.close()
    assert moved.committed_krw == 10_000
    # Its own row, found, locked and updated; its program's, locked and moved by the trigger.
    # Summing the program's 201 projects three times, as before migration 0003, read 606.
    assert uow.read["projects"] <= 3
    assert uow.read["programs"] <= 2
    assert await conn.fetchval("select committed_krw from programs where code = 'A'") == 210_000


async def test_a_commitment_update_reads_one_project_and_one_program(conn: asyncpg.Connection) -> None:
    await _programs(conn, "A")
    for n in range(200):
        await conn.execute(INSERT_PROJECT, f"P-{n:03}", "A", 1_000)
    async with conn.transaction():
        read = (
            "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) from pg_stat_xact_user_tables"
            " where relname = $1"
        )
        before = [await conn.fetchval(read, t) for t in ("projects", "programs")]
        await conn.execute("update projects set committed_krw = 4000 where code = 'P-007'")
        after = [await conn.fetchval(read, t) for t in ("projects", "programs")]
        assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]  # the project, then its program
    assert await conn.fetchval("select committed_krw from programs where code = 'A'") == 203_000


async def test_commitments_beyond_the_budget_are_refused_by_the_database(conn: asyncpg.Connection) -> None:
    await _programs(conn, "A")
    await conn.execute(INSERT_PROJECT, "P-1", "A", BUDGET)
    with pytest.raises(asyncpg.CheckViolationError, match="programs_commitments_within_budget"):
        await conn.execute(INSERT_PROJECT, "P-2", "A", 1)
    assert await conn.fetchval("select committed_krw from programs") == BUDGET


async def test_the_migration_fills_the_sums_from_the_projects_there(
    migrated_database: MigratedDatabase,
) -> None:
    before = [m for m in all_migrations() if not (m.namespace == "budget" and m.version >= 3)]
    dsn = await migrated_database("budget_0002", before)
    conn: asyncpg.Connection = await db.connect(dsn)
    try:
        await _programs(conn, "A", "B", "C")
        for code, program, committed in [
            ("P-1", "A", 300),
            ("P-2", "A", 4_000),
            ("P-3", "B", 0),
            ("P-4", "B", 7),
        ]:
            await conn.execute(INSERT_PROJECT, code, program, committed)
        await migrations.migrate(dsn, all_migrations())
        stored, summed = await _stored_and_summed(conn)
        assert stored == summed == {"A": 4_300, "B": 7, "C": 0}
    finally:
        await conn.close()
