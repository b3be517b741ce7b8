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
from gateway.read.common import PageInfo, day_id_cursor
from gateway.read.context import Context, load_one


@strawberry.enum
class RevisionOp(Enum):
    """What a change of a revision does to a technology."""

    ADD = "add"
    RETIRE = "retire"
    AMEND = "amend"


@strawberry.type
class TechnologyFields:
    """Editable fields of a technology; in an amendment, only the amended ones are set."""

    industry_code: str | None
    kind: TechnologyKind | None
    name_en: str | None
    name_ko: str | None
    description: str | None

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

    op: RevisionOp
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

    id: strawberry.ID
    title: str
    decided_on: date
    effective_on: date = strawberry.field(description="The day its changes take effect on the list.")
    published_at: datetime | None
    changes: list[RevisionChange]

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

    cursor: str
    node: Revision


@strawberry.type
class RevisionConnection:
    """A page of published revisions, in effectiveOn order."""

    edges: list[RevisionEdge]
    page_info: PageInfo
    total_count: int


def revision_cursor(row: asyncpg.Record) -> str:
    """The cursor of a revision row: its (effective_on, id)."""
    return day_id_cursor(row["effective_on"], row["id"])
