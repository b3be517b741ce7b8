"""Benchmark (not a test): headline query 1 through strawberry and through the compiled statement.

    uv run --frozen python services/gateway/tests/bench_compiled.py

Starts a throwaway Postgres, fills the read model with the whole demo dataset (deploy/demo/,
turned into events and applied through the projection handlers), then times, in this process:
strawberry's `schema.execute` plus `json.dumps`, and `compile_operation` plus `CompiledQuery.run`,
one request at a time; then the compiled path under an open-loop load of 200 requests/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from demo_events import demo_events  # this directory: the script runs from it
from graphql import parse

from gateway.app import all_migrations
from gateway.partners.keys import Partner
from gateway.projector.handlers import HANDLERS
from gateway.read.compiled import CompiledQuery, compile_operation, inspect_operation
from gateway.read.schema import Context, schema
from mpe_devstack.postgres import throwaway_database
from mpe_kit import db

SCOPES = frozenset({"catalog:read", "firms:read", "firms:financials", "budget:read"})

QUERY_1 = """
query Page($after: String) {
  technologies(first: 50, after: $after) {
    totalCount
    edges {
      cursor
      node {
        code nameEn nameKo kind status listedOn
        industry { code nameEn nameKo }
        funding(fiscalYear: 2023) { committedKrw disbursedKrw projectCount }
        firms(first: 10) { brn brnDisplay nameEn nameKo size }
        designations(status: DESIGNATED, first: 10) {
          kind cohort status designatedOn validUntil firm { brn nameEn nameKo }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def summary(name: str, samples: list[float]) -> str:
    s = sorted(samples)
    p = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return (
        f"{name}: n={len(s)} median {statistics.median(s) * 1000:.2f} ms, p90 {p(0.9):.2f}, p99 {p(0.99):.2f}"
    )


async def main() -> None:
    async with throwaway_database(all_migrations()) as (_, dsn):
        conn = await db.connect(dsn)
        for e in demo_events():
            async with conn.transaction():
                await HANDLERS[e.envelope.type](conn, e)
        counts = await conn.fetchrow(
            "select (select count(*) from technologies) t, (select count(*) from firms) f,"
            " (select count(*) from designations) d, (select count(*) from projects) p"
        )
        print(f"read model: {dict(counts)}")
        await conn.execute("analyze")
        await conn.close()
        await bench(dsn)


async def bench(dsn: str) -> None:
    pool = await db.create_pool(dsn, min_size=4, max_size=10)
    partner = Partner(key_id=uuid.uuid4(), agency="bench", scopes=SCOPES)
    document = parse(QUERY_1)

    async def strawberry_once() -> bytes:
        result = await schema.execute(
            QUERY_1, context_value=Context(pool=pool, partner=partner, max_page=100), operation_name="Page"
        )
        assert result.errors is None, result.errors
        return json.dumps({"data": result.data}).encode()

    # As the /graphql stage keeps it per app: the operation inspected once, compiled per call.
    operation = inspect_operation(document, "Page")

    async def compiled_once() -> bytes:
        compiled = compile_operation(operation, {}, scopes=SCOPES, max_page=100)
        assert isinstance(compiled, CompiledQuery)
        async with pool.acquire() as c:
            return b'{"data":' + await compiled.run(c) + b"}"

    a = json.loads(await strawberry_once())
    b = json.loads(await compiled_once())
    assert a == b
    fields = sum(1 for _ in _leaves(a))
    print(f"query 1: {len(a['data']['technologies']['edges'])} technologies, {fields} leaf values")

    for name, once, n in (("strawberry", strawberry_once, 200), ("compiled", compiled_once, 2000)):
        for _ in range(20):
            await once()
        samples = []
        cpu0 = time.process_time()
        for _ in range(n):
            t0 = time.perf_counter()
            await once()
            samples.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0) / n * 1000
        print(summary(f"{name}, one at a time", samples) + f"; Python CPU {cpu:.2f} ms/request")

    samples = []
    t0 = time.perf_counter()
    for _ in range(2000):
        compile_operation(operation, {}, scopes=SCOPES, max_page=100)
    print(f"compile_operation, cached: {(time.perf_counter() - t0) / 2000 * 1e6:.1f} µs")

    for rate, seconds in ((200, 10), (400, 5)):
        latencies = await open_loop(compiled_once, rate, seconds)
        print(summary(f"compiled, open loop {rate}/s for {seconds} s", latencies))
    await pool.close()


async def open_loop(once: Callable[[], Awaitable[bytes]], rate: int, seconds: int) -> list[float]:
    """Start `rate` requests a second whatever the answers' pace; each request's latency."""
    latencies: list[float] = []

    async def timed() -> None:
        t = time.perf_counter()
        await once()
        latencies.append(time.perf_counter() - t)

    tasks = []
    start = time.perf_counter()
    for i in range(rate * seconds):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed()))
    await asyncio.gather(*tasks)
    return latencies


def _leaves(value: Any) -> Any:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


if __name__ == "__main__":
    asyncio.run(main())
