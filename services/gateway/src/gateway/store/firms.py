"""Read-model reads of firms and designations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from gateway.read.firms.model import DESIGNATION, FIRM
from mpe_kit.db import Conn
from mpe_kit.pagination import keyset_after
from mpe_kit.regions import region_spellings
from mpe_kit.text import contains_pattern

# Firms and designations

FIRM_COLS = FIRM.select()
DESIGNATION_COLS = DESIGNATION.select()


@dataclass(frozen=True, kw_only=True)
class FirmFilter:
    """Filters of the firms connection; kind and status apply to one and the same designation."""

    size: str | None = None
    region: str | None = None
    technology: str | None = None
    designation_kind: str | None = None
    designation_status: str | None = None
    search: str | None = None


def firm_where(f: FirmFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or size = $1)"
        " and ($2::text[] is null or region = any($2::text[]))"
        " and ($3::text is null or technology_codes @> array[$3::text])"
        " and (($4::text is null and $5::text is null) or exists (select 1 from designations d"
        " where d.brn = firms.brn and ($4::text is null or d.kind = $4) and ($5::text is null or d.status = $5)))"
        " and ($6::text is null or name_en ilike $6 or name_ko ilike $6)"
    )
    return sql, [
        f.size,
        region_spellings(f.region) if f.region is not None else None,
        f.technology,
        f.designation_kind,
        f.designation_status,
        contains_pattern(f.search),
    ]


async def firms_page(conn: Conn, f: FirmFilter, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    """Firms by BRN after a keyset position."""
    where, args = firm_where(f)
    return await conn.fetch(
        f"select {FIRM_COLS} from firms{where} and {keyset_after(('brn', '$7', 'text'))} order by brn limit $8",
        *args,
        after,
        limit,
    )


async def firms_count(conn: Conn, f: FirmFilter) -> int:
    """How many firms match the filter."""
    where, args = firm_where(f)
    n = await conn.fetchval(f"select count(*) from firms{where}", *args)
    return int(n)


@dataclass(frozen=True, kw_only=True)
class Progress:
    """Leading firms designated up to a day, those active on it, and designated per cohort."""

    designated: int
    active: int
    by_cohort: list[tuple[int | None, int]]
    first_by_year: dict[int, int]


async def designation_progress(conn: Conn, as_of: date) -> Progress:
    """Distinct firms with a leading designation made on or before `as_of`, and active on it.

    Active on D: designated_on <= D < valid_until, and D before the revocation or expiry took effect.
    """
    rows = await conn.fetch(
        "select cohort, count(distinct brn) as designated,"
        " count(distinct brn) filter (where (valid_until is null or $1 < valid_until)"
        " and (ended_on is null or $1 < ended_on)) as active,"
        " grouping(cohort) as total"
        " from designations where kind = 'leading' and designated_on is not null and designated_on <= $1"
        " group by grouping sets ((cohort), ()) order by total, cohort nulls last",
        as_of,
    )
    totals = next((r for r in rows if r["total"]), None)
    # Each firm counts in the year of its first leading designation (a firm designated again later
    # is no new leading firm).
    years = await conn.fetch(
        "select extract(year from first)::int as year, count(*) as firms from (select brn, min(designated_on)"
        " as first from designations where kind = 'leading' and designated_on is not null"
        " and designated_on <= $1 group by brn) f group by 1",
        as_of,
    )
    return Progress(
        designated=int(totals["designated"]) if totals else 0,
        active=int(totals["active"]) if totals else 0,
        by_cohort=[(r["cohort"], int(r["designated"])) for r in rows if not r["total"]],
        first_by_year={int(r["year"]): int(r["firms"]) for r in years},
    )


async def touched_designations(
    conn: Conn, codes: list[str], effective_on: date, *, limit: int
) -> list[asyncpg.Record]:
    """Designations naming any of `codes` still pending, or in force on `effective_on` (Revision.touches), by id.

    In force is decided by the dates, as `coverageGaps` decides it: designated on or before the
    day, and neither lapsed (`valid_until`) nor ended (revoked, expired) by then. The current
    status would drop, as time passed, a designation an old revision did reach.
    """
    return await conn.fetch(
        f"select {DESIGNATION_COLS} from designations where technology_codes && $1::text[]"
        " and (status in ('applied', 'under_review') or (designated_on <= $2"
        " and (valid_until is null or $2 < valid_until) and (ended_on is null or $2 < ended_on)))"
        " order by id limit $3",
        codes,
        effective_on,
        limit,
    )
