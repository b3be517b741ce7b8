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


def _like(text: str | None) -> str | None:
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: TechnologyFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or industry_code = $1)"
        " and ($2::text is null or kind = $2)"
        " and ($3::text is null or status = $3)"
        " and ($4::date is null or (listed_on <= $4 and (retired_on is null or $4 < retired_on)))"
        " and ($5::text is null or name_en ilike $5 or name_ko ilike $5)"
    )
    return sql, [f.industry, f.kind, f.status, f.as_of, _like(f.search)]


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


async def technologies_by_code(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """The technologies with these codes."""
    return await conn.fetch(f"select {TECH_COLS} from technologies where code = any($1::text[])", list(codes))


# Firms and designations

FIRM_COLS = (
    "brn, brn_display, name_en, name_ko, size, size_since, region, mpe_sales_ratio, technology_codes, version"
)
DESIGNATION_COLS = (
    "id, brn, kind, cohort, technology_codes, status, applied_on, designated_on, valid_until, history"
)


@dataclass(frozen=True, kw_only=True)
class FirmFilter:
    """Filters of the firms connection; kind and status apply to one and the same designation."""

    size: str | None = None
    region: str | None = None
    technology: str | None = None
    designation_kind: str | None = None
    designation_status: str | None = None
    search: str | None = None


def _firm_where(f: FirmFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or size = $1)"
        " and ($2::text is null or region = $2)"
        " and ($3::text is null or technology_codes @> array[$3::text])"
        " and (($4::text is null and $5::text is null) or exists (select 1 from designations d"
        " where d.brn = firms.brn and ($4::text is null or d.kind = $4) and ($5::text is null or d.status = $5)))"
        " and ($6::text is null or name_en ilike $6 or name_ko ilike $6)"
    )
    return sql, [f.size, f.region, f.technology, f.designation_kind, f.designation_status, _like(f.search)]


async def firms_page(conn: Conn, f: FirmFilter, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    """Firms by BRN after a keyset position."""
    where, args = _firm_where(f)
    return await conn.fetch(
        f"select {FIRM_COLS} from firms{where} and ($7::text is null or brn > $7) order by brn limit $8",
        *args,
        after,
        limit,
    )


async def firms_count(conn: Conn, f: FirmFilter) -> int:
    """How many firms match the filter."""
    where, args = _firm_where(f)
    n = await conn.fetchval(f"select count(*) from firms{where}", *args)
    return int(n)


async def firms_by_brn(conn: Conn, brns: Sequence[str]) -> list[asyncpg.Record]:
    """The firms with these BRNs."""
    return await conn.fetch(f"select {FIRM_COLS} from firms where brn = any($1::text[])", list(brns))


async def designations_of_firms(conn: Conn, brns: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` designations of each firm, in the order they were applied for."""
    return await conn.fetch(
        f"select {DESIGNATION_COLS} from (select {DESIGNATION_COLS},"
        " row_number() over (partition by brn order by applied_on, id) as n"
        " from designations where brn = any($1::text[])) d"
        " where n <= $2 order by brn, applied_on, id",
        list(brns),
        limit,
    )


async def firms_of_technologies(conn: Conn, codes: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` firms by BRN for each technology code, as rows (technology, firm columns...)."""
    return await conn.fetch(
        f"select t.code as technology, f.* from unnest($1::text[]) as t(code) cross join lateral"
        f" (select {FIRM_COLS} from firms where technology_codes @> array[t.code] order by brn limit $2) f",
        list(codes),
        limit,
    )


async def designations_of_technologies(
    conn: Conn, codes: Sequence[str], *, status: str | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` designations in applied order for each technology code, optionally of one status."""
    return await conn.fetch(
        f"select t.code as technology, d.* from unnest($1::text[]) as t(code) cross join lateral"
        f" (select {DESIGNATION_COLS} from designations where technology_codes @> array[t.code]"
        " and ($2::text is null or status = $2) order by applied_on, id limit $3) d",
        list(codes),
        status,
        limit,
    )


@dataclass(frozen=True, kw_only=True)
class Progress:
    """Leading firms designated up to a day, those active on it, and designated per cohort."""

    designated: int
    active: int
    by_cohort: list[tuple[int | None, int]]


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
    return Progress(
        designated=int(totals["designated"]) if totals else 0,
        active=int(totals["active"]) if totals else 0,
        by_cohort=[(r["cohort"], int(r["designated"])) for r in rows if not r["total"]],
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
