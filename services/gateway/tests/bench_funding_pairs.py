"""Benchmark (not a test): what the technology links' and sums' triggers cost the projection.

    uv run --frozen python services/gateway/tests/bench_funding_pairs.py [SIZES]

Starts a throwaway Postgres with the gateway's migrations, then, reading the Postgres backend's
CPU time from /proc (Linux, same host):
- *one pair*: puts N projects on one technology and fiscal year (a pair), then pays one project
  at a time (an update of its `disbursed_krw`, as a `project.disbursed` event is projected) 500
  times, round the pair: CPU per payment, for each N of SIZES (default 10,100,1000,10000);
- *batches*, on a database of their own: 20,000 projects over 200 technologies (one to three
  each) and ten fiscal years, written 500 rows a statement as the projector's batches write them
  (one upsert): inserted, then selected (status and money), then paid twice: CPU per phase.
Migration 0011 recomputed each touched pair's sums from all its projects; 0012 moves them by
what the statement changed. Each figure is measured twice: with the triggers of migration 0013
(the sums per fiscal year and primary technology) and with them disabled, to show what they add.
"""

from __future__ import annotations

import asyncio
import random
import sys

from gateway.app import all_migrations
from mpe_devstack.postgres import throwaway_database
from mpe_devstack.proc_cpu import cpu_seconds
from mpe_kit import db, migrations

ROUNDS = 500
PROJECTS = (
    "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, disbursed_krw, version)"
    " select code, 'MP', 2026, code, 'new', array['SEMI-001'], 100, 0, 0, '2026-01-01', '2026-12-31',"
    " 'active', 5, 1, 1 from unnest($1::text[]) code"
)


BATCH = 500
UPSERT = (
    "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, disbursed_krw, version)"
    " select r.code, 'MP', r.y, r.code, 'new', string_to_array(r.c, ','), 100, 0, 0, '2023-01-01',"
    " '2023-12-31', r.s, r.m, r.d, 1"
    " from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) r(code, y, c, s, m, d)"
    " on conflict (code) do update set status = excluded.status, committed_krw = excluded.committed_krw,"
    " disbursed_krw = excluded.disbursed_krw"
)


YEAR_SUMS_TRIGGERS = ("projects_year_sums_insert", "projects_year_sums_update", "projects_year_sums_delete")


async def year_sums(conn: db.Conn, on: bool) -> str:
    """Enables or disables migration 0013's triggers; the label to print."""
    for trigger in YEAR_SUMS_TRIGGERS:
        await conn.execute(f"alter table projects {'enable' if on else 'disable'} trigger {trigger}")
    return "with the year sums" if on else "without them"


async def main(sizes: list[int]) -> None:
    async with throwaway_database(all_migrations()) as (server, dsn):
        conn = await db.connect(dsn)
        backend = await conn.fetchval("select pg_backend_pid()")
        for n in sizes:
            for on in (True, False):
                label = await year_sums(conn, on)
                await conn.execute("truncate projects")
                codes = [f"P-{i:06}" for i in range(n)]
                await conn.execute(PROJECTS, codes)
                await conn.execute("analyze projects; analyze project_technologies")
                cpu0 = cpu_seconds(backend)
                for i in range(ROUNDS):
                    await conn.execute(
                        "update projects set disbursed_krw = disbursed_krw + 1 where code = $1", codes[i % n]
                    )
                per = (cpu_seconds(backend) - cpu0) / ROUNDS
                print(f"a pair of {n:,} projects, {label}: {per * 1000:.2f} ms of Postgres CPU per payment")
        await conn.close()
        # The batches on a database of their own, each phase on a fresh connection: a plan the
        # old triggers' functions cached for the one big pair must not weigh on them.
        rnd = random.Random(7)
        techs = [f"T-{i:03}" for i in range(200)]
        rows = [
            (f"P-{i:05}", 2017 + i % 10, ",".join(rnd.sample(techs, rnd.randint(1, 3))))
            for i in range(20_000)
        ]
        for on in (True, False):
            name = f"batches_{'on' if on else 'off'}"
            server.create_database(name)
            await migrations.migrate(server.dsn(name), all_migrations())
            for phase, status, committed, disbursed in (
                ("insert", "proposed", 0, 0),
                ("select", "selected", 1000, 0),
                ("pay", "active", 1000, 100),
                ("pay again", "active", 1000, 200),
            ):
                conn = await db.connect(server.dsn(name))
                label = await year_sums(conn, on)
                backend = await conn.fetchval("select pg_backend_pid()")
                cpu0 = cpu_seconds(backend)
                for b in range(0, len(rows), BATCH):
                    chunk = rows[b : b + BATCH]
                    async with conn.transaction():
                        await conn.execute(
                            UPSERT,
                            [c for c, _, _ in chunk],
                            [y for _, y, _ in chunk],
                            [t for _, _, t in chunk],
                            [status] * len(chunk),
                            [committed] * len(chunk),
                            [disbursed] * len(chunk),
                        )
                spent = cpu_seconds(backend) - cpu0
                print(
                    f"batches, {phase}, {label}: {spent:.2f} s of Postgres CPU for 20,000 projects,"
                    f" {BATCH} a statement"
                )
                await conn.close()


if __name__ == "__main__":
    chosen = sys.argv[1] if len(sys.argv) > 1 else "10,100,1000,10000"
    asyncio.run(main([int(s) for s in chosen.split(",")]))
