"""`keyset_after`: the pages it gives, and a generic plan that starts each page at its cursor."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_cursor, encode_cursor, keyset_after

CODES = [f"K-{n:04}" for n in range(2000)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _tables(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "create table coded (code text primary key);"
        " create table timed (created_at timestamptz not null, id uuid not null, primary key (created_at, id));"
        " create table dated (paid_on date not null, id uuid not null, primary key (paid_on, id))"
    )
    await conn.executemany("insert into coded values ($1)", [(c,) for c in CODES])
    # Pairs share a time and a day, so the second column decides within them.
    timed = [(T0 + timedelta(seconds=n // 2), uuid.UUID(int=n + 1)) for n in range(2000)]
    await conn.executemany("insert into timed values ($1, $2)", timed)
    await conn.executemany("insert into dated values ($1, $2)", [(t.date(), i) for t, i in timed])
    await conn.execute("analyze")


async def _pages(
    conn: asyncpg.Connection, table: str, keys: list[tuple[str, str]], size: int
) -> list[list[object]]:
    """Every page of `table` in key order, each starting after the last row of the one before."""
    columns = [c for c, _ in keys]
    condition = keyset_after(*((c, f"${n}", t) for n, (c, t) in enumerate(keys, 1)))
    statement = await conn.prepare(
        f"select {', '.join(columns)} from {table} where {condition}"
        f" order by {', '.join(columns)} limit ${len(keys) + 1}"
    )
    pages: list[list[object]] = []
    cursor: list[object] = [None] * len(keys)
    while rows := await statement.fetch(*cursor, size):
        pages.append([tuple(r) if len(keys) > 1 else r[0] for r in rows])
        cursor = list(rows[-1])
    return pages


async def test_the_pages_cover_every_row_once_in_order(kit_db: str) -> None:
    conn = await asyncpg.connect(kit_db)
    try:
        await _tables(conn)
        coded = await _pages(conn, "coded", [("code", "text")], 300)
        assert [len(p) for p in coded] == [300] * 6 + [200]
        assert [c for p in coded for c in p] == CODES
        for table, keys in (
            ("timed", [("created_at", "timestamptz"), ("id", "uuid")]),
            ("dated", [("paid_on", "date"), ("id", "uuid")]),
        ):
            rows = [r for p in await _pages(conn, table, keys, 7) for r in p]
            expected = await conn.fetch(f"select {keys[0][0]}, id from {table} order by 1, 2")
            assert rows == [tuple(r) for r in expected], table
            assert len(rows) == 2000
    finally:
        await conn.close()


async def test_a_generic_plan_starts_the_index_range_at_the_cursor(kit_db: str) -> None:
    conn = await asyncpg.connect(kit_db)
    try:
        await _tables(conn)
        await conn.execute("set plan_cache_mode = force_generic_plan")
        cases = [
            ("coded", "code", "text", [("code", "$1", "text")], ["K-1500"]),
            (
                "timed",
                "created_at, id",
                "timestamptz, uuid",
                [("created_at", "$1", "timestamptz"), ("id", "$2", "uuid")],
                [T0 + timedelta(seconds=750), uuid.UUID(int=1501)],
            ),
            (
                "dated",
                "paid_on, id",
                "date, uuid",
                [("paid_on", "$1", "date"), ("id", "$2", "uuid")],
                [date(2026, 1, 1), uuid.UUID(int=1501)],
            ),
        ]
        for table, columns, types, keys, after in cases:
            sql = f"select {columns} from {table} where {keyset_after(*keys)} order by {columns} limit 10"
            await conn.execute(f"prepare page_of_{table}({types}) as {sql}")
            for values in (after, [None] * len(after)):
                literals = ", ".join("null" if v is None else f"'{v}'" for v in values)
                plan = "\n".join(
                    r[0]
                    for r in await conn.fetch(
                        f"explain (analyze, costs off, timing off) execute page_of_{table}({literals})"
                    )
                )
                assert "Index Cond" in plan, plan
                assert "Filter" not in plan, plan
                # The page reads its own rows, not every row before the cursor.
                assert "rows=10 loops=1" in plan.splitlines()[1], plan
    finally:
        await conn.close()


@pytest.mark.unit
@pytest.mark.parametrize(
    "values",
    [["K-\x00"], ["K-\ud800"], [2**63], [-(2**63) - 1], [["nested"]], [{"k": 1}]],
    ids=["nul", "half-a-surrogate-pair", "past-int64", "below-int64", "a-list", "an-object"],
)
def test_a_cursor_with_a_value_postgres_refuses_is_not_ours(values: list[object]) -> None:
    # Found by a review: such a hand-made cursor reached the database as an error (a 500).
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    with pytest.raises(Invalid, match="cursor"):
        decode_cursor(cursor, arity=1)


@pytest.mark.unit
def test_a_cursor_with_the_edge_values_postgres_takes_is_ours() -> None:
    for values in (["K-0001 한글"], [2**63 - 1], [-(2**63)]):
        assert decode_cursor(encode_cursor(values), arity=1) == values


@pytest.mark.unit
def test_a_cursor_nested_past_the_parsers_depth_is_not_ours() -> None:
    # Found by a review: json's RecursionError was not caught (a 500).
    deep = "[" * 5000 + "]" * 5000
    cursor = base64.urlsafe_b64encode(deep.encode()).decode().rstrip("=")
    with pytest.raises(Invalid, match="cursor"):
        decode_cursor(cursor, arity=1)
