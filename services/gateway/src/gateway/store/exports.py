"""Bulk export cursors."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass

import asyncpg

from gateway.store.budget import PROGRAM_COLS, PROJECT_COLS, counted
from gateway.store.catalog import TECH_COLS
from gateway.store.firms import DESIGNATION_COLS, FIRM_COLS
from mpe_kit.db import Conn

# Bulk export: every row of one entity in key order, read through a server-side cursor. A cursor
# lives only inside a transaction; the caller opens it (REPEATABLE READ, READ ONLY) so that the
# whole export, and the freshness read before it, see one snapshot. Each function applies the
# filters that apply to its entity (the caller refuses the others).


@dataclass(frozen=True, kw_only=True)
class ExportFilter:
    """An export's filters; None is no filter."""

    fiscal_year: int | None = None
    industry: str | None = None
    program: str | None = None


def export_technologies(conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every technology (of an industry), by code."""
    return conn.cursor(
        f"select {TECH_COLS} from technologies where ($1::text is null or industry_code = $1) order by code",
        f.industry,
        prefetch=prefetch,
    )


def export_firms(conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every firm, by BRN."""
    return conn.cursor(f"select {FIRM_COLS} from firms order by brn", prefetch=prefetch)


def export_designations(conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every designation with its history, by id."""
    return conn.cursor(f"select {DESIGNATION_COLS} from designations order by id", prefetch=prefetch)


def export_programs(conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every program (of a fiscal year) by code, with the sums over its projects that Program's fields give."""
    return conn.cursor(
        f"select {PROGRAM_COLS}, t.committed_krw, t.disbursed_krw, t.project_count"
        " from programs p cross join lateral"
        " (select coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(*) filter (where {counted('j')}) as project_count"
        " from projects j where j.program_code = p.code) t where ($1::int is null or p.fiscal_year = $1)"
        " order by code",
        f.fiscal_year,
        prefetch=prefetch,
    )


def export_projects(conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every project (of a fiscal year, a program, an industry: its primary technology's), by code."""
    return conn.cursor(
        f"select {PROJECT_COLS} from projects where ($1::int is null or fiscal_year = $1)"
        " and ($2::text is null or program_code = $2) and ($3::text is null or exists (select 1"
        " from technologies t where t.code = projects.primary_technology and t.industry_code = $3))"
        " order by code",
        f.fiscal_year,
        f.program,
        f.industry,
        prefetch=prefetch,
    )
