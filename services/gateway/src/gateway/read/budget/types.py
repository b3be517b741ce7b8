"""The budget family's GraphQL types: programs, projects, and the sums over projects.

Their fields come from the description (`model.py`); the resolvers follow its lookups and
relations through the context's loaders. A program's themes are a JSON list in its row, built
here by hand; the sums and the year's overview are hand-written statements of the store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway import store
from gateway.read.budget.consortium import Participant
from gateway.read.budget.model import (
    DISBURSEMENT,
    PROGRAM,
    PROGRAM_PROJECTS,
    PROJECT,
    PROJECT_CONTINUES,
    PROJECT_LEAD_FIRM,
    PROJECT_PARTICIPANTS,
    PROJECT_PROGRAM,
    PROJECT_TECHNOLOGIES,
    SUMS,
    AlchemistStage,
    ProgramKind,
    ProjectKind,
    ProjectStatus,
)
from gateway.read.catalog.types import Technology
from gateway.read.common import (
    ACTOR,
    AT,
    COUNT_RULE,
    CURSOR,
    EDGES,
    EFFECTIVE_ON,
    FIRMS,
    FISCAL_YEAR,
    NAME_EN,
    NAME_KO,
    PAGE_EDGES,
    PAGE_INFO,
    TOTAL_COUNT,
    After,
    First,
    PageInfo,
    Won,
    after_day_id,
    day_id_cursor,
    page_size,
)
from gateway.read.context import Context, load_children, load_many, load_one
from gateway.read.describe import (
    PROGRAM_THEMES,
    PROJECT_TECHNOLOGY_CODES,
    STAGE_TEAMS,
    THEME_STAGES,
    TRANSITIONS,
    Relation,
    most,
)
from gateway.read.firms.types import Firm


def sums(row: asyncpg.Record) -> dict[str, Any]:
    """The sums over a set of projects (`SUMS`), as a type's attributes."""
    return {c.attr: c.value(row[c.stored]) for c in SUMS}


@strawberry.type
class ThemeStage:
    """How many teams an alchemist theme funds at one stage in one fiscal year, and their projects."""

    stage: AlchemistStage = strawberry.field(description="The stage.")
    teams: int = strawberry.field(description="Teams funded at this stage in this fiscal year.")
    fiscal_year: int | None = strawberry.field(
        description="The fiscal year of this stage's funding; null for a stage recorded before stages had years."
    )
    project_codes: strawberry.Private[list[str]]

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> ThemeStage:
        """From one stage of a theme in the read model's themes column."""
        return cls(
            stage=AlchemistStage(item["stage"]),
            teams=item["teams"],
            fiscal_year=item.get("fiscal_year"),
            project_codes=list(item.get("project_codes") or []),
        )

    @strawberry.field(
        metadata=most(STAGE_TEAMS),
        description=(
            "The teams' projects at this stage in this year (one per team), in the order the program"
            " names them; a project whose event has not arrived is left out, and fewer than teams"
            " are named until every team's project is recorded."
        ),
    )
    async def projects(self, info: Info[Context, Any]) -> list[Project]:
        return await load_many(info, PROJECT, self.project_codes, Project.from_row)


@strawberry.type
class Theme:
    """An alchemist theme: a tournament whose team count never grows from stage to stage."""

    code: str = strawberry.field(description="The theme's code.")
    title: str = strawberry.field(description="The theme's title.")
    stages: list[ThemeStage] = strawberry.field(
        metadata=most(THEME_STAGES),
        description=(
            "Its stages in tournament order (concept, preliminary, main), each stage's fiscal years"
            " ascending: one entry per stage and year. Along that order the team count never grows"
            " (the budget service refuses a theme that would)."
        ),
    )

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Theme:
        """From one entry of the read model's themes column."""
        return cls(
            code=item["code"],
            title=item["title"],
            stages=[ThemeStage.from_json(s) for s in item["stages"]],
        )


@strawberry.type
class Funding:
    """Money committed and disbursed over a set of projects, and how many of them count."""

    committed_krw: Won = strawberry.field(description="Government money committed.")
    disbursed_krw: Won = strawberry.field(description="Government money paid out.")
    project_count: int = strawberry.field(description=COUNT_RULE)

    @classmethod
    def of(cls, row: asyncpg.Record | None) -> Funding:
        """From a row of sums (committed_krw, disbursed_krw, project_count); none, no money."""
        if row is None:
            return cls(committed_krw=Won(0), disbursed_krw=Won(0), project_count=0)
        return cls(**sums(row))


@strawberry.type
class YearFunding:
    """Money committed and disbursed over a set of projects of one fiscal year, and how many count."""

    fiscal_year: int = strawberry.field(description="The projects' fiscal year.")
    committed_krw: Won = strawberry.field(description="Government money committed.")
    disbursed_krw: Won = strawberry.field(description="Government money paid out.")
    project_count: int = strawberry.field(description=COUNT_RULE)

    @classmethod
    def of(cls, row: asyncpg.Record) -> YearFunding:
        """From a row of sums with its fiscal_year."""
        return cls(fiscal_year=row["fiscal_year"], **sums(row))


@strawberry.type
class Program:
    """A yearly budget program, and the money over its projects."""

    code: str = strawberry.field(description="The program's code; it never changes.")
    fiscal_year: int = strawberry.field(description=FISCAL_YEAR)
    name_en: str = strawberry.field(description=NAME_EN)
    name_ko: str = strawberry.field(description=NAME_KO)
    kind: ProgramKind = strawberry.field(description="What the program funds.")
    track: str | None = strawberry.field(description="The call's track (supply-chain stability …), if any.")
    budget_krw: Won = strawberry.field(description="The program's budget for its fiscal year.")
    themes: list[Theme] = strawberry.field(
        metadata=most(PROGRAM_THEMES), description="Alchemist themes; empty for other kinds."
    )

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Program:
        """From a read-model row; its themes are the one column the description leaves to this type."""
        values = PROGRAM.values(row)
        values["themes"] = [Theme.from_json(t) for t in row["themes"]]
        return cls(**values)

    async def _totals(self, info: Info[Context, Any]) -> Funding:
        return Funding.of(await info.context.program_totals_loader.load(self.code))

    @strawberry.field(description="Government money committed over the program's projects.")
    async def committed_krw(self, info: Info[Context, Any]) -> Won:
        return (await self._totals(info)).committed_krw

    @strawberry.field(description="Government money paid out over the program's projects.")
    async def disbursed_krw(self, info: Info[Context, Any]) -> Won:
        return (await self._totals(info)).disbursed_krw

    @strawberry.field(description=COUNT_RULE)
    async def project_count(self, info: Info[Context, Any]) -> int:
        return (await self._totals(info)).project_count

    @strawberry.field(description="The program's projects, whatever their status, by code.")
    async def projects(self, info: Info[Context, Any], first: First = 20) -> list[Project]:
        return await load_children(info, PROGRAM_PROJECTS, self.code, first, Project.from_row)


# Not a described relation: it answers one project, not a list (the compiler writes it by hand).
CONTINUED_BY = Relation("Project", "continuedBy", PROJECT, "continues", "code", (("code", False),))


@strawberry.type
class ProjectStep:
    """One move of a project's status."""

    from_status: ProjectStatus = strawberry.field(description="The status before the move.")
    to_status: ProjectStatus = strawberry.field(description="The status after the move.")
    at: datetime = strawberry.field(description=AT)
    effective_on: date = strawberry.field(description=EFFECTIVE_ON)
    actor: str = strawberry.field(description=ACTOR)
    reason: str | None = strawberry.field(
        description="Why, as the ministry wrote it; always given for TERMINATED, else may be null."
    )

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> ProjectStep:
        """From one entry of the read model's history column."""
        return cls(
            from_status=ProjectStatus(item["from_status"]),
            to_status=ProjectStatus(item["to_status"]),
            at=datetime.fromisoformat(item["at"]),
            effective_on=date.fromisoformat(item["effective_on"]),
            actor=item["actor"],
            reason=item["reason"],
        )


@strawberry.type
class Disbursement:
    """One payment of government money to a project."""

    id: strawberry.ID = strawberry.field(description="The payment's id, a UUID; a payment never changes.")
    paid_on: date = strawberry.field(description="The day in Korea the money was paid.")
    amount_krw: Won = strawberry.field(description="The amount paid, more than 0.")
    project_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Disbursement:
        """From a read-model row."""
        return cls(**DISBURSEMENT.values(row))


@strawberry.type
class DisbursementEdge:
    """A payment and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Disbursement = strawberry.field(description="The payment.")


@strawberry.type
class DisbursementConnection:
    """A page of a project's payments, in paidOn order."""

    edges: list[DisbursementEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


@strawberry.type
class Project:
    """An R&D project of one fiscal year: its split of money, what it commits and what was paid."""

    code: str = strawberry.field(
        description=(
            "The project's code; it never changes. A multi-year project has one record, with its own"
            " code, per fiscal year: see continues and continuedBy."
        )
    )
    title: str = strawberry.field(description="The project's title.")
    fiscal_year: int = strawberry.field(description=FISCAL_YEAR)
    kind: ProjectKind = strawberry.field(description="New this fiscal year, or continuing an earlier one.")
    status: ProjectStatus = strawberry.field(description="Where it stands now.")
    continues: str | None = strawberry.field(description="Code of the earlier project this one continues.")
    government_krw: Won = strawberry.field(description="Government contribution planned.")
    private_cash_krw: Won = strawberry.field(description="Private contribution in cash.")
    private_in_kind_krw: Won = strawberry.field(description="Private contribution in kind.")
    committed_krw: Won = strawberry.field(
        description="Government money committed: 0 until selected; once terminated, what was paid."
    )
    disbursed_krw: Won = strawberry.field(description="Government money paid out so far.")
    start_on: date = strawberry.field(description="The project's first day, as YYYY-MM-DD.")
    end_on: date = strawberry.field(
        description="The first day after the project (it runs from startOn up to, not including, endOn)."
    )
    program_code: strawberry.Private[str]
    technology_codes: strawberry.Private[list[str]]
    lead_firm_brn: strawberry.Private[str | None]
    history: list[ProjectStep] = strawberry.field(
        metadata=most(TRANSITIONS),
        description="Every move of its status, oldest first, with the day it took effect and why.",
    )

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Project:
        """From a read-model row; its history is the one column the description leaves to this type."""
        values = PROJECT.values(row)
        values["history"] = [ProjectStep.from_json(s) for s in row["history"]]
        return cls(**values)

    @strawberry.field(description="The previous fiscal year's record of this multi-year project, if any.")
    async def continues_project(self, info: Info[Context, Any]) -> Project | None:
        if self.continues is None:
            return None
        return await load_one(info, PROJECT_CONTINUES.child, self.continues, Project.from_row)

    @strawberry.field(description="The next fiscal year's record of this multi-year project, if any.")
    async def continued_by(self, info: Info[Context, Any]) -> Project | None:
        found = await load_children(info, CONTINUED_BY, self.code, 1, Project.from_row)
        return found[0] if found else None

    @strawberry.field(description="The payments to this project, in paidOn order (then by id).")
    async def disbursements(
        self, info: Info[Context, Any], first: First = 20, after: After = None
    ) -> DisbursementConnection:
        size = page_size(first, info.context.max_page)
        async with info.context.pool.acquire() as conn:
            rows = await store.budget.disbursements_page(
                conn, self.code, after=after_day_id(after), limit=size + 1
            )
            total = await store.budget.disbursements_count(conn, self.code)
        edges = [
            DisbursementEdge(cursor=day_id_cursor(r["paid_on"], r["id"]), node=Disbursement.from_row(r))
            for r in rows[:size]
        ]
        return DisbursementConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )

    @strawberry.field(description="The program; null until its event has arrived.")
    async def program(self, info: Info[Context, Any]) -> Program | None:
        return await load_one(info, PROJECT_PROGRAM.child, self.program_code, Program.from_row)

    @strawberry.field(
        description=(
            "The consortium, lead first as the budget service lists it: Korean firms, universities,"
            " institutes and foreign partners, each with its own share of the money."
        )
    )
    async def participants(
        self,
        info: Info[Context, Any],
        first: Annotated[
            int, strawberry.argument(description="At most this many members (up to the page cap).")
        ] = 20,
    ) -> list[Participant]:
        return await load_children(info, PROJECT_PARTICIPANTS, self.code, first, Participant.from_row)

    @strawberry.field(
        metadata=most(PROJECT_TECHNOLOGY_CODES),
        description="The project's technologies, its primary (first) one first.",
    )
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await load_many(info, PROJECT_TECHNOLOGIES.child, self.technology_codes, Technology.from_row)

    @strawberry.field(
        extensions=FIRMS, description="The lead firm; null if none, or until its event has arrived."
    )
    async def lead_firm(self, info: Info[Context, Any]) -> Firm | None:
        if self.lead_firm_brn is None:
            return None
        return await load_one(info, PROJECT_LEAD_FIRM.child, self.lead_firm_brn, Firm.from_row)


@strawberry.type
class ProgramEdge:
    """A program and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Program = strawberry.field(description="The program.")


@strawberry.type
class ProgramConnection:
    """A page of programs."""

    edges: list[ProgramEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


@strawberry.type
class ProjectEdge:
    """A project and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Project = strawberry.field(description="The project.")


@strawberry.type
class ProjectConnection:
    """A page of projects."""

    edges: list[ProjectEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(description=TOTAL_COUNT)


@strawberry.input
class ProjectFilter:
    """Filters of the project list; all given must match."""

    program: str | None = strawberry.field(default=None, description="A program code.")
    technology: str | None = strawberry.field(
        default=None, description="A technology code the project touches, in any position."
    )
    firm: str | None = strawberry.field(
        default=None, description="The lead firm's BRN, as 1234567890 or 123-45-67890."
    )
    status: ProjectStatus | None = strawberry.field(
        default=None, description="Only projects in this status now."
    )
    fiscal_year: int | None = strawberry.field(
        default=None, description="Only projects of this fiscal year, such as 2023."
    )
    kind: ProjectKind | None = strawberry.field(
        default=None, description="Only new, or only continuing, projects."
    )
    partner_country: str | None = strawberry.field(
        default=None,
        description=(
            "Projects with a foreign partner of this country: an ISO 3166-1 alpha-2 code such as DE"
            " (KR, Korea itself, is refused)."
        ),
    )
