"""The batched loader queries, written from the read model's description (`gateway.read.describe`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from gateway.read.describe import Entity, Relation
from mpe_kit.db import Conn

# The column naming the parent of each child row in `children`.
PARENT = "parent_key"


async def rows_by_key(conn: Conn, entity: Entity, keys: Sequence[str]) -> list[asyncpg.Record]:
    """The entity's rows with these keys (for a UUID key, text that is no UUID matches nothing)."""
    wanted: list[object] = list(keys)
    if entity.key_type == "uuid":
        wanted = []
        for k in keys:
            try:
                wanted.append(uuid.UUID(k))
            except ValueError:
                continue
    return await conn.fetch(
        f"select {entity.select()} from {entity.table} where {entity.key} = any($1::{entity.key_type}[])",
        wanted,
    )


async def children(
    conn: Conn,
    relation: Relation,
    parents: Sequence[str],
    *,
    status: str | None,
    limit: int,
    day: date | None = None,
) -> list[asyncpg.Record]:
    """Up to `limit` children of each parent in the relation's order, as rows (parent_key, child columns...)."""
    values: list[object] = [list(parents), limit]
    status_sql = None
    if relation.status:
        values.append(status)
        status_sql = f"${len(values)}"
    valid_on = None
    if relation.valid is not None:
        values.append(day)
        valid_on = f"${len(values)}"
    return await conn.fetch(
        f"select t.k as {PARENT}, c.* from unnest($1::text[]) as t(k) cross join lateral"
        f" ({relation.rows('t.k', '$2', status_sql, valid_on)}) c",
        *values,
    )
