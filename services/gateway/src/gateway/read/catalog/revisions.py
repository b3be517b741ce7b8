"""The list's published revisions in GraphQL: what each added, retired and amended.

A revision's changes are a JSON list in its row, built here by hand; the compiler declines the
two root fields that reach them (`DECLINED`), so strawberry answers them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway.read.catalog.model import TECHNOLOGY, TechnologyKind
from gateway.read.catalog.types import Technology
from gateway.read.common import CURSOR, EDGES, PAGE_INFO, TOTAL_COUNT, PageInfo, day_id_cursor
from gateway.read.context import Context, load_one


@strawberry.enum
class RevisionOp(Enum):
    """What a change of a revision does to a technology."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    ADD = strawberry.enum_value("add", description="Lists a new technology; `after` holds its fields.")
    RETIRE = strawberry.enum_value(
        "retire", description="Takes a technology off the list; `before` and `after` are null."
    )
    AMEND = strawberry.enum_value(
        "amend",
        description="Changes fields of a listed technology; `after` holds the new values, `before` the old.",
    )


_UNSET = " Null if an amendment leaves it as it was."


@strawberry.type
class TechnologyFields:
    """Editable fields of a technology; in an amendment, only the amended ones are set."""

    industry_code: str | None = strawberry.field(description="The industry code, such as SEMI." + _UNSET)
    kind: TechnologyKind | None = strawberry.field(description="Material, part or equipment." + _UNSET)
    name_en: str | None = strawberry.field(description="The English name." + _UNSET)
    name_ko: str | None = strawberry.field(description="The Korean name (한글)." + _UNSET)
    description: str | None = strawberry.field(description="What the technology covers." + _UNSET)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> TechnologyFields:
        """From the fields of a change (or of its `before`) in the read model's JSON."""
        kind = item.get("kind")
        return cls(
            industry_code=item.get("industry_code"),
            kind=TechnologyKind(kind) if kind else None,
            name_en=item.get("name_en"),
            name_ko=item.get("name_ko"),
            description=item.get("description"),
        )


@strawberry.type
class RevisionChange:
    """One change of a revision."""

    op: RevisionOp = strawberry.field(description="What the change does: add, retire or amend.")
    code: str = strawberry.field(description="The technology's code.")
    before: TechnologyFields | None = strawberry.field(
        description="AMEND: the amended fields' values before (null if the revision predates this record)."
    )
    after: TechnologyFields | None = strawberry.field(
        description="ADD: the technology's fields as listed; AMEND: the amended fields' new values."
    )

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> RevisionChange:
        """From one entry of the read model's changes column."""
        op = RevisionOp(item["op"])
        if op is RevisionOp.ADD:
            fields = item["technology"]
            return cls(op=op, code=fields["code"], before=None, after=TechnologyFields.from_json(fields))
        if op is RevisionOp.RETIRE:
            return cls(op=op, code=item["code"], before=None, after=None)
        before = item.get("before")
        return cls(
            op=op,
            code=item["code"],
            before=TechnologyFields.from_json(before) if before is not None else None,
            after=TechnologyFields.from_json(item),
        )

    @strawberry.field(description="The technology as the read model holds it now.")
    async def technology(self, info: Info[Context, Any]) -> Technology | None:
        return await load_one(info, TECHNOLOGY, self.code, Technology.from_row)


@strawberry.type
class Revision:
    """A published revision of the technology list."""

    id: strawberry.ID = strawberry.field(description="The revision's id, a UUID; it never changes.")
    title: str = strawberry.field(description="The revision's title, as published.")
    decided_on: date = strawberry.field(
        description="The day the MPE Competitiveness Committee decided it, as YYYY-MM-DD."
    )
    effective_on: date = strawberry.field(description="The day its changes take effect on the list.")
    published_at: datetime | None = strawberry.field(
        description="When the ministry published it, an instant with its UTC offset; null if not recorded."
    )
    changes: list[RevisionChange] = strawberry.field(
        description="What it adds, retires and amends, one entry per technology, in the revision's order."
    )

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Revision:
        """From a read-model row."""
        return cls(
            id=strawberry.ID(str(row["id"])),
            title=row["title"],
            decided_on=row["decided_on"],
            effective_on=row["effective_on"],
            published_at=row["published_at"],
            changes=[RevisionChange.from_json(c) for c in row["changes"]],
        )


@strawberry.type
class RevisionEdge:
    """A revision and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Revision = strawberry.field(description="The revision.")


@strawberry.type
class RevisionConnection:
    """A page of published revisions, in effectiveOn order."""

    edges: list[RevisionEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


def revision_cursor(row: asyncpg.Record) -> str:
    """The cursor of a revision row: its (effective_on, id)."""
    return day_id_cursor(row["effective_on"], row["id"])
