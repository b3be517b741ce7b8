"""All of the firms service's SQL."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from firms.domain import Confirmation, Designation, Transition
from mpe_kit.db import Conn
from mpe_kit.pagination import keyset_after
from mpe_kit.regions import region_spellings
from mpe_kit.text import contains_pattern

FIRM_COLS = "brn, name_en, name_ko, size, size_since, region, mpe_sales_ratio, technology_codes, version"
DESIGNATION_COLS = "id, brn, kind, cohort, technology_codes, status, applied_on, designated_on, valid_until, history, version"

# firms


async def insert_firm(conn: Conn, f: dict[str, Any]) -> bool:
    """Insert a firm at version 1; False if the BRN is taken."""
    row = await conn.fetchrow(
        "insert into firms (brn, name_en, name_ko, size, size_since, region, mpe_sales_ratio, technology_codes)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (brn) do nothing returning brn",
        f["brn"],
        f["name_en"],
        f["name_ko"],
        f["size"],
        f["size_since"],
        f["region"],
        f["mpe_sales_ratio"],
        f["technology_codes"],
    )
    return row is not None


async def get_firm(conn: Conn, brn: str, *, for_update: bool = False) -> asyncpg.Record | None:
    """One firm, optionally row-locked."""
    lock = " for update" if for_update else ""
    return await conn.fetchrow(f"select {FIRM_COLS} from firms where brn = $1{lock}", brn)


async def update_firm(conn: Conn, brn: str, fields: dict[str, Any]) -> asyncpg.Record:
    """Set some fields and bump the version."""
    sets = [f"{name} = ${i}" for i, name in enumerate(fields, start=2)]
    row = await conn.fetchrow(
        f"update firms set {', '.join([*sets, 'version = version + 1', 'updated_at = now()'])}"
        f" where brn = $1 returning {FIRM_COLS}",
        brn,
        *fields.values(),
    )
    assert row is not None
    return row


@dataclass(frozen=True, kw_only=True)
class FirmFilter:
    """Filters of the firm list."""

    size: str | None = None
    region: str | None = None
    technology: str | None = None
    q: str | None = None


async def list_firms(conn: Conn, f: FirmFilter, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    """Firms by BRN matching the filter, after a keyset position."""
    return await conn.fetch(
        f"select {FIRM_COLS} from firms"
        " where ($1::text is null or size = $1) and ($2::text[] is null or region = any($2::text[]))"
        " and ($3::text is null or technology_codes @> array[$3::text])"
        " and ($4::text is null or name_en ilike $4 or name_ko ilike $4)"
        f" and {keyset_after(('brn', '$5', 'text'))} order by brn limit $6",
        f.size,
        region_spellings(f.region) if f.region is not None else None,
        f.technology,
        contains_pattern(f.q),
        after,
        limit,
    )


# confirmations


async def insert_confirmation(conn: Conn, brn: str, c: Confirmation) -> uuid.UUID:
    """Store a confirmation."""
    cid = uuid.uuid4()
    await conn.execute(
        "insert into confirmations (id, brn, technology_code, issued_on, valid_until) values ($1, $2, $3, $4, $5)",
        cid,
        brn,
        c.technology_code,
        c.issued_on,
        c.valid_until,
    )
    return cid


async def confirmations(conn: Conn, brn: str) -> list[asyncpg.Record]:
    """A firm's confirmations, oldest first."""
    return await conn.fetch(
        "select id, technology_code, issued_on, valid_until from confirmations"
        " where brn = $1 order by issued_on, technology_code, id",
        brn,
    )


async def confirmations_page(
    conn: Conn, brn: str, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """A firm's confirmations in the order they were recorded, after a keyset position."""
    at, cid = after if after else (None, None)
    return await conn.fetch(
        "select id, technology_code, issued_on, valid_until, created_at from confirmations where brn = $1"
        f" and {keyset_after(('created_at', '$2', 'timestamptz'), ('id', '$3', 'uuid'))}"
        " order by created_at, id limit $4",
        brn,
        at,
        cid,
        limit,
    )


# designations


def _history(h: list[dict[str, Any]]) -> tuple[Transition, ...]:
    return tuple(
        Transition(
            from_status=t["from_status"],
            to_status=t["to_status"],
            at=datetime.fromisoformat(t["at"]),
            effective_on=date.fromisoformat(t["effective_on"]),
            actor=t["actor"],
            reason=t["reason"],
        )
        for t in h
    )


def to_designation(row: asyncpg.Record) -> Designation:
    """A designation from its row."""
    return Designation(
        id=row["id"],
        brn=row["brn"],
        kind=row["kind"],
        cohort=row["cohort"],
        technology_codes=tuple(row["technology_codes"]),
        status=row["status"],
        applied_on=row["applied_on"],
        designated_on=row["designated_on"],
        valid_until=row["valid_until"],
        history=_history(row["history"]),
        version=row["version"],
    )


def _history_json(d: Designation) -> list[dict[str, Any]]:
    return [
        {**dataclasses.asdict(t), "at": t.at.isoformat(), "effective_on": t.effective_on.isoformat()}
        for t in d.history
    ]


OPEN_APPLICATION_INDEX = "designations_one_open"


async def insert_designation(conn: Conn, d: Designation) -> bool:
    """Store a new designation; False if the firm already has an open application of its kind."""
    try:
        await _insert_designation(conn, d)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != OPEN_APPLICATION_INDEX:
            raise
        return False
    return True


async def _insert_designation(conn: Conn, d: Designation) -> None:
    await conn.execute(
        f"insert into designations ({DESIGNATION_COLS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        d.id,
        d.brn,
        d.kind,
        d.cohort,
        list(d.technology_codes),
        d.status,
        d.applied_on,
        d.designated_on,
        d.valid_until,
        _history_json(d),
        d.version,
    )


async def update_designation(conn: Conn, d: Designation) -> None:
    """Store a designation's new state."""
    await conn.execute(
        "update designations set status = $2, designated_on = $3, valid_until = $4, history = $5,"
        " version = $6, updated_at = now() where id = $1",
        d.id,
        d.status,
        d.designated_on,
        d.valid_until,
        _history_json(d),
        d.version,
    )


async def get_designation(conn: Conn, id: uuid.UUID, *, for_update: bool = False) -> Designation | None:
    """One designation, optionally row-locked."""
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {DESIGNATION_COLS} from designations where id = $1{lock}", id)
    return to_designation(row) if row else None


async def firm_designations(conn: Conn, brn: str, kind: str) -> list[Designation]:
    """A firm's designations of one kind."""
    rows = await conn.fetch(
        f"select {DESIGNATION_COLS} from designations where brn = $1 and kind = $2", brn, kind
    )
    return [to_designation(r) for r in rows]


@dataclass(frozen=True, kw_only=True)
class DesignationFilter:
    """Filters of the designation list."""

    kind: str | None = None
    status: str | None = None
    cohort: int | None = None
    technology: str | None = None
    brn: str | None = None


async def list_designations(
    conn: Conn, f: DesignationFilter, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[tuple[datetime, Designation]]:
    """Designations in creation order matching the filter, after a keyset position."""
    at, aid = after if after else (None, None)
    rows = await conn.fetch(
        f"select created_at, {DESIGNATION_COLS} from designations"
        " where ($1::text is null or kind = $1) and ($2::text is null or status = $2)"
        " and ($3::int is null or cohort = $3) and ($4::text is null or technology_codes @> array[$4::text])"
        " and ($5::text is null or brn = $5)"
        f" and {keyset_after(('created_at', '$6', 'timestamptz'), ('id', '$7', 'uuid'))}"
        " order by created_at, id limit $8",
        f.kind,
        f.status,
        f.cohort,
        f.technology,
        f.brn,
        at,
        aid,
        limit,
    )
    return [(r["created_at"], to_designation(r)) for r in rows]


async def due_for_expiry(conn: Conn, today: date, *, limit: int) -> list[Designation]:
    """Designated designations whose period has ended, locked; rows another instance holds are skipped."""
    rows = await conn.fetch(
        f"select {DESIGNATION_COLS} from designations where status = 'designated' and valid_until <= $1"
        " order by valid_until, id limit $2 for update skip locked",
        today,
        limit,
    )
    return [to_designation(r) for r in rows]
