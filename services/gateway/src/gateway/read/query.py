"""The root of what partner agencies can read: the Query type."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway import store
from gateway.read.budget.model import PROGRAM, PROJECT
from gateway.read.budget.overview import COVERAGE_GAPS, CoverageMissing, ProgramOverview
from gateway.read.budget.spending import (
    SPENDING,
    SpendingDimension,
    SpendingFilter,
    SpendingRow,
    rows_at_most,
    spending_rows,
)
from gateway.read.budget.types import (
    Program,
    ProgramConnection,
    ProgramEdge,
    Project,
    ProjectConnection,
    ProjectEdge,
    ProjectFilter,
)
from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.catalog.revisions import (
    Revision,
    RevisionConnection,
    RevisionEdge,
    revision_cursor,
)
from gateway.read.catalog.types import (
    Industry,
    Technology,
    TechnologyConnection,
    TechnologyEdge,
    TechnologyFilter,
)
from gateway.read.changes import (
    CHANGES,
    SINCE,
    TYPES,
    Change,
    ChangeConnection,
    ChangeEdge,
    ChangeEntityType,
    SourceFreshness,
    feed_types,
    seq_after,
)
from gateway.read.common import (
    BRN_GIVEN,
    BUDGET,
    CATALOG,
    COUNT_RULE,
    FIRMS,
    SEOUL,
    After,
    First,
    PageInfo,
    after_day_id,
    after_key,
    bad_input,
    lacks,
    page_size,
    partner_country,
    program_day,
)
from gateway.read.common import brn as valid_brn
from gateway.read.common import fiscal_year as valid_fiscal_year
from gateway.read.context import Context, load_one
from gateway.read.describe import INDUSTRIES, most
from gateway.read.firms.model import FIRM, FIRMS_READ
from gateway.read.firms.types import (
    LEADING_FIRM_TARGET,
    LEADING_FIRM_TARGET_YEAR,
    CohortCount,
    DesignationProgress,
    Firm,
    FirmConnection,
    FirmEdge,
    FirmFilter,
    YearCount,
    needed_per_year,
)
from gateway.read.hub import ChangeRow
from mpe_events.topics import TOPICS
from mpe_kit.pagination import encode_cursor

TECHNOLOGY_CODE = "The technology's code, such as SEMI-001, as Technology.code gives it."
YEAR = "The fiscal year, such as 2023 (the calendar year)."


def _page_info(rows: list[asyncpg.Record], size: int, cursors: list[str]) -> PageInfo:
    """A page of `size + 1` rows: the extra one says a next page exists."""
    return PageInfo(has_next_page=len(rows) > size, end_cursor=cursors[-1] if cursors else None)


def _technology_page(
    info: Info[Context, Any], rows: list[asyncpg.Record], size: int, total: int
) -> TechnologyConnection:
    edges = [
        TechnologyEdge(cursor=encode_cursor([r["code"]]), node=Technology.from_row(r)) for r in rows[:size]
    ]
    info.context.rows(TECHNOLOGY).prime_many({r["code"]: r for r in rows[:size]})
    return TechnologyConnection(
        edges=edges, page_info=_page_info(rows, size, [e.cursor for e in edges]), total_count=total
    )


def _by_year(first_by_year: dict[int, int], day: date) -> list[YearCount]:
    """Every year from the first designation's to `day`'s, with new and cumulative firms."""
    if not first_by_year:
        return []
    counts: list[YearCount] = []
    total = 0
    for year in range(min(first_by_year), day.year + 1):
        total += first_by_year.get(year, 0)
        counts.append(YearCount(year=year, designated=first_by_year.get(year, 0), cumulative=total))
    return counts


@strawberry.type
class Query:
    """What partner agencies can read."""

    # Nullable like every scoped root field: a key without the scope gets null and FORBIDDEN
    # here without losing the rest of its answer.
    @strawberry.field(
        metadata=most(INDUSTRIES),
        extensions=CATALOG,
        description="The industries of the technology list, by code.",
    )
    async def industries(self, info: Info[Context, Any]) -> list[Industry] | None:
        async with info.context.pool.acquire() as conn:
            return [Industry.from_row(r) for r in await store.catalog.industries(conn)]

    @strawberry.field(
        extensions=CATALOG,
        description=(
            "Technologies by code, listed and retired, narrowed by the filter; a page of `first` after"
            " the cursor `after`."
        ),
    )
    async def technologies(
        self,
        info: Info[Context, Any],
        filter: Annotated[
            TechnologyFilter | None,
            strawberry.argument(description="Only the technologies that match; omitted, all."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> TechnologyConnection | None:
        size = page_size(first, info.context.max_page)
        f = filter or TechnologyFilter()
        rf = store.catalog.TechnologyFilter(
            industry=f.industry,
            kind=f.kind.value if f.kind else None,
            status=f.status.value if f.status else None,
            as_of=f.as_of,
            search=f.search,
        )
        async with info.context.pool.acquire() as conn:
            rows = await store.catalog.technologies_page(conn, rf, after=after_key(after), limit=size + 1)
            total = await store.catalog.technologies_count(conn, rf)
        return _technology_page(info, rows, size, total)

    @strawberry.field(
        extensions=CATALOG, description="One technology by its code, e.g. SEMI-001; null if unknown."
    )
    async def technology(
        self, info: Info[Context, Any], code: Annotated[str, strawberry.argument(description=TECHNOLOGY_CODE)]
    ) -> Technology | None:
        async with info.context.pool.acquire() as conn:
            row = await store.catalog.technology(conn, code)
        return Technology.from_row(row) if row else None

    @strawberry.field(
        extensions=CATALOG,
        description="The list's published revisions, in effectiveOn order, each with its changes.",
    )
    async def revisions(
        self, info: Info[Context, Any], first: First = 20, after: After = None
    ) -> RevisionConnection | None:
        size = page_size(first, info.context.max_page)
        async with info.context.pool.acquire() as conn:
            rows = await store.catalog.revisions_page(conn, after=after_day_id(after), limit=size + 1)
            total = await store.catalog.revisions_count(conn)
        edges = [RevisionEdge(cursor=revision_cursor(r), node=Revision.from_row(r)) for r in rows[:size]]
        return RevisionConnection(
            edges=edges, page_info=_page_info(rows, size, [e.cursor for e in edges]), total_count=total
        )

    @strawberry.field(extensions=CATALOG, description="One published revision by its id; null if unknown.")
    async def revision(
        self,
        info: Info[Context, Any],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The revision's id (a UUID), as Revision.id gives it."),
        ],
    ) -> Revision | None:
        try:
            rid = uuid.UUID(str(id))
        except ValueError:
            return None
        async with info.context.pool.acquire() as conn:
            row = await store.catalog.revision(conn, rid)
        return Revision.from_row(row) if row else None

    @strawberry.field(
        extensions=FIRMS, description="One firm by its BRN, with or without hyphens; null if unknown."
    )
    async def firm(
        self, info: Info[Context, Any], brn: Annotated[str, strawberry.argument(description=BRN_GIVEN)]
    ) -> Firm | None:
        return await load_one(info, FIRM, valid_brn(brn), Firm.from_row)

    @strawberry.field(
        extensions=FIRMS, description="Firms by BRN, narrowed by the filter; a page of `first` after `after`."
    )
    async def firms(
        self,
        info: Info[Context, Any],
        filter: Annotated[
            FirmFilter | None, strawberry.argument(description="Only the firms that match; omitted, all.")
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> FirmConnection | None:
        size = page_size(first, info.context.max_page)
        f = filter or FirmFilter()
        rf = store.firms.FirmFilter(
            size=f.size.value if f.size else None,
            region=f.region,
            technology=f.technology,
            designation_kind=f.designation_kind.value if f.designation_kind else None,
            designation_status=f.designation_status.value if f.designation_status else None,
            search=f.search,
        )
        async with info.context.pool.acquire() as conn:
            rows = await store.firms.firms_page(conn, rf, after=after_key(after), limit=size + 1)
            total = await store.firms.firms_count(conn, rf)
        edges = [FirmEdge(cursor=encode_cursor([r["brn"]]), node=Firm.from_row(r)) for r in rows[:size]]
        info.context.rows(FIRM).prime_many({r["brn"]: r for r in rows[:size]})
        return FirmConnection(
            edges=edges, page_info=_page_info(rows, size, [e.cursor for e in edges]), total_count=total
        )

    @strawberry.field(
        extensions=FIRMS, description="Leading firms designated and active on a day (default today in Korea)."
    )
    async def designation_progress(
        self,
        info: Info[Context, Any],
        as_of: Annotated[
            date | None,
            strawberry.argument(
                description=(
                    "The day to count on, as YYYY-MM-DD, from 2000-01-01 to 2100-12-31 (the program's"
                    " days, as the staff APIs take them); omitted, today in Korea (KST)."
                )
            ),
        ] = None,
    ) -> DesignationProgress | None:
        day = program_day("asOf", as_of) if as_of is not None else datetime.now(SEOUL).date()
        async with info.context.pool.acquire() as conn:
            p = await store.firms.designation_progress(conn, day)
        return DesignationProgress(
            as_of=day,
            designated=p.designated,
            active=p.active,
            target=LEADING_FIRM_TARGET,
            by_cohort=[CohortCount(cohort=c, designated=n) for c, n in p.by_cohort],
            target_year=LEADING_FIRM_TARGET_YEAR,
            by_year=_by_year(p.first_by_year, day),
            needed_per_year=needed_per_year(p.designated, day),
        )

    @strawberry.field(extensions=BUDGET, description="One program by its code; null if unknown.")
    async def program(
        self,
        info: Info[Context, Any],
        code: Annotated[
            str, strawberry.argument(description="The program's code, as Program.code gives it.")
        ],
    ) -> Program | None:
        return await load_one(info, PROGRAM, code, Program.from_row)

    @strawberry.field(extensions=BUDGET, description="Programs by code, of one fiscal year or all.")
    async def programs(
        self,
        info: Info[Context, Any],
        fiscal_year: Annotated[
            int | None,
            strawberry.argument(description="Only the programs of this fiscal year; omitted, every year."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> ProgramConnection | None:
        size = page_size(first, info.context.max_page)
        if fiscal_year is not None:
            valid_fiscal_year(fiscal_year)
        async with info.context.pool.acquire() as conn:
            rows = await store.budget.programs_page(
                conn, fiscal_year=fiscal_year, after=after_key(after), limit=size + 1
            )
            total = await store.budget.programs_count(conn, fiscal_year=fiscal_year)
        edges = [
            ProgramEdge(cursor=encode_cursor([r["code"]]), node=Program.from_row(r)) for r in rows[:size]
        ]
        info.context.rows(PROGRAM).prime_many({r["code"]: r for r in rows[:size]})
        return ProgramConnection(
            edges=edges, page_info=_page_info(rows, size, [e.cursor for e in edges]), total_count=total
        )

    @strawberry.field(extensions=BUDGET, description="One project by its code; null if unknown.")
    async def project(
        self,
        info: Info[Context, Any],
        code: Annotated[
            str, strawberry.argument(description="The project's code, as Project.code gives it.")
        ],
    ) -> Project | None:
        return await load_one(info, PROJECT, code, Project.from_row)

    @strawberry.field(extensions=BUDGET, description="Projects by code, narrowed by the filter.")
    async def projects(
        self,
        info: Info[Context, Any],
        filter: Annotated[
            ProjectFilter | None,
            strawberry.argument(description="Only the projects that match; omitted, all."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> ProjectConnection | None:
        size = page_size(first, info.context.max_page)
        f = filter or ProjectFilter()
        if f.firm is not None and (forbidden := lacks(info.context.partner, FIRMS_READ)):
            # Which projects a firm leads is the firms' to tell, as `leadFirm` is.
            raise forbidden
        rf = store.budget.ProjectFilter(
            program=f.program,
            technology=f.technology,
            firm=valid_brn(f.firm) if f.firm is not None else None,
            status=f.status.value if f.status else None,
            fiscal_year=valid_fiscal_year(f.fiscal_year) if f.fiscal_year is not None else None,
            kind=f.kind.value if f.kind else None,
            partner_country=partner_country(f.partner_country) if f.partner_country is not None else None,
        )
        async with info.context.pool.acquire() as conn:
            rows = await store.budget.projects_page(conn, rf, after=after_key(after), limit=size + 1)
            total = await store.budget.projects_count(conn, rf)
        edges = [
            ProjectEdge(cursor=encode_cursor([r["code"]]), node=Project.from_row(r)) for r in rows[:size]
        ]
        info.context.rows(PROJECT).prime_many({r["code"]: r for r in rows[:size]})
        return ProjectConnection(
            edges=edges, page_info=_page_info(rows, size, [e.cursor for e in edges]), total_count=total
        )

    @strawberry.field(
        extensions=BUDGET,
        description=(
            "One fiscal year's money and projects, overall, by industry and by track. programmedKrw"
            " sums the year's program budgets; committedKrw and disbursedKrw sum the year's projects. "
            + COUNT_RULE
        ),
    )
    async def program_overview(
        self, info: Info[Context, Any], fiscal_year: Annotated[int, strawberry.argument(description=YEAR)]
    ) -> ProgramOverview | None:
        return await ProgramOverview.of_year(info.context.pool, valid_fiscal_year(fiscal_year))

    @strawberry.field(metadata=most(rows_at_most), extensions=BUDGET, description=SPENDING)
    async def spending(
        self,
        info: Info[Context, Any],
        group_by: Annotated[
            list[SpendingDimension],
            strawberry.argument(description="The dimensions to group by; none: one row."),
        ],
        filter: Annotated[
            SpendingFilter | None,
            strawberry.argument(description="Only the projects (or payments) matching it."),
        ] = None,
    ) -> list[SpendingRow] | None:
        if (
            filter is not None
            and filter.firm is not None
            and (forbidden := lacks(info.context.partner, FIRMS_READ))
        ):
            raise forbidden  # a firm's money tells which projects it leads
        return [SpendingRow.from_row(r) for r in await spending_rows(info.context.pool, group_by, filter)]

    @strawberry.field(extensions=BUDGET, description=COVERAGE_GAPS)
    async def coverage_gaps(
        self,
        info: Info[Context, Any],
        fiscal_year: Annotated[int, strawberry.argument(description=YEAR)],
        first: First = 20,
        after: After = None,
        missing: Annotated[
            CoverageMissing,
            strawberry.argument(description="What a technology must lack to be listed; BOTH by default."),
        ] = CoverageMissing.BOTH,
    ) -> TechnologyConnection | None:
        year = valid_fiscal_year(fiscal_year)
        size = page_size(first, info.context.max_page)
        lacking = missing.name.lower()
        async with info.context.pool.acquire() as conn:
            rows = await store.budget.coverage_gaps_page(
                conn, year, lacking, after=after_key(after), limit=size + 1
            )
            total = await store.budget.coverage_gaps_count(conn, year, lacking)
        return _technology_page(info, rows, size, total)

    @strawberry.field(
        metadata=most(len(TOPICS)), description="How current the read model is, per source topic."
    )
    async def data_as_of(self, info: Info[Context, Any]) -> list[SourceFreshness]:
        async with info.context.pool.acquire() as conn:
            rows = await store.changes.freshness(conn)
        return [
            SourceFreshness(
                topic=r["topic"],
                last_event_time=r["last_event_time"],
                last_applied_at=r["last_applied_at"],
                lag=r["lag"],
                caught_up_at=r["caught_up_at"],
            )
            for r in rows
        ]

    @strawberry.field(description=CHANGES)
    async def changes(
        self,
        info: Info[Context, Any],
        since: Annotated[datetime, strawberry.argument(description=SINCE)],
        types: Annotated[list[ChangeEntityType] | None, strawberry.argument(description=TYPES)] = None,
        first: First = 20,
        after: After = None,
    ) -> ChangeConnection | None:
        wanted = feed_types(info.context.partner, types)
        size = page_size(first, info.context.max_page)
        position = seq_after(after)
        if since.tzinfo is None:
            raise bad_input(
                "`since` needs its UTC offset, such as 2024-01-01T00:00:00+09:00.",
                "`since`에는 2024-01-01T00:00:00+09:00처럼 UTC 오프셋이 있어야 합니다.",
            )
        rows: list[asyncpg.Record] = []
        if wanted:
            async with info.context.pool.acquire() as conn:
                rows = await store.changes.changes_page(
                    conn, types=[t.value for t in wanted], since=since, after=position, limit=size + 1
                )
        edges = [
            ChangeEdge(cursor=encode_cursor([r["seq"]]), node=Change.from_row(ChangeRow.from_row(r)))
            for r in rows[:size]
        ]
        return ChangeConnection(edges=edges, page_info=_page_info(rows, size, [e.cursor for e in edges]))
