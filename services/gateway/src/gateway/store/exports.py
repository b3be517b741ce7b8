"""Bulk export cursors."""

from __future__ import annotations

from collections.abc import AsyncIterable

import asyncpg

from gateway.store.budget import PROGRAM_COLS, PROJECT_COLS, counted
from gateway.store.catalog import TECH_COLS
from gateway.store.firms import DESIGNATION_COLS, FIRM_COLS
from mpe_kit.db import Conn

# Bulk export: every row of one entity in key order, read through a server-side cursor. A cursor
# lives only inside a transaction; the caller opens it (REPEATABLE READ, READ ONLY) so that the
# whole export, and the freshness read before it, see one snapshot.


def export_technologies(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every technology, by code."""
    return conn.cursor(f"select {TECH_COLS} from technologies order by code", prefetch=prefetch)


def export_firms(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every firm, by BRN."""
    return conn.cursor(f"select {FIRM_COLS} from firms order by brn", prefetch=prefetch)


def export_designations(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every designation with its history, by id."""
    return conn.cursor(f"select {DESIGNATION_COLS} from designations order by id", prefetch=prefetch)


def export_programs(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every program by code, with the sums over its projects that Program's fields give."""
    return conn.cursor(
        f"select {PROGRAM_COLS}, t.committed_krw, t.disbursed_krw, t.project_count"
        " from programs p cross join lateral"
        " (select coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(*) filter (where {counted('j')}) as project_count"
        " from projects j where j.program_code = p.code) t order by code",
        prefetch=prefetch,
    )


def export_projects(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every project, by code."""
    return conn.cursor(f"select {PROJECT_COLS} from projects order by code", prefetch=prefetch)
