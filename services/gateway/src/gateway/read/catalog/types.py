"""The catalog family's GraphQL types: industries and technologies.

Their fields come from the description (`model.py`); the resolvers follow its lookups and
relations through the context's loaders. A relation to a family defined later (firms, budget)
imports its type where it is resolved, as that family imports this one.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway.read.budget.model import TECHNOLOGY_PROJECTS
from gateway.read.catalog.model import (
    INDUSTRY,
    TECHNOLOGY,
    TECHNOLOGY_INDUSTRY,
    TechnologyKind,
    TechnologyStatus,
)
from gateway.read.common import (
    BUDGET,
    COUNT_RULE,
    CURSOR,
    EDGES,
    FIRMS,
    NAME_EN,
    NAME_KO,
    PAGE_EDGES,
    PAGE_INFO,
    TOTAL_COUNT,
    First,
    PageInfo,
)
from gateway.read.common import fiscal_year as valid_fiscal_year
from gateway.read.context import Context, load_children, load_one
from gateway.read.describe import FISCAL_YEARS, most
from gateway.read.firms.model import (
    TECHNOLOGY_CONFIRMATIONS,
    TECHNOLOGY_DESIGNATIONS,
    TECHNOLOGY_FIRMS,
    DesignationStatus,
)

if TYPE_CHECKING:
    from gateway.read.budget.types import Funding, Project, YearFunding
    from gateway.read.firms.types import Confirmation, Designation, Firm

FIRMS_TYPES = strawberry.lazy("gateway.read.firms.types")
BUDGET_TYPES = strawberry.lazy("gateway.read.budget.types")


@strawberry.type
class Industry:
    """An industry of the program."""

    code: str = strawberry.field(description="The industry's code, such as SEMI; it never changes.")
    name_en: str = strawberry.field(description=NAME_EN)
    name_ko: str = strawberry.field(description=NAME_KO)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Industry:
        """From a read-model row."""
        return cls(**INDUSTRY.values(row))

    @strawberry.field(description="Technologies of this industry on the list today, or on `asOf`.")
    async def technology_count(
        self,
        info: Info[Context, Any],
        as_of: Annotated[
            date | None,
            strawberry.argument(
                description=(
                    "Count the technologies on the list that day, as YYYY-MM-DD (listed on or before it"
                    " and not retired by it); omitted, those whose status is LISTED now."
                )
            ),
        ] = None,
    ) -> int:
        counts = await info.context.count_loader.load(as_of)
        return counts.get(self.code, 0)


@strawberry.type
class Technology:
    """A key strategic technology."""

    code: str = strawberry.field(description="The technology's code, such as SEMI-001; it never changes.")
    name_en: str = strawberry.field(description=NAME_EN)
    name_ko: str = strawberry.field(description=NAME_KO)
    description: str = strawberry.field(description="What the technology covers, in the list's own words.")
    kind: TechnologyKind = strawberry.field(description="Whether it is a material, a part or equipment.")
    status: TechnologyStatus = strawberry.field(description="Whether it is on the list now or retired.")
    listed_on: date = strawberry.field(description="The day it came onto the list, as YYYY-MM-DD.")
    retired_on: date | None = strawberry.field(
        description=("The first day it is no longer on the list, as YYYY-MM-DD; null while it is listed.")
    )
    version: int = strawberry.field(
        description=(
            "1 when first listed, one more with each change; Change.version in the change feed counts"
            " the same way."
        )
    )
    industry_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Technology:
        """From a read-model row."""
        return cls(**TECHNOLOGY.values(row))

    @strawberry.field(description="The industry it belongs to; null until that industry's event has arrived.")
    async def industry(self, info: Info[Context, Any]) -> Industry | None:
        return await load_one(info, TECHNOLOGY_INDUSTRY.child, self.industry_code, Industry.from_row)

    @strawberry.field(
        extensions=FIRMS,
        description=(
            "Firms holding a confirmation for this technology valid on validOn (default today in"
            " Korea), by BRN. A firm's own declaration does not count: see Firm.declaredTechnologies."
        ),
    )
    async def firms(
        self,
        info: Info[Context, Any],
        first: First = 20,
        valid_on: Annotated[
            date | None,
            strawberry.argument(
                description=(
                    "The day the confirmation must hold, as YYYY-MM-DD (issuedOn on or before it,"
                    " validUntil after it); omitted, today in Korea (KST)."
                )
            ),
        ] = None,
    ) -> list[Annotated[Firm, FIRMS_TYPES]] | None:
        from gateway.read.firms.types import Firm

        return await load_children(info, TECHNOLOGY_FIRMS, self.code, first, Firm.from_row, valid_on=valid_on)

    @strawberry.field(
        extensions=FIRMS,
        description=(
            "Confirmations issued for this technology, in the order issued: those valid on validOn,"
            " or (validOn omitted) all of them."
        ),
    )
    async def confirmations(
        self,
        info: Info[Context, Any],
        first: First = 20,
        valid_on: Annotated[
            date | None,
            strawberry.argument(
                description=(
                    "Only confirmations that hold that day, as YYYY-MM-DD (issuedOn on or before it,"
                    " validUntil after it); omitted, every one, expired ones included."
                )
            ),
        ] = None,
    ) -> list[Annotated[Confirmation, FIRMS_TYPES]] | None:
        from gateway.read.firms.types import Confirmation

        return await load_children(
            info, TECHNOLOGY_CONFIRMATIONS, self.code, first, Confirmation.from_row, valid_on=valid_on
        )

    @strawberry.field(extensions=FIRMS, description="Designations for this technology, in the order applied.")
    async def designations(
        self,
        info: Info[Context, Any],
        status: Annotated[
            DesignationStatus | None,
            strawberry.argument(description="Only designations in this status; omitted, all of them."),
        ] = None,
        first: First = 20,
    ) -> list[Annotated[Designation, FIRMS_TYPES]] | None:
        from gateway.read.firms.types import Designation

        wanted = status.value if status else None
        return await load_children(
            info, TECHNOLOGY_DESIGNATIONS, self.code, first, Designation.from_row, status=wanted
        )

    @strawberry.field(
        extensions=BUDGET, description="Projects touching this technology, newest fiscal year first."
    )
    async def projects(
        self, info: Info[Context, Any], first: First = 20
    ) -> list[Annotated[Project, BUDGET_TYPES]] | None:
        from gateway.read.budget.types import Project

        return await load_children(info, TECHNOLOGY_PROJECTS, self.code, first, Project.from_row)

    @strawberry.field(
        extensions=BUDGET,
        description=(
            "Money over every project that touches this technology, in one fiscal year or (fiscalYear"
            " omitted) in all. A project with several technologies counts in full under each of them,"
            " so these sums overlap between technologies and do not add up to a total: use"
            " programOverview.byIndustry for figures that do. " + COUNT_RULE
        ),
    )
    async def funding(
        self,
        info: Info[Context, Any],
        fiscal_year: Annotated[
            int | None,
            strawberry.argument(
                description="Only projects of this fiscal year, such as 2023; omitted, every year."
            ),
        ] = None,
    ) -> Annotated[Funding, BUDGET_TYPES] | None:
        from gateway.read.budget.types import Funding

        if fiscal_year is not None:
            valid_fiscal_year(fiscal_year)
        return Funding.of(await info.context.technology_funding_loader.load((self.code, fiscal_year)))

    @strawberry.field(
        metadata=most(FISCAL_YEARS),
        extensions=BUDGET,
        description=(
            "Technology.funding for every fiscal year at once, oldest year first: one entry per year in"
            " which a project touching this technology counts or holds money (other years are left out;"
            " funding(fiscalYear) gives them as zeros). The same rules as funding: a project counts in full"
            " under each of its technologies. " + COUNT_RULE
        ),
    )
    async def funding_by_year(
        self, info: Info[Context, Any]
    ) -> list[Annotated[YearFunding, BUDGET_TYPES]] | None:
        from gateway.read.budget.types import YearFunding

        return [YearFunding.of(r) for r in await info.context.technology_years_loader.load(self.code)]


@strawberry.type
class TechnologyEdge:
    """A technology and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Technology = strawberry.field(description="The technology.")


@strawberry.type
class TechnologyConnection:
    """A page of technologies."""

    edges: list[TechnologyEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


@strawberry.input
class TechnologyFilter:
    """Filters of the technology list."""

    industry: str | None = strawberry.field(
        default=None, description="Only technologies of this industry code, such as SEMI."
    )
    kind: TechnologyKind | None = strawberry.field(
        default=None, description="Only technologies of this kind."
    )
    status: TechnologyStatus | None = strawberry.field(
        default=None, description="Only technologies in this status now."
    )
    as_of: date | None = strawberry.field(default=None, description="Only technologies on the list that day.")
    search: str | None = strawberry.field(default=None, description="Text in either name.")
