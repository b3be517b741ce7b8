"""Benchmark (not a test): the compiled statement of each bench query, alone, on the demo read model.

    uv run --frozen python services/gateway/tests/bench_statements.py [program_overview,spending]

Starts a throwaway Postgres, projects the whole demo (tests/demo_events.py) in one transaction,
then runs each query's compiled statement (deploy/bench/queries/<name>.graphql) 200 times, the
queries interleaved round by round so that a noisy machine weighs on each alike, and prints the
minimum, the 10th percentile and the median of the wall time of one execution (planning,
execution and transfer of the JSON). No gateway, no HTTP: what one statement costs Postgres.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from demo_events import demo_events  # this directory: the script runs from it
from graphql import parse

from gateway.app import all_migrations
from gateway.projector.handlers import HANDLERS
from gateway.read.compiled import CompiledQuery, compile_operation, inspect_operation
from mpe_devstack.ports import free_port
from mpe_devstack.postgres import PostgresServer
from mpe_kit import db, migrations

QUERIES = Path(__file__).resolve().parents[3] / "deploy" / "bench" / "queries"
SCOPES = frozenset({"catalog:read", "firms:read", "firms:financials", "budget:read"})
ROUNDS = 200


async def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(Path(tmp) / "pg", port=free_port(), settings={"fsync": "off"})
        server.start()
        try:
            server.create_database("bench")
            dsn = server.dsn("bench")
            await migrations.migrate(dsn, all_migrations())
            conn = await db.connect(dsn)
            async with conn.transaction():
                for e in demo_events():
                    await HANDLERS[e.envelope.type](conn, e)
            await conn.execute("analyze")
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
            await conn.close()
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main((sys.argv[1] if len(sys.argv) > 1 else "program_overview,spending").split(",")))
