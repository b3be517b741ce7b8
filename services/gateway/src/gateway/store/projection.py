"""Projection upserts: every upsert applies only a version above the stored one, and says whether it did.

The statement of a described entity is written from its description (`gateway.read.describe`):
its table, its key and its stored columns, plus the stored columns it does not serve. Each value
is the event's attribute of the column's name (a list of event models is stored as JSON), unless
the upsert computes it. So a new column whose event field has its name needs no change here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from gateway.read.budget.model import DISBURSEMENT, PROGRAM, PROJECT
from gateway.read.catalog.model import INDUSTRY, TECHNOLOGY
from gateway.read.describe import Entity
from gateway.read.firms.model import DESIGNATION, FIRM
from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_kit.db import Conn


def _changed(status: str) -> bool:
    """Whether an upsert's command status ("INSERT 0 1" or "INSERT 0 0") says it wrote a row."""
    return status.rsplit(" ", 1)[-1] != "0"


def ended_on(d: fev.DesignationV1) -> date | None:
    return min((t.effective_on for t in d.history if t.to_status in ("revoked", "expired")), default=None)


@functools.cache
def upsert_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    """Insert a row, or update every other column of the row with its key when the version is newer."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (
        f"insert into {table} ({', '.join(columns)})"
        f" values ({', '.join(f'${n}' for n in range(1, len(columns) + 1))})"
        f" on conflict ({key}) do update set {updates}, updated_at = now()"
        f" where {table}.version < excluded.version"
    )


def stored(entity: Entity, *more: str) -> tuple[str, ...]:
    """The columns an entity's upsert writes: its described columns, its extra ones, and `more`."""
    return tuple(dict.fromkeys((*(c.stored for c in entity.columns), *entity.extra, *more)))


def _value(value: Any) -> Any:
    """An event attribute as its column stores it: a list of event models as JSON."""
    if isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
        return [v.model_dump(mode="json") for v in value]
    return value


async def upsert(
    conn: Conn,
    table: str,
    key: str,
    columns: tuple[str, ...],
    d: BaseModel,
    computed: Mapping[str, Any] | None = None,
) -> bool:
    """Upsert one row from an event; `computed` gives the values that are no attribute of it."""
    given = computed or {}
    values = [given[c] if c in given else _value(getattr(d, c)) for c in columns]
    return _changed(await conn.execute(upsert_sql(table, key, columns), *values))


_INDUSTRY = stored(INDUSTRY, "version")
_TECHNOLOGY = stored(TECHNOLOGY, "revision_id")
_REVISION = ("id", "title", "decided_on", "effective_on", "status", "published_at", "version", "changes")
_FIRM = stored(FIRM, "confirmations")
_DESIGNATION = stored(DESIGNATION, "ended_on")
_FISCAL_YEAR = ("year", "envelope_krw", "version")
_PROGRAM = stored(PROGRAM)
_PROJECT = stored(PROJECT, "lead_firm_size", "lead_firm_region")
_DISBURSEMENT = stored(DISBURSEMENT, "recorded_at", "version")


async def upsert_industry(conn: Conn, d: ev.IndustryV1) -> bool:
    """Upsert an industry."""
    return await upsert(conn, INDUSTRY.table, INDUSTRY.key, _INDUSTRY, d)


async def upsert_technology(conn: Conn, d: ev.TechnologyV1) -> bool:
    """Upsert a technology."""
    return await upsert(conn, TECHNOLOGY.table, TECHNOLOGY.key, _TECHNOLOGY, d)


async def upsert_revision(conn: Conn, d: ev.RevisionV1) -> bool:
    """Upsert a revision (a deleted draft keeps its row with status deleted)."""
    return await upsert(conn, "revisions", "id", _REVISION, d)


async def upsert_firm(conn: Conn, d: fev.FirmV1) -> bool:
    """Upsert a firm with its technologies and confirmations."""
    changed = await upsert(conn, FIRM.table, FIRM.key, _FIRM, d)
    if changed:
        await _replace_confirmations(conn, d)
    return changed


async def _replace_confirmations(conn: Conn, d: fev.FirmV1) -> None:
    # The firm's event carries all its confirmations: its rows are replaced, under the firm's version.
    await conn.execute("delete from confirmations where brn = $1", d.brn)
    await conn.executemany(
        "insert into confirmations (brn, technology_code, issued_on, valid_until) values ($1, $2, $3, $4)"
        " on conflict do nothing",
        [(d.brn, c.technology_code, c.issued_on, c.valid_until) for c in d.confirmations],
    )


async def upsert_designation(conn: Conn, d: fev.DesignationV1) -> bool:
    """Upsert a designation with its whole history."""
    return await upsert(conn, DESIGNATION.table, DESIGNATION.key, _DESIGNATION, d, {"ended_on": ended_on(d)})


async def upsert_fiscal_year(conn: Conn, d: bev.FiscalYearV1) -> bool:
    """Upsert a fiscal year's envelope."""
    return await upsert(conn, "fiscal_years", "year", _FISCAL_YEAR, d)


async def upsert_program(conn: Conn, d: bev.ProgramV1) -> bool:
    """Upsert a program with its themes."""
    return await upsert(conn, PROGRAM.table, PROGRAM.key, _PROGRAM, d)


async def upsert_budget_project(conn: Conn, d: bev.ProjectV1) -> bool:
    """Upsert a project: its state, what it commits and what was paid, as the event carries them."""
    changed = await upsert(conn, PROJECT.table, PROJECT.key, _PROJECT, d)
    if changed:
        await _replace_participants(conn, d)
    return changed


def participants_of(d: bev.ProjectV1) -> list[bev.ParticipantV1]:
    """The consortium; an event from before consortia names none: its lead firm alone, with all of the money."""
    if d.participants or d.lead_firm_brn is None:
        return list(d.participants)
    return [
        bev.ParticipantV1(
            role="lead",
            kind="firm",
            name=None,
            brn=d.lead_firm_brn,
            country="KR",
            government_krw=d.government_krw,
            private_cash_krw=d.private_cash_krw,
            private_in_kind_krw=d.private_in_kind_krw,
        )
    ]


async def _replace_participants(conn: Conn, d: bev.ProjectV1) -> None:
    # The project's event carries its whole consortium: its rows are replaced, under the project's version.
    await conn.execute("delete from project_participants where project_code = $1", d.code)
    await conn.executemany(
        "insert into project_participants (project_code, position, role, kind, brn, name, country,"
        " government_krw, private_cash_krw, private_in_kind_krw)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            (
                d.code,
                n,
                p.role,
                p.kind,
                p.brn,
                p.name,
                p.country,
                p.government_krw,
                p.private_cash_krw,
                p.private_in_kind_krw,
            )
            for n, p in enumerate(participants_of(d), start=1)
        ],
    )


async def upsert_disbursement(conn: Conn, d: bev.DisbursementV1) -> bool:
    """Upsert a payment line (a payment never changes: a replay writes nothing)."""
    return await upsert(conn, DISBURSEMENT.table, DISBURSEMENT.key, _DISBURSEMENT, d)
