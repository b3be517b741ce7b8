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
from gateway.read.common import BUDGET, FINANCIAL, PageInfo
from gateway.read.context import Context, load_children, load_many, load_one
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


@strawberry.type
class Firm:
    """A firm of the program."""

    brn: str = strawberry.field(description="Business registration number, 10 digits.")
    brn_display: str = strawberry.field(description="The BRN as 123-45-67890.")
    name_en: str
    name_ko: str
    size: FirmSize
    size_since: date
    region: str
    technology_codes: strawberry.Private[list[str]]
    sales_ratio: strawberry.Private[float | None]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Firm:
        """From a read-model row."""
        return cls(**FIRM.values(row))

    @strawberry.field(
        description="Technologies the firm declares, retired ones included.",
        deprecation_reason=(
            "The firm's own declaration, not a confirmation: use declaredTechnologies, or confirmations"
            " for what it holds."
        ),
    )
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(info, FIRM_TECHNOLOGIES.child, self.technology_codes, Technology.from_row)

    @strawberry.field(
        description=(
            "Technologies the firm declares it works in (self-declared, retired ones included);"
            " what it holds is in confirmations."
        )
    )
    async def declared_technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(
            info, FIRM_DECLARED_TECHNOLOGIES.child, self.technology_codes, Technology.from_row
        )

    @strawberry.field(
        description="The firm's confirmations (핵심전략기술 확인서), expired ones included, by technology."
    )
    async def confirmations(self, info: Info[Context, Any], first: int = 20) -> list[Confirmation]:
        return await load_children(info, FIRM_CONFIRMATIONS, self.brn, first, Confirmation.from_row)

    @strawberry.field(description="The firm's designations, in the order applied for.")
    async def designations(self, info: Info[Context, Any], first: int = 20) -> list[Designation]:
        return await load_children(info, FIRM_DESIGNATIONS, self.brn, first, Designation.from_row)

    @strawberry.field(extensions=BUDGET, description="Projects the firm leads, newest fiscal year first.")
    async def projects(
        self, info: Info[Context, Any], first: int = 20
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

    issued_on: date
    valid_until: date = strawberry.field(description="First day the confirmation no longer holds.")
    brn: strawberry.Private[str]
    technology_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Confirmation:
        """From a read-model row."""
        return cls(**CONFIRMATION.values(row))

    @strawberry.field
    async def firm(self, info: Info[Context, Any]) -> Firm | None:
        return await load_one(info, CONFIRMATION_FIRM.child, self.brn, Firm.from_row)

    @strawberry.field
    async def technology(self, info: Info[Context, Any]) -> Technology | None:
        return await load_one(info, CONFIRMATION_TECHNOLOGY.child, self.technology_code, Technology.from_row)


@strawberry.type
class DesignationTransition:
    """One move of a designation's status."""

    from_status: DesignationStatus | None
    to_status: DesignationStatus
    at: datetime
    effective_on: date
    actor: str
    reason: str | None

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

    id: strawberry.ID
    kind: DesignationKind
    cohort: int | None = strawberry.field(description="Leading-firm cohort (1st in 2021 …).")
    status: DesignationStatus
    applied_on: date
    designated_on: date | None
    valid_until: date | None = strawberry.field(description="First day the designation no longer holds.")
    history: list[DesignationTransition]
    brn: strawberry.Private[str]
    technology_codes: strawberry.Private[list[str]]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Designation:
        """From a read-model row; its history is the one column the description leaves to this type."""
        values = DESIGNATION.values(row)
        values["history"] = [DesignationTransition.from_json(t) for t in row["history"]]
        return cls(**values)

    @strawberry.field
    async def firm(self, info: Info[Context, Any]) -> Firm | None:
        return await load_one(info, DESIGNATION_FIRM.child, self.brn, Firm.from_row)

    @strawberry.field
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(
            info, DESIGNATION_TECHNOLOGIES.child, self.technology_codes, Technology.from_row
        )


@strawberry.type
class FirmEdge:
    """A firm and its cursor."""

    cursor: str
    node: Firm


@strawberry.type
class FirmConnection:
    """A page of firms."""

    edges: list[FirmEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class FirmFilter:
    """Filters of the firm list; designationKind and designationStatus match one and the same designation."""

    size: FirmSize | None = None
    region: str | None = None
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

    cohort: int | None
    designated: int


@strawberry.type
class DesignationProgress:
    """Progress toward the target of leading firms, on a day."""

    as_of: date
    designated: int = strawberry.field(
        description="Distinct firms designated leading firms on or before asOf, whatever happened later."
    )
    active: int = strawberry.field(
        description="Distinct firms holding a leading designation on asOf (not yet expired or revoked)."
    )
    target: int
    by_cohort: list[CohortCount]
