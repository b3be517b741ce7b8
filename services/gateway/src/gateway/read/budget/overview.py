"""A fiscal year's overview of the program (`programOverview`: by industry and by track) and the
coverage gaps' kinds (`coverageGaps(missing:)`)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway import store
from gateway.read.budget.types import sums
from gateway.read.catalog.types import Industry
from gateway.read.common import (
    COUNT_RULE,
    FISCAL_YEAR,
    Won,
)
from gateway.read.context import Context
from gateway.read.describe import INDUSTRIES, TRACKS, most


@strawberry.type
class IndustryFunding:
    """A fiscal year's money and projects attributed to one industry."""

    industry: Industry | None = strawberry.field(
        description="Null gathers projects with no technology, or whose primary technology or its"
        " industry has not arrived yet."
    )
    committed_krw: Won = strawberry.field(description="Government money committed over these projects.")
    disbursed_krw: Won = strawberry.field(description="Government money paid out over these projects.")
    project_count: int = strawberry.field(description=COUNT_RULE)


@strawberry.type
class TrackFunding:
    """A fiscal year's money and projects in the programs of one track."""

    track: str | None = strawberry.field(
        description="Null gathers projects whose program has no track, or has not arrived yet."
    )
    committed_krw: Won = strawberry.field(description="Government money committed over these projects.")
    disbursed_krw: Won = strawberry.field(description="Government money paid out over these projects.")
    project_count: int = strawberry.field(description=COUNT_RULE)


@strawberry.type
class ProgramOverview:
    """One fiscal year's money: the envelope, what programs budget, and what projects commit and pay."""

    fiscal_year: int = strawberry.field(description=FISCAL_YEAR)
    envelope_krw: Won | None = strawberry.field(
        description="The year's appropriation; null until the budget service has set it."
    )
    programmed_krw: Won = strawberry.field(description="Sum of the budgets of the year's programs.")
    committed_krw: Won = strawberry.field(description="Government money committed over the year's projects.")
    disbursed_krw: Won = strawberry.field(description="Government money paid out over the year's projects.")
    new_project_count: int = strawberry.field(description="New projects of the year. " + COUNT_RULE)
    continuing_project_count: int = strawberry.field(
        description="Projects of the year that continue an earlier one. " + COUNT_RULE
    )

    @strawberry.field(
        metadata=most(INDUSTRIES),
        description=(
            "By the industry of each project's primary (first) technology, in industry code order:"
            " a project counts once, under one industry, so the industries add up to the year's"
            " committedKrw, disbursedKrw and project counts."
        ),
    )
    async def by_industry(self, info: Info[Context, Any]) -> list[IndustryFunding]:
        async with info.context.pool.acquire() as conn:
            rows = await store.budget.year_by_industry(conn, self.fiscal_year)
        return [
            IndustryFunding(industry=Industry.from_row(r) if r["code"] is not None else None, **sums(r))
            for r in rows
        ]

    @strawberry.field(
        metadata=most(TRACKS),
        description="By the track of each project's program, in track order; the tracks add up to the year's.",
    )
    async def by_track(self, info: Info[Context, Any]) -> list[TrackFunding]:
        async with info.context.pool.acquire() as conn:
            rows = await store.budget.year_by_track(conn, self.fiscal_year)
        return [TrackFunding(track=r["track"], **sums(r)) for r in rows]

    @classmethod
    async def of_year(cls, pool: asyncpg.Pool, year: int) -> ProgramOverview:
        """A fiscal year's overview."""
        async with pool.acquire() as conn:
            r = await store.budget.year_totals(conn, year)
        return cls(
            fiscal_year=year,
            envelope_krw=r["envelope_krw"],
            programmed_krw=r["programmed_krw"],
            committed_krw=r["committed_krw"],
            disbursed_krw=r["disbursed_krw"],
            new_project_count=r["new_count"],
            continuing_project_count=r["continuing_count"],
        )


@strawberry.enum
class CoverageMissing(Enum):
    """What a technology lacks in a fiscal year to be a coverage gap."""

    LEADING_FIRM = strawberry.enum_value(
        "leading_firm", description="No leading firm, whatever its projects."
    )
    ACTIVE_PROJECT = strawberry.enum_value(
        "active_project", description="No covering project, whatever its leading firms."
    )
    EITHER = strawberry.enum_value(
        "either", description="No leading firm, or no covering project, or neither."
    )
    BOTH = strawberry.enum_value("both", description="Neither a leading firm nor a covering project.")


COVERAGE_GAPS = (
    "Technologies lacking what `missing` names in a fiscal year, by code: by default (BOTH) neither a"
    " covering project nor a leading firm. The technologies considered are those on the list at the"
    " end of the year (listed on or before 31 December and not retired by then: a technology retired"
    " during the year is no gap left to fill). A project covers its technologies (in any position) if"
    " it belongs to that fiscal year and is selected, agreement signed, active or completed (not"
    " proposed, not terminated). A leading firm covers a technology if a leading designation (kind"
    " leading) for it held on at least one day of the year: designated on or before 31 December, and"
    " neither lapsed (validUntil) nor revoked or expired on or before 1 January."
)
