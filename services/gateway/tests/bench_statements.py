"""Benchmark (not a test): the compiled statement of each bench query, alone, on the demo read model.

    uv run --frozen python services/gateway/tests/bench_statements.py [program_overview,spending] [SCALE]

Starts a throwaway Postgres, projects the whole demo (tests/demo_events.py) in one transaction
(with a SCALE, also the last state of every firm, designation, program and project of the
`make demo-scale` data at that scale: mpe_devstack.scale_data, payments left out), then runs each query's compiled statement (deploy/bench/queries/<name>.graphql) 200 times, the
queries interleaved round by round so that a noisy machine weighs on each alike, and prints the
minimum, the 10th percentile and the median of the wall time of one execution (planning,
execution and transfer of the JSON). No gateway, no HTTP: what one statement costs Postgres.
Then the CPU time of one execution, each statement alone: the Postgres backend's (read from
/proc, so Linux and the same host) and this process's. With BENCH_EXPLAIN=<file>, each
statement's EXPLAIN (ANALYZE, BUFFERS) is written to the file. The connection is set up as the
gateway's are (`GatewaySettings.db_server_settings`): `GATEWAY_DB_RANDOM_PAGE_COST=4` measures the
statements as Postgres's default planner costs would plan them.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from demo_events import _event, demo_events  # this directory: the script runs from it
from graphql import parse

from gateway.app import all_migrations
from gateway.projector.handlers import HANDLERS
from gateway.read.compiled import CompiledQuery, compile_operation, inspect_operation
from gateway.settings import GatewaySettings
from mpe_devstack.postgres import throwaway_database
from mpe_devstack.proc_cpu import cpu_seconds
from mpe_devstack.scale_data import generate
from mpe_kit import db
from mpe_kit.consumer import Event

QUERIES = Path(__file__).resolve().parents[3] / "deploy" / "bench" / "queries"
SCOPES = frozenset({"catalog:read", "firms:read", "firms:financials", "budget:read"})
ROUNDS = 200


def scale_events(scale: int) -> list[Event]:
    """The last event of each aggregate of the scale data (each carries the whole state), payments left out."""
    last = {}
    for e in generate(scale).events():
        if e.event_type.type != "kr.mpe.budget.disbursement.paid.v1":
            last[(e.event_type.topic.name, e.subject)] = e
    return [_event(e.event_type.type, e.data, e.subject) for e in last.values()]


async def main(names: list[str], scale: int) -> None:
    async with throwaway_database(all_migrations()) as (_, dsn):
        conn = await db.connect(dsn)
        for name, value in GatewaySettings().db_server_settings().items():  # as the gateway's pool
            await conn.execute("select set_config($1, $2, false)", name, value)
        print(f"planner: random_page_cost {await conn.fetchval('show random_page_cost')}")
        events = [*demo_events(), *(scale_events(scale) if scale else [])]
        backend = await conn.fetchval("select pg_backend_pid()")
        t0, pg0 = time.perf_counter(), cpu_seconds(backend)
        async with conn.transaction():
            for e in events:
                await HANDLERS[e.envelope.type](conn, e)
        print(
            f"projected {len(events)} events in {time.perf_counter() - t0:.1f} s,"
            f" Postgres CPU {cpu_seconds(backend) - pg0:.1f} s"
        )
        await conn.execute("vacuum analyze")  # as autovacuum leaves a live read model
        statements: dict[str, CompiledQuery] = {}
        for name in names:
            operation = inspect_operation(parse((QUERIES / f"{name}.graphql").read_text()), None)
            compiled = compile_operation(operation, {}, scopes=SCOPES, max_page=100)
            assert isinstance(compiled, CompiledQuery), (name, compiled)
            statements[name] = compiled
        samples: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(ROUNDS):
            for name, compiled in statements.items():
                t0 = time.perf_counter()
                await compiled.run(conn)
                samples[name].append((time.perf_counter() - t0) * 1000)
        for name, s in samples.items():
            s.sort()
            print(
                f"{name}: min {s[0]:.2f} ms, p10 {s[len(s) // 10]:.2f} ms, median {statistics.median(s):.2f} ms"
            )
        # CPU time rather than wall time, which a busy machine inflates: the Postgres backend's
        # (its /proc stat, same host) and this process's, per execution, each statement alone.
        for name, compiled in statements.items():
            pg0, py0 = cpu_seconds(backend), time.process_time()
            for _ in range(ROUNDS):
                await compiled.run(conn)
            pg, py = (cpu_seconds(backend) - pg0) / ROUNDS, (time.process_time() - py0) / ROUNDS
            print(f"{name}: CPU per execution: Postgres {pg * 1000:.2f} ms, client {py * 1000:.2f} ms")
        if plans := os.environ.get("BENCH_EXPLAIN"):
            # One EXPLAIN (ANALYZE, BUFFERS) per statement, after the timed rounds (warm cache).
            text = ""
            for name, compiled in statements.items():
                rows = await conn.fetch(f"explain (analyze, buffers) {compiled.sql}", *compiled.values)
                text += f"-- {name}\n" + "\n".join(r[0] for r in rows) + "\n\n"
            await asyncio.to_thread(Path(plans).write_text, text, encoding="utf-8")
        await conn.close()


if __name__ == "__main__":
    names = (sys.argv[1] if len(sys.argv) > 1 else "program_overview,spending").split(",")
    asyncio.run(main(names, int(sys.argv[2]) if len(sys.argv) > 2 else 0))
