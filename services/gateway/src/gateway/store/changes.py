"""The projector's bookkeeping and the change log: source positions, freshness, write progress, changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from mpe_kit.db import Conn


async def freshness(conn: Conn) -> list[asyncpg.Record]:
    """Per source topic: last event time, when last applied, the lag last measured, and since
    when every partition is known complete (null until each one has been)."""
    return await conn.fetch(
        "select topic, max(last_event_time) as last_event_time, max(applied_at) as last_applied_at,"
        " coalesce(sum(greatest(highwater - next_offset, 0)), 0)::bigint as lag,"
        f" {_CAUGHT_UP} as caught_up_at"
        " from source_positions group by topic order by topic"
    )


_CAUGHT_UP = "case when bool_or(caught_up_at is null) then null else min(caught_up_at) end"


async def data_as_of(conn: Conn) -> datetime | None:
    """The oldest time any source partition was last seen complete; None if one never was."""
    value: datetime | None = await conn.fetchval(f"select {_CAUGHT_UP} from source_positions")
    return value


async def record_caught_up(conn: Conn, rows: Sequence[tuple[str, int, int, datetime]]) -> None:
    """Note (topic, partition, position, when) each partition was seen complete; times only grow."""
    await conn.executemany(
        "insert into source_positions (topic, partition, next_offset, caught_up_at)"
        " values ($1, $2, $3, $4) on conflict (topic, partition) do update"
        " set caught_up_at = greatest(source_positions.caught_up_at, excluded.caught_up_at)",
        rows,
    )


async def record_writes(conn: Conn, rows: Sequence[tuple[str, int, int]]) -> None:
    """Count (source, txid, events) applied of each write."""
    await conn.executemany(
        "insert into write_progress (source, txid, events) values ($1, $2, $3)"
        " on conflict (source, txid) do update"
        " set events = write_progress.events + excluded.events, updated_at = now()",
        rows,
    )


async def write_counts(conn: Conn, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Events applied so far of each (source, txid)."""
    rows = await conn.fetch(
        "select w.source, w.txid, w.events from write_progress w"
        " join unnest($1::text[], $2::bigint[]) as k(source, txid) using (source, txid)",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["source"], r["txid"]): r["events"] for r in rows}


async def prune_writes(conn: Conn, older_than: timedelta) -> None:
    """Forget the counts of writes last touched longer ago than `older_than`."""
    await conn.execute("delete from write_progress where updated_at < now() - $1::interval", older_than)


async def record_positions(conn: Conn, rows: list[tuple[str, int, int, int | None, datetime | None]]) -> None:
    """Store (topic, partition, next offset, high watermark, last event time) per partition."""
    await conn.executemany(
        "insert into source_positions (topic, partition, next_offset, highwater, last_event_time)"
        " values ($1, $2, $3, $4, $5) on conflict (topic, partition) do update set"
        " next_offset = excluded.next_offset, highwater = excluded.highwater,"
        " last_event_time = coalesce(excluded.last_event_time, source_positions.last_event_time),"
        " applied_at = now()",
        rows,
    )


# The change log (migrations/0004_changes.sql)

CHANGES_CHANNEL = "gateway_changes"
# The transaction-level advisory lock every appender holds from its first append to its commit.
CHANGES_LOCK = 0x6D70_6563_6867_6C6F  # "mpechglo"
# Every projector batch holds this lock shared for its whole transaction, from its first
# statement; a rebuild's switch takes it exclusively. So the switch reads how far the live
# projector got with no batch of it half done, and no batch spans the switch (one whose first
# statements went to the old model and its last to the new).
SWITCH_LOCK = 0x6D70_6573_7769_7463  # "mpeswitc"


async def hold_off_a_switch(conn: Conn) -> None:
    """The projector's begin hook: share SWITCH_LOCK, and run without a statement timeout, until this transaction ends.

    A batch stopped by `GATEWAY_DB_STATEMENT_TIMEOUT_S` could only be tried again, as long as
    the first time; the reads' bound is not the projector's. Set in the same statement, at no
    extra round trip; that statement itself (the wait for a switch) keeps the bound.
    """
    await conn.execute(
        "select pg_advisory_xact_lock_shared($1), set_config('statement_timeout', '0', true)", SWITCH_LOCK
    )


# The highest seq this transaction appended, as a transaction-local setting: a savepoint rolled
# back takes its value with it, so the batch notifies only what it commits.
_LAST_SEQ = "gateway.changes_last_seq"
CHANGE_COLS = "seq, entity_type, entity_key, version, applied_at"


async def append_changes(conn: Conn, rows: Sequence[tuple[str, str, int, uuid.UUID]]) -> int | None:
    """Append changed entities (type, key, version, event id) to the change log in this order; the last seq.

    The appenders' lock is taken first, in a statement of its own, and held to the commit: the
    insert's statement then sees every appender that committed before (READ COMMITTED), so
    max(seq) + n numbers the rows on, rows commit in seq order, and a rolled-back transaction
    leaves no gap. applied_at is read once the lock is held, so it rises with seq.
    """
    if not rows:
        return None
    await conn.execute("select pg_advisory_xact_lock($1)", CHANGES_LOCK)
    seq = await conn.fetchval(
        "with appended as (insert into changes (seq, entity_type, entity_key, version, applied_at, event_id)"
        " select last.seq + r.n, r.entity_type, r.entity_key, r.version, clock_timestamp(), r.event_id"
        " from (select coalesce(max(seq), 0) as seq from changes) as last,"
        " unnest($1::text[], $2::text[], $3::bigint[], $4::uuid[])"
        " with ordinality as r (entity_type, entity_key, version, event_id, n)"
        " returning seq)"
        f" select set_config('{_LAST_SEQ}', max(seq)::text, true)::bigint from appended",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    return int(seq)


async def notify_changes(conn: Conn) -> int | None:
    """NOTIFY the highest seq this transaction appended (delivered at commit); None if it appended none."""
    row = await conn.fetchrow(
        f"select pg_notify('{CHANGES_CHANNEL}', s), s::bigint as seq"
        f" from (select nullif(current_setting('{_LAST_SEQ}', true), '') as s) as last where s is not null"
    )
    return None if row is None else int(row["seq"])


async def changes_watermark(conn: Conn) -> int:
    """The highest seq committed, 0 for an empty log."""
    seq = await conn.fetchval("select coalesce(max(seq), 0) from changes")
    return int(seq)


async def changes_page(
    conn: Conn, *, types: Sequence[str], since: datetime, after: int, limit: int
) -> list[asyncpg.Record]:
    """Changes of these types in seq order, from the first applied at or after `since`, after seq `after`."""
    return await conn.fetch(
        f"select {CHANGE_COLS} from changes where entity_type = any($1::text[]) and seq > $2"
        " and seq >= (select seq from changes where applied_at >= $3 order by applied_at, seq limit 1)"
        " order by seq limit $4",
        list(types),
        after,
        since,
        limit,
    )


async def changes_between(
    conn: Conn, *, types: Sequence[str], after: int, upto: int, limit: int
) -> list[asyncpg.Record]:
    """Changes of these types with after < seq <= upto, in seq order."""
    return await conn.fetch(
        f"select {CHANGE_COLS} from changes where entity_type = any($1::text[]) and seq > $2 and seq <= $3"
        " order by seq limit $4",
        list(types),
        after,
        upto,
        limit,
    )
