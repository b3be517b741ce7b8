"""Read-model reads of the catalog: industries and technologies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from gateway.read.catalog.model import TECHNOLOGY
from mpe_kit.db import Conn
from mpe_kit.pagination import keyset_after
from mpe_kit.text import contains_pattern

TECH_COLS = TECHNOLOGY.select()


@dataclass(frozen=True, kw_only=True)
class TechnologyFilter:
    """Filters of the technologies connection."""

    industry: str | None = None
    kind: str | None = None
    status: str | None = None
    as_of: date | None = None
    search: str | None = None


def technology_where(f: TechnologyFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or industry_code = $1)"
        " and ($2::text is null or kind = $2)"
        " and ($3::text is null or status = $3)"
        " and ($4::date is null or (listed_on <= $4 and (retired_on is null or $4 < retired_on)))"
        " and ($5::text is null or name_en ilike $5 or name_ko ilike $5)"
    )
    return sql, [f.industry, f.kind, f.status, f.as_of, contains_pattern(f.search)]


async def technologies_page(
    conn: Conn, f: TechnologyFilter, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Technologies by code after a keyset position."""
    where, args = technology_where(f)
    return await conn.fetch(
        f"select {TECH_COLS} from technologies{where}"
        f" and {keyset_after(('code', '$6', 'text'))} order by code limit $7",
        *args,
        after,
        limit,
    )


async def technologies_count(conn: Conn, f: TechnologyFilter) -> int:
    """How many technologies match the filter."""
    where, args = technology_where(f)
    n = await conn.fetchval(f"select count(*) from technologies{where}", *args)
    return int(n)


async def technology(conn: Conn, code: str) -> asyncpg.Record | None:
    """One technology."""
    return await conn.fetchrow(f"select {TECH_COLS} from technologies where code = $1", code)


REVISION_COLS = "id, title, decided_on, effective_on, published_at, changes"


async def revisions_page(
    conn: Conn, *, after: tuple[date, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """Published revisions in (effective_on, id) order after a keyset position."""
    day, rid = after if after is not None else (None, None)
    return await conn.fetch(
        f"select {REVISION_COLS} from revisions where status = 'published'"
        f" and {keyset_after(('effective_on', '$1', 'date'), ('id', '$2', 'uuid'))} order by effective_on, id limit $3",
        day,
        rid,
        limit,
    )


async def revisions_count(conn: Conn) -> int:
    """How many revisions are published."""
    return int(await conn.fetchval("select count(*) from revisions where status = 'published'"))


async def revision(conn: Conn, rid: uuid.UUID) -> asyncpg.Record | None:
    """One published revision."""
    return await conn.fetchrow(
        f"select {REVISION_COLS} from revisions where id = $1 and status = 'published'", rid
    )


async def industries(conn: Conn) -> list[asyncpg.Record]:
    """Every industry, by code."""
    return await conn.fetch("select code, name_en, name_ko from industries order by code")


async def technology_counts(conn: Conn, as_of: date | None) -> dict[str, int]:
    """Technologies on the list per industry, today (as_of null) or on a day."""
    rows = await conn.fetch(
        "select industry_code, count(*) as n from technologies"
        " where case when $1::date is null then status = 'listed'"
        " else listed_on <= $1 and (retired_on is null or $1 < retired_on) end"
        " group by industry_code",
        as_of,
    )
    return {r["industry_code"]: int(r["n"]) for r in rows}
