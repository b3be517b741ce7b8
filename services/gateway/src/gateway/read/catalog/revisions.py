"""The list's published revisions in GraphQL: what each added, retired and amended.

A revision's changes are a JSON list in its row, built here by hand; the compiler declines the
two root fields that reach them (`DECLINED`), so strawberry answers them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Protocol

import asyncpg
import strawberry
from strawberry.types import Info

from gateway import store
from gateway.read.budget.types import Project
from gateway.read.catalog.model import INDUSTRY, TECHNOLOGY, TechnologyKind
from gateway.read.catalog.types import Industry, Technology
from gateway.read.common import (
    BUDGET,
    CURSOR,
    EDGES,
    FIRMS,
    PAGE_EDGES,
    PAGE_INFO,
    TOTAL_COUNT,
    First,
    PageInfo,
    day_id_cursor,
    page_size,
)
from gateway.read.context import Context, load_many, load_one
from gateway.read.describe import INDUSTRIES, LISTED, most
from gateway.read.firms.types import Designation
from mpe_kit.db import Conn


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


class Touched(Protocol):
    """A store read of the rows tied to some technologies on a revision's effective day."""

    async def __call__(
        self, conn: Conn, codes: list[str], effective_on: date, *, limit: int
    ) -> list[asyncpg.Record]: ...


@strawberry.type
class RevisionTouches:
    """What a revision's retirements and amendments reach: what an agency must review after it."""

    codes: strawberry.Private[list[str]]
    effective_on: strawberry.Private[date]

    @strawberry.field(
        metadata=most(LISTED),
        description="The technologies the revision retired or amended, in the revision's order.",
    )
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(info, TECHNOLOGY, self.codes, Technology.from_row)

    @strawberry.field(
        extensions=FIRMS,
        description=(
            "Designations naming any of those technologies that are still pending (applied, under"
            " review) or were in force on effectiveOn: designated on or before it, and neither lapsed"
            " (validUntil after it) nor revoked or expired by then, whatever their status now; by id."
        ),
    )
    async def designations(self, info: Info[Context, Any], first: First = 20) -> list[Designation] | None:
        return [
            Designation.from_row(r) for r in await self._rows(info, first, store.firms.touched_designations)
        ]

    @strawberry.field(
        extensions=BUDGET,
        description=(
            "Projects touching any of those technologies (in any position), whatever their status but"
            " terminated, still running on effectiveOn or later (endOn after it; proposals included);"
            " newest fiscal year first."
        ),
    )
    async def projects(self, info: Info[Context, Any], first: First = 20) -> list[Project] | None:
        return [Project.from_row(r) for r in await self._rows(info, first, store.budget.touched_projects)]

    async def _rows(self, info: Info[Context, Any], first: int, read: Touched) -> list[asyncpg.Record]:
        size = page_size(first, info.context.max_page)
        async with info.context.pool.acquire() as conn:
            return await read(conn, self.codes, self.effective_on, limit=size)


@strawberry.type
class IndustryCount:
    """Technologies on the list in one industry, the day before a revision took effect and the day it did."""

    industry_code: strawberry.Private[str]
    before: int = strawberry.field(description="On the list the day before effectiveOn.")
    after: int = strawberry.field(description="On the list on effectiveOn.")

    @strawberry.field(description="The industry; null until its event has arrived.")
    async def industry(self, info: Info[Context, Any]) -> Industry | None:
        return await load_one(info, INDUSTRY, self.industry_code, Industry.from_row)


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
        metadata=most(LISTED),
        description="What it adds, retires and amends, one entry per technology, in the revision's order.",
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

    @strawberry.field(
        description=(
            "What the revision's retirements and amendments reach (added technologies reach nothing yet):"
            " the technologies, and the designations and projects tied to them."
        )
    )
    def touches(self) -> RevisionTouches:
        codes = [c.code for c in self.changes if c.op is not RevisionOp.ADD]
        return RevisionTouches(codes=list(dict.fromkeys(codes)), effective_on=self.effective_on)

    @strawberry.field(
        metadata=most(INDUSTRIES),
        description=(
            "Technologies on the list per industry the day before effectiveOn and on effectiveOn, by"
            " code; each technology counts under its industry as the read model holds it now. An"
            " industry with none on either day is left out. Other revisions taking effect the same day"
            " count too."
        ),
    )
    async def industry_counts(self, info: Info[Context, Any]) -> list[IndustryCount]:
        before, after = await info.context.count_loader.load_many(
            [self.effective_on - timedelta(days=1), self.effective_on]
        )
        return [
            IndustryCount(industry_code=code, before=before.get(code, 0), after=after.get(code, 0))
            for code in sorted(set(before) | set(after))
            if before.get(code, 0) or after.get(code, 0)
        ]


@strawberry.type
class RevisionEdge:
    """A revision and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Revision = strawberry.field(description="The revision.")


@strawberry.type
class RevisionConnection:
    """A page of published revisions, in effectiveOn order."""

    edges: list[RevisionEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


def revision_cursor(row: asyncpg.Record) -> str:
    """The cursor of a revision row: its (effective_on, id)."""
    return day_id_cursor(row["effective_on"], row["id"])
