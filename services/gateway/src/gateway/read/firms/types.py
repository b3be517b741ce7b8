"""The firms family's GraphQL types: firms, designations, and the progress toward the target.

Their fields come from the description (`model.py`); the resolvers follow its lookups and
relations through the context's loaders. A designation's history is a JSON list in its row,
built here by hand. Projects (the budget family, defined later) are imported where resolved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway.read.budget.model import FIRM_PROJECTS
from gateway.read.catalog.types import Technology
from gateway.read.common import (
    ACTOR,
    AT,
    BUDGET,
    CURSOR,
    EDGES,
    EFFECTIVE_ON,
    FINANCIAL,
    PAGE_EDGES,
    PAGE_INFO,
    TOTAL_COUNT,
    First,
    PageInfo,
)
from gateway.read.context import Context, load_children, load_many, load_one
from gateway.read.describe import FISCAL_YEARS, TECHNOLOGY_CODES, TRANSITIONS, most
from gateway.read.firms.model import (
    CONFIRMATION,
    CONFIRMATION_FIRM,
    CONFIRMATION_TECHNOLOGY,
    DESIGNATION,
    DESIGNATION_FIRM,
    DESIGNATION_TECHNOLOGIES,
    FIRM,
    FIRM_CONFIRMATIONS,
    FIRM_DECLARED_TECHNOLOGIES,
    FIRM_DESIGNATIONS,
    FIRM_TECHNOLOGIES,
    DesignationKind,
    DesignationStatus,
    FirmSize,
)

if TYPE_CHECKING:
    from gateway.read.budget.consortium import FirmFunding
    from gateway.read.budget.types import Project

BUDGET_TYPES = strawberry.lazy("gateway.read.budget.types")
CONSORTIUM = strawberry.lazy("gateway.read.budget.consortium")
# The program's goal: 200 leading firms (으뜸기업) by 2030.
LEADING_FIRM_TARGET = 200
LEADING_FIRM_TARGET_YEAR = 2030


@strawberry.type
class Firm:
    """A firm of the program."""

    brn: str = strawberry.field(description="Business registration number, 10 digits.")
    brn_display: str = strawberry.field(description="The BRN as 123-45-67890.")
    name_en: str = strawberry.field(description="The firm's English name.")
    name_ko: str = strawberry.field(description="The firm's Korean name (한글), as registered.")
    size: FirmSize = strawberry.field(description="The firm's size class now.")
    size_since: date = strawberry.field(
        description="The day it entered its current size class, as YYYY-MM-DD."
    )
    region: str = strawberry.field(
        description="The region (시·도) of its registered seat, in Korean as registered, such as 경기 or 서울."
    )
    technology_codes: strawberry.Private[list[str]]
    sales_ratio: strawberry.Private[float | None]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Firm:
        """From a read-model row."""
        return cls(**FIRM.values(row))

    @strawberry.field(
        metadata=most(TECHNOLOGY_CODES),
        description="Technologies the firm declares, retired ones included.",
        deprecation_reason=(
            "The firm's own declaration, not a confirmation: use declaredTechnologies, or confirmations"
            " for what it holds."
        ),
    )
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(info, FIRM_TECHNOLOGIES.child, self.technology_codes, Technology.from_row)

    @strawberry.field(
        metadata=most(TECHNOLOGY_CODES),
        description=(
            "Technologies the firm declares it works in (self-declared, retired ones included);"
            " what it holds is in confirmations."
        ),
    )
    async def declared_technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(
            info, FIRM_DECLARED_TECHNOLOGIES.child, self.technology_codes, Technology.from_row
        )

    @strawberry.field(
        description="The firm's confirmations (핵심전략기술 확인서), expired ones included, by technology."
    )
    async def confirmations(self, info: Info[Context, Any], first: First = 20) -> list[Confirmation]:
        return await load_children(info, FIRM_CONFIRMATIONS, self.brn, first, Confirmation.from_row)

    @strawberry.field(description="The firm's designations, in the order applied for.")
    async def designations(self, info: Info[Context, Any], first: First = 20) -> list[Designation]:
        return await load_children(info, FIRM_DESIGNATIONS, self.brn, first, Designation.from_row)

    @strawberry.field(extensions=BUDGET, description="Projects the firm leads, newest fiscal year first.")
    async def projects(
        self, info: Info[Context, Any], first: First = 20
    ) -> list[Annotated[Project, BUDGET_TYPES]] | None:
        from gateway.read.budget.types import Project

        return await load_children(info, FIRM_PROJECTS, self.brn, first, Project.from_row)

    @strawberry.field(
        extensions=BUDGET,
        description=(
            "The firm's money over every fiscal year: as the lead of projects and as a participant in"
            " others' (its own shares of each, and those projects' committed and disbursed money)."
        ),
    )
    async def funding(self, info: Info[Context, Any]) -> Annotated[FirmFunding, CONSORTIUM] | None:
        from gateway.read.budget.consortium import FirmFunding

        return await FirmFunding.of_firm(info.context.pool, self.brn)

    @strawberry.field(
        extensions=FINANCIAL,
        description="Share of MPE sales in total sales, 0 to 1; needs firms:financials.",
    )
    def mpe_sales_ratio(self) -> float | None:
        return self.sales_ratio


@strawberry.type
class Confirmation:
    """A key-strategic-technology confirmation (핵심전략기술 확인서): a firm holds a technology."""

    issued_on: date = strawberry.field(description="The day it was issued and began to hold, as YYYY-MM-DD.")
    valid_until: date = strawberry.field(description="First day the confirmation no longer holds.")
    brn: strawberry.Private[str]
    technology_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Confirmation:
        """From a read-model row."""
        return cls(**CONFIRMATION.values(row))

    @strawberry.field(description="The firm holding it; null until the firm's event has arrived.")
    async def firm(self, info: Info[Context, Any]) -> Firm | None:
        return await load_one(info, CONFIRMATION_FIRM.child, self.brn, Firm.from_row)

    @strawberry.field(
        description="The technology it confirms; null until that technology's event has arrived."
    )
    async def technology(self, info: Info[Context, Any]) -> Technology | None:
        return await load_one(info, CONFIRMATION_TECHNOLOGY.child, self.technology_code, Technology.from_row)


@strawberry.type
class DesignationTransition:
    """One move of a designation's status."""

    from_status: DesignationStatus | None = strawberry.field(
        description="The status before the move; null for the application itself, the first move."
    )
    to_status: DesignationStatus = strawberry.field(description="The status after the move.")
    at: datetime = strawberry.field(description=AT)
    effective_on: date = strawberry.field(description=EFFECTIVE_ON)
    actor: str = strawberry.field(description=ACTOR)
    reason: str | None = strawberry.field(
        description="Why, as the ministry wrote it; always given for REJECTED and REVOKED, else may be null."
    )

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> DesignationTransition:
        """From one entry of the read model's history column."""
        return cls(
            from_status=DesignationStatus(item["from_status"]) if item["from_status"] else None,
            to_status=DesignationStatus(item["to_status"]),
            at=datetime.fromisoformat(item["at"]),
            effective_on=date.fromisoformat(item["effective_on"]),
            actor=item["actor"],
            reason=item["reason"],
        )


@strawberry.type
class Designation:
    """An application for, and then the state of, a designation."""

    id: strawberry.ID = strawberry.field(description="The designation's id, a UUID; it never changes.")
    kind: DesignationKind = strawberry.field(description="Leading or specialized.")
    cohort: int | None = strawberry.field(description="Leading-firm cohort (1st in 2021 …).")
    status: DesignationStatus = strawberry.field(description="Where it stands now.")
    applied_on: date = strawberry.field(description="The day the firm applied, as YYYY-MM-DD.")
    designated_on: date | None = strawberry.field(
        description="The day it was designated, as YYYY-MM-DD; null if it never was (yet)."
    )
    valid_until: date | None = strawberry.field(description="First day the designation no longer holds.")
    history: list[DesignationTransition] = strawberry.field(
        metadata=most(TRANSITIONS),
        description="Every move of its status, oldest first, from the application on.",
    )
    brn: strawberry.Private[str]
    technology_codes: strawberry.Private[list[str]]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Designation:
        """From a read-model row; its history is the one column the description leaves to this type."""
        values = DESIGNATION.values(row)
        values["history"] = [DesignationTransition.from_json(t) for t in row["history"]]
        return cls(**values)

    @strawberry.field(description="The firm designated; null until the firm's event has arrived.")
    async def firm(self, info: Info[Context, Any]) -> Firm | None:
        return await load_one(info, DESIGNATION_FIRM.child, self.brn, Firm.from_row)

    @strawberry.field(
        metadata=most(TECHNOLOGY_CODES),
        description="The technologies it is for; one whose event has not arrived yet is left out.",
    )
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(
            info, DESIGNATION_TECHNOLOGIES.child, self.technology_codes, Technology.from_row
        )


@strawberry.type
class FirmEdge:
    """A firm and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Firm = strawberry.field(description="The firm.")


@strawberry.type
class FirmConnection:
    """A page of firms."""

    edges: list[FirmEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


@strawberry.input
class FirmFilter:
    """Filters of the firm list; designationKind and designationStatus match one and the same designation."""

    size: FirmSize | None = strawberry.field(default=None, description="Only firms of this size class.")
    region: str | None = strawberry.field(
        default=None,
        description="Only firms of this region (시·도), in any of its spellings: 경기, 경기도 and Gyeonggi alike.",
    )
    technology: str | None = strawberry.field(
        default=None,
        description=(
            "A technology code the firm declares (declaredTechnologies); for the firms holding a"
            " confirmation, ask Technology.firms."
        ),
    )
    designation_kind: DesignationKind | None = strawberry.field(
        default=None, description="Only firms with a designation of this kind."
    )
    designation_status: DesignationStatus | None = strawberry.field(
        default=None, description="Only firms with a designation in this status."
    )
    search: str | None = strawberry.field(default=None, description="Text in either name.")


@strawberry.type
class CohortCount:
    """Firms designated leading firms in one cohort."""

    cohort: int | None = strawberry.field(
        description="The cohort (1 for the first, designated in 2021); null for designations without one."
    )
    designated: int = strawberry.field(
        description="Distinct firms of this cohort designated on or before asOf, whatever happened later."
    )


@strawberry.type
class YearCount:
    """Leading firms designated in one calendar year."""

    year: int = strawberry.field(description="The calendar year (in Korea).")
    designated: int = strawberry.field(
        description="Firms whose first leading designation was made this year (up to asOf in asOf's year)."
    )
    cumulative: int = strawberry.field(
        description="Distinct firms designated leading firms by the end of this year (by asOf in its year)."
    )


def needed_per_year(designated: int, as_of: date) -> int | None:
    """Leading firms a year still needed to reach the target by the end of its year; see neededPerYear."""
    years_left = LEADING_FIRM_TARGET_YEAR - as_of.year + 1
    if years_left < 1:
        return None
    return max(0, -(-(LEADING_FIRM_TARGET - designated) // years_left))


@strawberry.type
class DesignationProgress:
    """Progress toward the target of leading firms, on a day."""

    as_of: date = strawberry.field(description="The day counted on, as YYYY-MM-DD.")
    designated: int = strawberry.field(
        description="Distinct firms designated leading firms on or before asOf, whatever happened later."
    )
    active: int = strawberry.field(
        description="Distinct firms holding a leading designation on asOf (not yet expired or revoked)."
    )
    target: int = strawberry.field(description="The program's goal: 200 leading firms by 2030.")
    by_cohort: list[CohortCount] = strawberry.field(
        metadata=most(FISCAL_YEARS),
        description="The designated count per cohort, in cohort order; a null cohort comes last.",
    )
    target_year: int = strawberry.field(
        description="The year by whose end the target is to be reached (2030)."
    )
    by_year: list[YearCount] = strawberry.field(
        metadata=most(FISCAL_YEARS),
        description=(
            "Per calendar year, from the year of the first leading designation to asOf's year (years"
            " without one included): the firms newly designated and the running total."
        ),
    )
    needed_per_year: int | None = strawberry.field(
        description=(
            "Leading firms still needed a year to reach the target by the end of targetYear: the"
            " target less `designated`, over the years left counting asOf's own year (its cohort may"
            " still come), rounded up; 0 once the target is met, null after targetYear."
        )
    )
