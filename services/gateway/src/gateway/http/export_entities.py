"""What the bulk export can export: each entity's scope, its rows in key order, how a row
becomes a line (the GraphQL type's field names and value formats) and the filters it takes.

The lines come from the read-model descriptions (`gateway.read.describe`); the route, its
parameters and the streaming are `gateway.http.export`'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from gateway import store
from gateway.read.budget.model import PROGRAM, PROJECT, SUMS, AlchemistStage
from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.describe import Encoding
from gateway.read.describe import Entity as Described
from gateway.read.firms.model import DESIGNATION, FIRM, FIRMS_READ, DesignationStatus
from gateway.store.exports import ExportFilter
from mpe_kit.db import Conn

Row = asyncpg.Record
Scopes = frozenset[str]


# The lines come from the descriptions; what is written here is what they leave to the types:
# a designation's history and a program's themes (JSON lists), and a program's sums.


def technology_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A technology as the Technology type gives it, its industry by code."""
    return TECHNOLOGY.line(r, scopes)


def firm_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A firm as the Firm type gives it; `mpeSalesRatio` is null without firms:financials."""
    return FIRM.line(r, scopes)


def _transition(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "fromStatus": DesignationStatus(item["from_status"]).name if item["from_status"] else None,
        "toStatus": DesignationStatus(item["to_status"]).name,
        "at": datetime.fromisoformat(item["at"]).isoformat(),
        "effectiveOn": date.fromisoformat(item["effective_on"]).isoformat(),
        "actor": item["actor"],
        "reason": item["reason"],
    }


def designation_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A designation as the Designation type gives it, with its history; its firm by BRN."""
    return {**DESIGNATION.line(r, scopes), "history": [_transition(t) for t in r["history"]]}


def _theme(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": item["code"],
        "title": item["title"],
        "stages": [
            {
                "stage": AlchemistStage(s["stage"]).name,
                "teams": s["teams"],
                "fiscalYear": s.get("fiscal_year"),
                "projectCodes": s.get("project_codes") or [],
            }
            for s in item["stages"]
        ],
    }


def program_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A program as the Program type gives it, with the sums over its projects and its themes."""
    sums = {c.field: c.exported(r[c.stored]) for c in SUMS}
    return {**PROGRAM.line(r, scopes), **sums, "themes": [_theme(t) for t in r["themes"]]}


def project_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A project as the Project type gives it; `leadFirmBrn` is null without firms:read, as `leadFirm` is."""
    return PROJECT.line(r, scopes)


class Rows(Protocol):
    """A store function that reads every row of an entity (narrowed by the filter) in key order."""

    def __call__(self, conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[Row]: ...


def keys(described: Described, *more: str) -> tuple[str, ...]:
    """The keys of an entity's lines, in order: its described columns' (as `Entity.line`), then `more`."""
    return (*(c.key for c in described.columns if c.encoding is not Encoding.JSON), *more)


# The filters an export may take, each with the ExportFilter attribute it sets.
FILTERS = ("fiscal_year", "industry", "program")


@dataclass(frozen=True)
class Entity:
    """What can be exported: its scope, rows in key order, how a row becomes a line, its keys and filters."""

    name: str
    scope: str
    rows: Rows
    line: Callable[[Row, Scopes], dict[str, Any]]
    columns: tuple[str, ...]
    filters: tuple[str, ...] = ()


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "technologies",
            "catalog:read",
            store.exports.export_technologies,
            technology_line,
            keys(TECHNOLOGY),
            ("industry",),
        ),
        Entity("firms", FIRMS_READ, store.exports.export_firms, firm_line, keys(FIRM)),
        Entity(
            "designations",
            FIRMS_READ,
            store.exports.export_designations,
            designation_line,
            keys(DESIGNATION, "history"),
        ),
        Entity(
            "projects",
            "budget:read",
            store.exports.export_projects,
            project_line,
            keys(PROJECT),
            ("fiscal_year", "industry", "program"),
        ),
        Entity(
            "programs",
            "budget:read",
            store.exports.export_programs,
            program_line,
            keys(PROGRAM, *(c.field for c in SUMS), "themes"),
            ("fiscal_year",),
        ),
    )
}
