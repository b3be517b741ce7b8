"""All of the catalog's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from catalog.domain import Technology
from mpe_kit.db import Conn
from mpe_kit.pagination import keyset_after
from mpe_kit.text import contains_pattern

_TECH_COLS = (
    "code, industry_code, kind, name_en, name_ko, description, status, listed_on, retired_on,"
    " version, revision_id"
)


def _tech(row: asyncpg.Record) -> Technology:
    return Technology(**{k: row[k] for k in _TECH_COLS.replace(" ", "").split(",")})


# industries


async def insert_industry(conn: Conn, *, code: str, name_en: str, name_ko: str) -> bool:
    """Insert an industry; False if the code is taken."""
    row = await conn.fetchrow(
        "insert into industries (code, name_en, name_ko) values ($1, $2, $3)"
        " on conflict (code) do nothing returning code",
        code,
        name_en,
        name_ko,
    )
    return row is not None


async def get_industry(conn: Conn, code: str) -> asyncpg.Record | None:
    """One industry."""
    return await conn.fetchrow("select code, name_en, name_ko, version from industries where code = $1", code)


async def list_industries(conn: Conn, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    """Industries by code, after a keyset position."""
    return await conn.fetch(
        "select code, name_en, name_ko, version from industries"
        f" where {keyset_after(('code', '$1', 'text'))} order by code limit $2",
        after,
        limit,
    )


async def existing_industries(conn: Conn, codes: Iterable[str]) -> set[str]:
    """Which of the codes are industries."""
    rows = await conn.fetch("select code from industries where code = any($1::text[])", list(set(codes)))
    return {r["code"] for r in rows}


# technologies


async def technologies_for_update(conn: Conn, codes: Iterable[str]) -> dict[str, Technology]:
    """The technologies with these codes, row-locked until the transaction ends."""
    rows = await conn.fetch(
        f"select {_TECH_COLS} from technologies where code = any($1::text[]) order by code for update",
        sorted(set(codes)),
    )
    return {r["code"]: _tech(r) for r in rows}


async def last_changed_on(conn: Conn, codes: Iterable[str]) -> dict[str, date]:
    """The day each technology's latest change took effect (its listing, an amend, its retirement)."""
    rows = await conn.fetch(
        "select technology_code, max(effective_on) as day from technology_history"
        " where technology_code = any($1::text[]) group by technology_code",
        sorted(set(codes)),
    )
    return {r["technology_code"]: r["day"] for r in rows}


async def technologies_by_code(conn: Conn, codes: Iterable[str]) -> dict[str, Technology]:
    """The technologies with these codes."""
    rows = await conn.fetch(
        f"select {_TECH_COLS} from technologies where code = any($1::text[])", list(set(codes))
    )
    return {r["code"]: _tech(r) for r in rows}


async def insert_technology(conn: Conn, t: Technology) -> None:
    """Insert a new technology."""
    await conn.execute(
        f"insert into technologies ({_TECH_COLS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        t.code,
        t.industry_code,
        t.kind,
        t.name_en,
        t.name_ko,
        t.description,
        t.status,
        t.listed_on,
        t.retired_on,
        t.version,
        t.revision_id,
    )


async def update_technology(conn: Conn, t: Technology) -> None:
    """Store a technology's new state."""
    await conn.execute(
        "update technologies set industry_code = $2, kind = $3, name_en = $4, name_ko = $5,"
        " description = $6, status = $7, listed_on = $8, retired_on = $9, version = $10,"
        " revision_id = $11, updated_at = now() where code = $1",
        t.code,
        t.industry_code,
        t.kind,
        t.name_en,
        t.name_ko,
        t.description,
        t.status,
        t.listed_on,
        t.retired_on,
        t.version,
        t.revision_id,
    )


async def insert_history(
    conn: Conn, *, code: str, revision_id: uuid.UUID, op: str, effective_on: date, version: int
) -> None:
    """Record that a revision touched a technology."""
    await conn.execute(
        "insert into technology_history (technology_code, revision_id, op, effective_on, version)"
        " values ($1, $2, $3, $4, $5)",
        code,
        revision_id,
        op,
        effective_on,
        version,
    )


@dataclass(frozen=True, kw_only=True)
class TechnologyFilter:
    """Filters of the technology list."""

    industry: str | None = None
    kind: str | None = None
    status: str | None = None
    q: str | None = None
    as_of: date | None = None


async def list_technologies(
    conn: Conn, f: TechnologyFilter, *, after: str | None, limit: int
) -> list[Technology]:
    """Technologies by code matching the filter, after a keyset position."""
    pattern = contains_pattern(f.q)
    rows = await conn.fetch(
        f"select {_TECH_COLS} from technologies"
        " where ($1::text is null or industry_code = $1)"
        " and ($2::text is null or kind = $2)"
        " and ($3::text is null or status = $3)"
        " and ($4::text is null or name_en ilike $4 or name_ko ilike $4)"
        " and ($5::date is null or (listed_on <= $5 and (retired_on is null or $5 < retired_on)))"
        f" and {keyset_after(('code', '$6', 'text'))}"
        " order by code limit $7",
        f.industry,
        f.kind,
        f.status,
        pattern,
        f.as_of,
        after,
        limit,
    )
    return [_tech(r) for r in rows]


async def technology_history(conn: Conn, code: str) -> list[asyncpg.Record]:
    """The revisions that touched a technology, oldest first."""
    return await conn.fetch(
        "select h.revision_id, r.title, h.op, h.effective_on, h.version"
        " from technology_history h join revisions r on r.id = h.revision_id"
        " where h.technology_code = $1 order by h.version",
        code,
    )


# revisions

_REV_COLS = (
    "id, title, decided_on, effective_on, status, changes, version, created_by, created_at,"
    " published_by, published_at, amended_before"
)


async def insert_revision(
    conn: Conn,
    *,
    id: uuid.UUID,
    title: str,
    decided_on: date,
    effective_on: date,
    changes: list[dict[str, Any]],
    created_by: str,
) -> asyncpg.Record:
    """Insert a draft revision."""
    row = await conn.fetchrow(
        "insert into revisions (id, title, decided_on, effective_on, status, changes, created_by)"
        f" values ($1, $2, $3, $4, 'draft', $5, $6) returning {_REV_COLS}",
        id,
        title,
        decided_on,
        effective_on,
        changes,
        created_by,
    )
    assert row is not None
    return row


async def get_revision(conn: Conn, id: uuid.UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    """One revision, optionally row-locked."""
    lock = " for update" if for_update else ""
    return await conn.fetchrow(f"select {_REV_COLS} from revisions where id = $1{lock}", id)


async def update_revision(
    conn: Conn,
    id: uuid.UUID,
    *,
    title: str,
    decided_on: date,
    effective_on: date,
    changes: list[dict[str, Any]],
) -> asyncpg.Record:
    """Store a draft's edits."""
    row = await conn.fetchrow(
        "update revisions set title = $2, decided_on = $3, effective_on = $4, changes = $5,"
        f" version = version + 1, updated_at = now() where id = $1 returning {_REV_COLS}",
        id,
        title,
        decided_on,
        effective_on,
        changes,
    )
    assert row is not None
    return row


async def mark_published(
    conn: Conn, id: uuid.UUID, *, by: str, amended_before: dict[str, dict[str, str]]
) -> asyncpg.Record:
    """Mark a revision published, keeping what its amendments replaced."""
    row = await conn.fetchrow(
        "update revisions set status = 'published', published_by = $2, published_at = now(),"
        f" amended_before = $3, version = version + 1, updated_at = now() where id = $1 returning {_REV_COLS}",
        id,
        by,
        amended_before,
    )
    assert row is not None
    return row


async def delete_revision(conn: Conn, id: uuid.UUID) -> None:
    """Delete a draft."""
    await conn.execute("delete from revisions where id = $1", id)


async def list_revisions(
    conn: Conn, *, status: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """Revisions in creation order, after a keyset position."""
    after_at, after_id = after if after else (None, None)
    return await conn.fetch(
        f"select {_REV_COLS} from revisions"
        " where ($1::text is null or status = $1)"
        f" and {keyset_after(('created_at', '$2', 'timestamptz'), ('id', '$3', 'uuid'))}"
        " order by created_at, id limit $4",
        status,
        after_at,
        after_id,
        limit,
    )
