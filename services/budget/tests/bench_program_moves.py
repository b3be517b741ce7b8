"""Benchmark (not a test): what selecting a project costs as its program grows.

    uv run --frozen python services/budget/tests/bench_program_moves.py [SIZES]

Starts a throwaway Postgres (fsync off) with the budget service's migrations. For each N of SIZES
(default 0,1000,10000), a program of its own gets N selected projects and 700 proposed ones,
written straight into the table; then the service's own use case (`projects.transition_project`,
in a unit of work on a pool, outbox event included; no HTTP) selects the proposed ones:
- *one at a time*: 300 selections in turn: the median wall time of one, and the Postgres CPU per
  selection (the pool's one backend, read from /proc);
- *eight at once*: 8 tasks selecting the other 400, each on its own connection: selections per
  second. Every selection of a program waits for its row lock, so this is how many moves one
  program takes.
Before migration 0003 a selection summed the program's projects three times under that lock.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from budget import projects, schemas
from budget.app import all_migrations
from mpe_devstack.postgres import throwaway_database
from mpe_devstack.proc_cpu import cpu_seconds
from mpe_kit import db
from mpe_kit.uow import PostgresUnitOfWork

ONE_AT_A_TIME = 300
AT_ONCE, CONCURRENT = 8, 400
GOVERNMENT = 1_000

PROJECTS = (
    "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, chain_root, program_kind)"
    " select code, $2, 2026, code, 'new', array['SEMI-001'], $3, 0, 0, '2026-03-01', '2027-12-31',"
    " $4, $5, code, 'rnd' from unnest($1::text[]) code"
)


async def _program(pool: db.Pool, code: str, selected: int) -> list[str]:
    """A program of `selected` selected projects; the codes of its proposed ones."""
    proposed = [f"{code}-{i:06}" for i in range(ONE_AT_A_TIME + CONCURRENT)]
    async with pool.acquire() as conn:
        await conn.execute(
            "insert into programs (code, fiscal_year, name_en, name_ko, kind, budget_krw)"
            " values ($1, 2026, $1, $1, 'rnd', $2)",
            code,
            GOVERNMENT * (selected + len(proposed)),
        )
        others = [f"{code}-S{i:06}" for i in range(selected)]
        await conn.execute(PROJECTS, others, code, GOVERNMENT, "selected", GOVERNMENT)
        await conn.execute(PROJECTS, proposed, code, GOVERNMENT, "proposed", 0)
        await conn.execute("analyze projects; analyze programs")
    return proposed


async def _select(pool: db.Pool, code: str) -> float:
    t0 = time.perf_counter()
    await projects.transition_project(
        PostgresUnitOfWork(pool, source="/mpe/bench"),
        code=code,
        data=schemas.ProjectTransition(to="selected"),
        actor="bench",
    )
    return time.perf_counter() - t0


async def main(sizes: list[int]) -> None:
    async with (
        throwaway_database(all_migrations()) as (_, dsn),
        await db.create_pool(dsn, min_size=1, max_size=1) as one,
    ):
        async with one.acquire() as conn:
            await conn.execute("insert into fiscal_years (year, envelope_krw) values (2026, 0)")
            backend = await conn.fetchval("select pg_backend_pid()")
        for n in sizes:
            codes = await _program(one, f"P{n}", n)
            cpu0 = cpu_seconds(backend)
            walls = [await _select(one, c) for c in codes[:ONE_AT_A_TIME]]
            cpu = (cpu_seconds(backend) - cpu0) / ONE_AT_A_TIME
            async with await db.create_pool(dsn, min_size=AT_ONCE, max_size=AT_ONCE) as many:
                rest = codes[ONE_AT_A_TIME : ONE_AT_A_TIME + CONCURRENT]
                t0 = time.perf_counter()
                await asyncio.gather(*(_lane(many, rest[lane::AT_ONCE]) for lane in range(AT_ONCE)))
                rate = CONCURRENT / (time.perf_counter() - t0)
            print(
                f"a program with {n:,} selected projects: one selection"
                f" {statistics.median(walls) * 1000:.2f} ms (median), {cpu * 1000:.2f} ms of"
                f" Postgres CPU; {AT_ONCE} at once: {rate:,.0f} selections/s",
                flush=True,
            )


async def _lane(pool: db.Pool, codes: list[str]) -> None:
    for code in codes:
        await _select(pool, code)


if __name__ == "__main__":
    chosen = sys.argv[1] if len(sys.argv) > 1 else "0,1000,10000"
    asyncio.run(main([int(s) for s in chosen.split(",")]))
