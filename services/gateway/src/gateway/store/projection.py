"""Projection upserts, set-based: one statement writes a whole batch's rows of one entity.

Every upsert applies only a version above the stored one and returns the keys it wrote, so the
projector logs exactly the changes that happened. The rows travel as one JSON array that
`jsonb_populate_recordset` reads with the table's own row type: the table gives each value its
type, so nothing here repeats the columns' SQL types.

The statement of a described entity is written from its description (`gateway.read.describe`):
its table, its key and its stored columns, plus the stored columns it does not serve. Each value
is the event's attribute of the column's name, unless the upsert computes it. So a new column
whose event field has its name needs no change here.

Some entities own child rows (a firm's confirmations, a project's consortium): the event carries
all of them, so the children of every parent the upsert wrote are replaced, under its version.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from pydantic import BaseModel

from gateway.read.budget.model import DISBURSEMENT, PROGRAM, PROJECT
from gateway.read.catalog.model import INDUSTRY, TECHNOLOGY
from gateway.read.describe import Entity
from gateway.read.firms.model import DESIGNATION, FIRM
from mpe_events import budget as bev
from mpe_events import firms as fev
from mpe_kit.db import Conn


def ended_on(d: fev.DesignationV1) -> date | None:
    return min((t.effective_on for t in d.history if t.to_status in ("revoked", "expired")), default=None)


@functools.cache
def upsert_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    """Insert rows, or update every other column of a row with their key when the version is newer."""
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (
        f"insert into {table} ({names}) select {names} from jsonb_populate_recordset(null::{table}, $1::jsonb)"
        f" on conflict ({key}) do update set {updates}, updated_at = now()"
        f" where {table}.version < excluded.version returning {key}"
    )


def stored(entity: Entity, *more: str) -> tuple[str, ...]:
    """The columns an entity's upsert writes: its described columns, its extra ones, and `more`."""
    return tuple(dict.fromkeys((*(c.stored for c in entity.columns), *entity.extra, *more)))


Children = Callable[[Conn, list[Any]], Awaitable[None]]


@dataclass(frozen=True, eq=False)
class Upsert:
    """One entity's upsert: its table, key and columns, the values it computes, its child rows.

    `entity_type` names the entity in the change log; the key column is also the event's
    attribute of that name.
    """

    entity_type: str
    table: str
    key: str
    columns: tuple[str, ...]
    computed: Callable[[Any], dict[str, Any]] | None = None
    children: Children | None = None

    def key_of(self, d: BaseModel) -> str:
        """The entity's key in an event, as text (the change log's form)."""
        return str(getattr(d, self.key))

    @functools.cached_property
    def _attributes(self) -> set[str]:
        return set(self.columns)

    def row(self, d: BaseModel) -> dict[str, Any]:
        """The event as the table's row: its attributes of the columns' names, as JSON."""
        row = d.model_dump(mode="json", include=self._attributes)
        if self.computed is not None:
            row.update(self.computed(d))
        return row

    async def __call__(self, conn: Conn, events: Sequence[BaseModel]) -> set[str]:
        """Upsert these events' rows (one per key); the keys whose row this wrote."""
        if not events:
            return set()
        records = await conn.fetch(
            upsert_sql(self.table, self.key, self.columns), [self.row(d) for d in events]
        )
        written = {str(r[0]) for r in records}
        if written and self.children is not None:
            await self.children(conn, [d for d in events if self.key_of(d) in written])
        return written


async def replace_children(
    conn: Conn,
    table: str,
    parent: str,
    parents: Iterable[str],
    columns: Sequence[str],
    rows: list[dict[str, Any]],
) -> None:
    """Replace the child rows of `parents` (their `parent` column) in `table` with `rows`."""
    await conn.execute(f"delete from {table} where {parent} = any($1::text[])", list(parents))
    if rows:
        names = ", ".join(columns)
        await conn.execute(
            f"insert into {table} ({names}) select {names} from jsonb_populate_recordset(null::{table}, $1::jsonb)"
            " on conflict do nothing",
            rows,
        )


async def _confirmations(conn: Conn, firms: list[fev.FirmV1]) -> None:
    # The firm's event carries all its confirmations: its rows are replaced, under the firm's version.
    rows = [{"brn": d.brn, **c.model_dump(mode="json")} for d in firms for c in d.confirmations]
    await replace_children(
        conn,
        "confirmations",
        "brn",
        (d.brn for d in firms),
        ("brn", "technology_code", "issued_on", "valid_until"),
        rows,
    )


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


_PARTICIPANT = (
    "project_code",
    "position",
    "role",
    "kind",
    "brn",
    "name",
    "country",
    "government_krw",
    "private_cash_krw",
    "private_in_kind_krw",
)


async def _participants(conn: Conn, projects: list[bev.ProjectV1]) -> None:
    # The project's event carries its whole consortium: its rows are replaced, under the project's version.
    rows = [
        {"project_code": d.code, "position": n, **p.model_dump(mode="json")}
        for d in projects
        for n, p in enumerate(participants_of(d), start=1)
    ]
    await replace_children(
        conn, "project_participants", "project_code", (d.code for d in projects), _PARTICIPANT, rows
    )


INDUSTRIES = Upsert("industry", INDUSTRY.table, INDUSTRY.key, stored(INDUSTRY, "version"))
TECHNOLOGIES = Upsert("technology", TECHNOLOGY.table, TECHNOLOGY.key, stored(TECHNOLOGY, "revision_id"))
# A deleted draft keeps its row with status deleted.
REVISIONS = Upsert(
    "revision",
    "revisions",
    "id",
    ("id", "title", "decided_on", "effective_on", "status", "published_at", "version", "changes"),
)
FIRMS = Upsert("firm", FIRM.table, FIRM.key, stored(FIRM, "confirmations"), children=_confirmations)
DESIGNATIONS = Upsert(
    "designation",
    DESIGNATION.table,
    DESIGNATION.key,
    stored(DESIGNATION, "ended_on"),
    computed=lambda d: {"ended_on": ended_on(d)},
)
FISCAL_YEARS = Upsert("fiscal_year", "fiscal_years", "year", ("year", "envelope_krw", "version"))
PROGRAMS = Upsert("program", PROGRAM.table, PROGRAM.key, stored(PROGRAM))
# A project: its state, what it commits and what was paid, as the event carries them.
PROJECTS = Upsert(
    "project",
    PROJECT.table,
    PROJECT.key,
    stored(PROJECT, "lead_firm_size", "lead_firm_region"),
    children=_participants,
)
# A payment line never changes: a replay writes nothing.
DISBURSEMENTS = Upsert(
    "disbursement", DISBURSEMENT.table, DISBURSEMENT.key, stored(DISBURSEMENT, "recorded_at", "version")
)


# The tables the read model's triggers keep from its rows (migrations 0011 to 0013), which
# `read_model_drift()` (migration 0014) recomputes.
KEPT_TABLES = (
    "project_technologies",
    "designation_technologies",
    "technology_year_funding",
    "year_technology_sums",
)


async def drift(conn: Conn) -> list[asyncpg.Record]:
    """Every row on which a kept table and its recomputation from the rows disagree; none when they agree.

    Raises `asyncpg.UndefinedFunctionError` on a database not migrated to 0014.
    """
    return list(await conn.fetch("select kept_table, found_in, row_value from read_model_drift()"))
