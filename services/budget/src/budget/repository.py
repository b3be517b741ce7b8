"""All of the budget service's SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from mpe_kit.db import Conn
from mpe_kit.pagination import keyset_after

PROGRAM_COLS = (
    "p.code, p.fiscal_year, p.name_en, p.name_ko, p.kind, p.track, p.budget_krw, p.themes, p.version, p.committed_krw,"
    " coalesce((select sum(disbursed_krw) from projects j where j.program_code = p.code), 0)::bigint as disbursed_krw"
)
PROJECT_COLS = (
    "code, program_code, fiscal_year, title, kind, continues, technology_codes, lead_firm_brn, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, disbursed_krw, history, version,"
    " chain_root, participants, program_kind, track, selected_on, lead_firm_size, lead_firm_region"
)

# fiscal years


async def fiscal_year(conn: Conn, year: int, *, for_update: bool = False) -> asyncpg.Record | None:
    """A fiscal year's row."""
    lock = " for update" if for_update else ""
    return await conn.fetchrow(
        f"select year, envelope_krw, version from fiscal_years where year = $1{lock}", year
    )


async def upsert_fiscal_year(conn: Conn, year: int, envelope: int) -> asyncpg.Record:
    """Set a year's envelope, bumping its version."""
    row = await conn.fetchrow(
        "insert into fiscal_years (year, envelope_krw) values ($1, $2) on conflict (year) do update"
        " set envelope_krw = excluded.envelope_krw, version = fiscal_years.version + 1, updated_at = now()"
        " returning year, envelope_krw, version",
        year,
        envelope,
    )
    assert row is not None
    return row


async def year_sums(conn: Conn, year: int) -> tuple[int, int, int]:
    """(programmed, committed, disbursed) of a year."""
    row = await conn.fetchrow(
        "select coalesce(sum(budget_krw), 0)::bigint as programmed, coalesce(sum(committed_krw), 0)::bigint as committed,"
        " coalesce((select sum(disbursed_krw) from projects where fiscal_year = $1), 0)::bigint as disbursed"
        " from programs where fiscal_year = $1",
        year,
    )
    assert row is not None
    return int(row["programmed"]), int(row["committed"]), int(row["disbursed"])


# programs


async def insert_program(conn: Conn, p: dict[str, Any]) -> bool:
    """Insert a program; False if its code is taken."""
    row = await conn.fetchrow(
        "insert into programs (code, fiscal_year, name_en, name_ko, kind, track, budget_krw)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict (code) do nothing returning code",
        p["code"],
        p["fiscal_year"],
        p["name_en"],
        p["name_ko"],
        p["kind"],
        p["track"],
        p["budget_krw"],
    )
    return row is not None


async def program(conn: Conn, code: str, *, for_update: bool = False) -> asyncpg.Record | None:
    """One program with its commitment sums; the lock (if asked) is `program_head`'s, on the program's row."""
    if for_update:
        await program_head(conn, code, for_update=True)
    return await conn.fetchrow(f"select {PROGRAM_COLS} from programs p where p.code = $1", code)


async def set_themes(conn: Conn, code: str, themes: list[dict[str, Any]]) -> None:
    """Replace a program's themes and bump its version."""
    await conn.execute(
        "update programs set themes = $2, version = version + 1, updated_at = now() where code = $1",
        code,
        themes,
    )


async def list_programs(
    conn: Conn, *, year: int | None, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Programs by code, after a keyset position."""
    return await conn.fetch(
        f"select {PROGRAM_COLS} from programs p where ($1::int is null or p.fiscal_year = $1)"
        f" and {keyset_after(('p.code', '$2', 'text'))} order by p.code limit $3",
        year,
        after,
        limit,
    )


async def program_head(conn: Conn, code: str, *, for_update: bool = False) -> asyncpg.Record | None:
    """A program's own row without the paid sum, which is added up over its projects.

    Its `committed_krw` is kept on the row by the projects' trigger (migration 0003), so locking
    it and reading it cost the same for a program of ten projects or of ten thousand. The lock
    is `for no key update`: it serializes the program's moves, but lets proposals into the
    program (whose foreign key takes a key-share lock on this row) go on meanwhile.
    """
    lock = " for no key update" if for_update else ""
    return await conn.fetchrow(
        f"select code, fiscal_year, kind, track, budget_krw, committed_krw from programs where code = $1{lock}",
        code,
    )


# projects


async def insert_project(conn: Conn, p: dict[str, Any]) -> bool:
    """Insert a proposed project; False if its code is taken."""
    row = await conn.fetchrow(
        "insert into projects (code, program_code, fiscal_year, title, kind, continues, technology_codes,"
        " lead_firm_brn, government_krw, private_cash_krw, private_in_kind_krw, start_on, end_on, status,"
        " chain_root, participants, program_kind, track, lead_firm_size, lead_firm_region)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'proposed',"
        " $14, $15, $16, $17, $18, $19) on conflict (code) do nothing returning code",
        p["code"],
        p["program_code"],
        p["fiscal_year"],
        p["title"],
        p["kind"],
        p["continues"],
        p["technology_codes"],
        p["lead_firm_brn"],
        p["government_krw"],
        p["private_cash_krw"],
        p["private_in_kind_krw"],
        p["start_on"],
        p["end_on"],
        p["chain_root"],
        p["participants"],
        p["program_kind"],
        p["track"],
        p["lead_firm_size"],
        p["lead_firm_region"],
    )
    return row is not None


async def year_planned(conn: Conn, year: int) -> int:
    """What the year's projects plan together: government, private cash and in kind."""
    total = await conn.fetchval(
        "select coalesce(sum(government_krw + private_cash_krw + private_in_kind_krw), 0)"
        " from projects where fiscal_year = $1",
        year,
    )
    return int(total)


async def continued_by(conn: Conn, code: str) -> str | None:
    """The next year's record of a project, if one continues it."""
    found: str | None = await conn.fetchval("select code from projects where continues = $1", code)
    return found


async def projects_by_code(conn: Conn, codes: list[str]) -> list[asyncpg.Record]:
    """Projects with their program's kind, for the codes that exist."""
    return await conn.fetch(
        "select j.code, j.fiscal_year, p.kind as program_kind from projects j"
        " join programs p on p.code = j.program_code where j.code = any($1::text[])",
        codes,
    )


async def project(conn: Conn, code: str, *, for_update: bool = False) -> asyncpg.Record | None:
    """One project, optionally row-locked."""
    lock = " for update" if for_update else ""
    return await conn.fetchrow(f"select {PROJECT_COLS} from projects where code = $1{lock}", code)


@dataclass(frozen=True, kw_only=True)
class Selection:
    """What a project keeps of its selection day: the day, and its lead firm as it stood then."""

    on: date
    lead_firm_size: str | None
    lead_firm_region: str | None


async def update_project_state(
    conn: Conn,
    code: str,
    *,
    status: str,
    committed: int,
    disbursed: int,
    step: dict[str, Any] | None,
    selection: Selection | None = None,
) -> asyncpg.Record:
    """Store a project's status and money, appending a history step and its selection if given."""
    row = await conn.fetchrow(
        "update projects set status = $2, committed_krw = $3, disbursed_krw = $4,"
        " history = case when $5::jsonb is null then history else history || jsonb_build_array($5::jsonb) end,"
        " selected_on = case when $6 then $7::date else selected_on end,"
        " lead_firm_size = case when $6 then $8::text else lead_firm_size end,"
        " lead_firm_region = case when $6 then $9::text else lead_firm_region end,"
        f" version = version + 1, updated_at = now() where code = $1 returning {PROJECT_COLS}",
        code,
        status,
        committed,
        disbursed,
        step,
        selection is not None,
        selection.on if selection else None,
        selection.lead_firm_size if selection else None,
        selection.lead_firm_region if selection else None,
    )
    assert row is not None
    return row


@dataclass(frozen=True, kw_only=True)
class ProjectFilter:
    """Filters of the project list."""

    program: str | None = None
    technology: str | None = None
    firm: str | None = None
    status: str | None = None
    fiscal_year: int | None = None
    participant: str | None = None
    partner_country: str | None = None


async def list_projects(
    conn: Conn, f: ProjectFilter, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Projects by code matching the filter, after a keyset position."""
    return await conn.fetch(
        f"select {PROJECT_COLS} from projects where ($1::text is null or program_code = $1)"
        " and ($2::text is null or technology_codes @> array[$2::text])"
        " and ($3::text is null or lead_firm_brn = $3) and ($4::text is null or status = $4)"
        f" and ($5::int is null or fiscal_year = $5) and {keyset_after(('code', '$6', 'text'))}"
        " and ($8::jsonb is null or participants @> $8::jsonb)"
        " and ($9::jsonb is null or participants @> $9::jsonb)"
        " order by code limit $7",
        f.program,
        f.technology,
        f.firm,
        f.status,
        f.fiscal_year,
        after,
        limit,
        [{"brn": f.participant}] if f.participant else None,
        [{"country": f.partner_country}] if f.partner_country else None,
    )


# disbursements


async def insert_disbursement(
    conn: Conn, *, project_code: str, amount: int, paid_on: date, by: str
) -> asyncpg.Record:
    """Record a payment."""
    row = await conn.fetchrow(
        "insert into disbursements (id, project_code, amount_krw, paid_on, created_by) values ($1, $2, $3, $4, $5)"
        " returning id, project_code, amount_krw, paid_on, created_at, created_by",
        uuid.uuid4(),
        project_code,
        amount,
        paid_on,
        by,
    )
    assert row is not None
    return row


async def disbursements(
    conn: Conn, project_code: str, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """A project's payments in the order they were recorded, after a keyset position."""
    at, did = after if after else (None, None)
    return await conn.fetch(
        "select id, project_code, amount_krw, paid_on, created_at from disbursements where project_code = $1"
        f" and {keyset_after(('created_at', '$2', 'timestamptz'), ('id', '$3', 'uuid'))}"
        " order by created_at, id limit $4",
        project_code,
        at,
        did,
        limit,
    )


# idempotency keys


async def try_lock_key(conn: Conn, key: str) -> bool:
    """Hold the key until this transaction ends; False if another request holds it now."""
    locked: bool = await conn.fetchval("select pg_try_advisory_xact_lock(hashtextextended($1, 7))", key)
    return locked


async def stored_answer(conn: Conn, key: str) -> asyncpg.Record | None:
    """The first answer given to a key, if any, with the transaction that wrote it (null if none)."""
    return await conn.fetchrow(
        "select request_hash, status_code, response, write_txid, write_events from idempotency_keys"
        " where key = $1",
        key,
    )


async def store_answer(
    conn: Conn, key: str, *, request_hash: str, status_code: int, response: dict[str, Any], events: int
) -> None:
    """Keep a key's first answer, to replay it; with this transaction's id when it adds `events`."""
    await conn.execute(
        "insert into idempotency_keys (key, request_hash, state, status_code, response, write_txid, write_events)"
        " values ($1, $2, 'done', $3, $4, case when $5 > 0 then pg_current_xact_id()::text::bigint end,"
        " nullif($5, 0))",
        key,
        request_hash,
        status_code,
        response,
        events,
    )


# the firm replica


async def firm(conn: Conn, brn: str) -> asyncpg.Record | None:
    """The replicated size class and region of a firm."""
    return await conn.fetchrow("select size, region from firm_replica where brn = $1", brn)


async def upsert_firm(
    conn: Conn, *, brn: str, size: str, size_since: date, region: str | None, version: int
) -> None:
    """Keep the replica's row at the newest version."""
    await conn.execute(
        "insert into firm_replica (brn, size, size_since, region, version) values ($1, $2, $3, $4, $5)"
        " on conflict (brn) do update set size = excluded.size, size_since = excluded.size_since,"
        " region = excluded.region, version = excluded.version, updated_at = now()"
        " where firm_replica.version < excluded.version",
        brn,
        size,
        size_since,
        region,
        version,
    )
