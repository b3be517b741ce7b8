"""All of the gateway's SQL: read-model queries and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from mpe_kit.db import Conn

TECH_COLS = "code, industry_code, kind, name_en, name_ko, description, status, listed_on, retired_on, version"


@dataclass(frozen=True, kw_only=True)
class TechnologyFilter:
    """Filters of the technologies connection."""

    industry: str | None = None
    kind: str | None = None
    status: str | None = None
    as_of: date | None = None
    search: str | None = None


def _where(f: TechnologyFilter) -> tuple[str, list[object]]:
    pattern = None
    if f.search:
        escaped = f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    sql = (
        " where ($1::text is null or industry_code = $1)"
        " and ($2::text is null or kind = $2)"
        " and ($3::text is null or status = $3)"
        " and ($4::date is null or (listed_on <= $4 and (retired_on is null or $4 < retired_on)))"
        " and ($5::text is null or name_en ilike $5 or name_ko ilike $5)"
    )
    return sql, [f.industry, f.kind, f.status, f.as_of, pattern]


async def technologies_page(
    conn: Conn, f: TechnologyFilter, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Technologies by code after a keyset position."""
    where, args = _where(f)
    return await conn.fetch(
        f"select {TECH_COLS} from technologies{where}"
        " and ($6::text is null or code > $6) order by code limit $7",
        *args,
        after,
        limit,
    )


async def technologies_count(conn: Conn, f: TechnologyFilter) -> int:
    """How many technologies match the filter."""
    where, args = _where(f)
    n = await conn.fetchval(f"select count(*) from technologies{where}", *args)
    return int(n)


async def technology(conn: Conn, code: str) -> asyncpg.Record | None:
    """One technology."""
    return await conn.fetchrow(f"select {TECH_COLS} from technologies where code = $1", code)


async def industries(conn: Conn) -> list[asyncpg.Record]:
    """Every industry, by code."""
    return await conn.fetch("select code, name_en, name_ko from industries order by code")


async def industries_by_code(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """The industries with these codes."""
    return await conn.fetch(
        "select code, name_en, name_ko from industries where code = any($1::text[])", list(codes)
    )


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


async def freshness(conn: Conn) -> list[asyncpg.Record]:
    """Per source topic: last event time, when last applied, and the lag last measured."""
    return await conn.fetch(
        "select topic, max(last_event_time) as last_event_time, max(applied_at) as last_applied_at,"
        " coalesce(sum(greatest(highwater - next_offset, 0)), 0)::bigint as lag"
        " from source_positions group by topic order by topic"
    )


# API keys


async def insert_key(conn: Conn, *, id: uuid.UUID, agency: str, scopes: list[str], key_hash: bytes) -> None:
    """Store a new key's hash."""
    await conn.execute(
        "insert into api_keys (id, agency, scopes, key_hash) values ($1, $2, $3, $4)",
        id,
        agency,
        scopes,
        key_hash,
    )


async def key_by_hash(conn: Conn, key_hash: bytes) -> asyncpg.Record | None:
    """The live key with this hash."""
    return await conn.fetchrow(
        "select id, agency, scopes from api_keys where key_hash = $1 and revoked_at is null", key_hash
    )


async def list_keys(conn: Conn) -> list[asyncpg.Record]:
    """Every key, without secrets."""
    return await conn.fetch(
        "select id, agency, scopes, created_at, revoked_at from api_keys order by created_at"
    )


async def revoke_key(conn: Conn, id: uuid.UUID) -> bool:
    """Revoke a key; False if there is no live key with that id."""
    row = await conn.fetchrow(
        "update api_keys set revoked_at = now() where id = $1 and revoked_at is null returning id", id
    )
    return row is not None
