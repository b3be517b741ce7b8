"""`make demo-scale SCALE=10|100|300`: the demo at scale, written straight into the services' tables.

Through the REST APIs 100× would take hours (each write is a request, a transaction and an
outbox row). So this writes each service's final rows and every event its handlers would have
written into its outbox, with COPY, in one transaction per service; the relays publish the
outbox as they would any write's, and the gateway projects it. The events are built with the
event models (mpe_devstack.scale_data), so they validate like any other.

It runs against a `make dev` stack (the same MPE_DEV_* settings) whose demo is loaded, and
refuses to run twice on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from mpe_devstack.dev import DevSettings
from mpe_devstack.scale_data import Outgoing, ScaleData, ServiceData, generate
from mpe_events.registry import source

JSONB = {"history", "participants", "themes", "payload"}


def _value(name: str, value: Any) -> Any:
    # The loader's connections have no JSON codec: jsonb goes over as text.
    return json.dumps(value, ensure_ascii=False, default=str) if name in JSONB else value


def _outbox_rows(events: Iterable[Outgoing], service: str) -> list[tuple[Any, ...]]:
    rows = []
    for e in events:
        traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
        payload = e.data.model_dump(mode="json")
        rows.append(
            (
                uuid.uuid4(),
                e.event_type.topic.name,
                e.subject,
                e.event_type.type,
                source(service),
                e.subject,
                e.at,
                traceparent,
                _value("payload", payload),
            )
        )
    return rows


OUTBOX_COLUMNS = ("id", "topic", "key", "type", "source", "subject", "time", "traceparent", "payload")


async def _copy(conn: asyncpg.Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    records = [tuple(_value(c, r[c]) for c in columns) for r in rows]
    await conn.copy_records_to_table(table, records=records, columns=columns)


async def write_service(dsn: str, service: str, data: ServiceData, *, upsert: Sequence[str] = ()) -> int:
    """Copy one service's rows and outbox in one transaction; the number of outbox rows.

    Tables in `upsert` may already hold some of the rows (the demo's fiscal years): they go
    through a temporary table and replace what is there.
    """
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for table, rows in data.rows.items():
                if table in upsert:
                    await conn.execute(f"create temp table incoming (like {table}) on commit drop")
                    await _copy(conn, "incoming", rows)
                    cols = list(rows[0])
                    key = cols[0]
                    sets = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
                    await conn.execute(
                        f"insert into {table} ({', '.join(cols)}) select {', '.join(cols)} from incoming"
                        f" on conflict ({key}) do update set {sets}"
                    )
                else:
                    await _copy(conn, table, rows)
            records = _outbox_rows(data.outbox, service)
            await conn.copy_records_to_table("outbox", records=records, columns=OUTBOX_COLUMNS)
        return len(records)
    finally:
        await conn.close()


async def _envelopes(dsn: str) -> dict[int, tuple[int, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select year, envelope_krw, version from fiscal_years")
    finally:
        await conn.close()
    return {r["year"]: (r["envelope_krw"], r["version"]) for r in rows}


async def _loaded(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("select exists (select from firms where brn like '9%')"))
    finally:
        await conn.close()


async def load(scale: int, *, firms_dsn: str, budget_dsn: str) -> tuple[ScaleData, dict[str, int]]:
    """Generate the dataset and write it into the firms and budget databases; events per service."""
    if await _loaded(firms_dsn):
        raise SystemExit("the scale data is already loaded here (firms 9xxxxxxxxx exist); `make clean` first")
    data = generate(scale, envelopes=await _envelopes(budget_dsn))
    counts = {"firms": await write_service(firms_dsn, "firms", data.firms)}
    counts["budget"] = await write_service(budget_dsn, "budget", data.budget, upsert=("fiscal_years",))
    return data, counts


async def _wait_published(dsns: Sequence[str], timeout_s: float) -> float:
    """Seconds until every outbox row is published (the relays' share of the pipeline)."""
    started = time.monotonic()
    conns = [await asyncpg.connect(d) for d in dsns]
    try:
        while time.monotonic() - started < timeout_s:
            left = [await c.fetchval("select count(*) from outbox where published_at is null") for c in conns]
            if not any(left):
                return time.monotonic() - started
            await asyncio.sleep(1)
    finally:
        for c in conns:
            await c.close()
    raise SystemExit(f"outbox rows still unpublished after {timeout_s:.0f} s")


def main() -> None:
    """Load the scale dataset into a running `make dev` stack and wait for the relays."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=int,
        default=10,
        help="1, 10, 100 or more (firms 100×, yearly records 200×; about 5,500 events per unit:"
        " 300 makes 1.64 million events, and takes up to about 9 GB of memory while it builds them)",
    )
    parser.add_argument("--no-wait", action="store_true", help="Do not wait for the relays to publish.")
    args = parser.parse_args()
    settings = DevSettings()
    # The owner roles `make dev` creates (trust authentication on 127.0.0.1).
    firms_dsn, budget_dsn = (
        f"postgresql://{s}@127.0.0.1:{settings.pg_port}/{s}" for s in ("firms", "budget")
    )
    started = time.monotonic()
    data, counts = asyncio.run(load(args.scale, firms_dsn=firms_dsn, budget_dsn=budget_dsn))
    sizes = {table: len(rows) for part in (data.firms, data.budget) for table, rows in part.rows.items()}
    print(
        f"scale {args.scale}: {', '.join(f'{n:,} {t}' for t, n in sizes.items())};"
        f" {sum(counts.values()):,} events in the outboxes ({time.monotonic() - started:.1f}s)"
    )
    if not args.no_wait:
        took = asyncio.run(_wait_published([firms_dsn, budget_dsn], timeout_s=3600))
        print(f"the relays published them all in {took:.1f}s")


if __name__ == "__main__":
    main()
