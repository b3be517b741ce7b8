"""The inbox's SQL: which events a consumer has applied (see `consumer`), claiming, forgetting and pruning."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from mpe_kit.db import Conn, without_statement_timeout


async def claim(
    conn: Conn, *, consumer: str, ids: Sequence[uuid.UUID], topics: Sequence[str]
) -> set[uuid.UUID]:
    """Record these events as applied by `consumer`, in one statement; the ids it had not applied before."""
    if not ids:
        return set()
    rows = await conn.fetch(
        "insert into inbox (consumer, event_id, topic)"
        " select $1, id, topic from unnest($2::uuid[], $3::text[]) as e (id, topic)"
        " on conflict do nothing returning event_id",
        consumer,
        list(ids),
        list(topics),
    )
    return {r["event_id"] for r in rows}


async def forget(conn: Conn, *, consumer: str, topics: Sequence[str]) -> int:
    """Drop a consumer's inbox rows for these (logical) topics, so re-read events apply again."""
    result = await conn.execute(
        "delete from inbox where consumer = $1 and topic = any($2::text[])", consumer, list(topics)
    )
    return int(result.split()[-1])


async def prune(conn: Conn, *, consumer: str, older_than: timedelta) -> int:
    """Drop a consumer's inbox rows applied longer ago than `older_than`.

    Without a statement timeout, whatever the connection's: a decade's rows take as long as
    they take, and a prune stopped half-way would start again from the beginning.
    """
    async with conn.transaction():
        await without_statement_timeout(conn)
        result = await conn.execute(
            "delete from inbox where consumer = $1 and applied_at < now() - $2::interval",
            consumer,
            older_than,
        )
    return int(result.split()[-1])
