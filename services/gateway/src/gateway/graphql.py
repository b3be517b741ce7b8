"""The GraphQL surface for partner agencies, answered from the read model."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, NewType, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension, ValidationCache
from strawberry.fastapi import BaseContext
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from gateway import limits, repository
from gateway.access import ObserveOperations
from gateway.describe import describe_types
from gateway.feed import ChangeHub, ChangeRow
from gateway.keys import Partner
from gateway.limits import CachedParse, EnforceLimits
from mpe_kit.db import Conn
from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_cursor, decode_text_cursor, encode_cursor

T = TypeVar("T")


@dataclass
class Context(BaseContext):
    """Per request: the pool, the partner and the DataLoaders."""

    pool: asyncpg.Pool
    partner: Partner | None
    max_page: int
    changes: ChangeHub | None = None
    # A WebSocket's key, kept to check before each answer that it has not been revoked since.
    api_key: str | None = field(default=None, repr=False)
    industry_loader: DataLoader[str, Any] = field(init=False)
    count_loader: DataLoader[date | None, dict[str, int]] = field(init=False)
    technology_loader: DataLoader[str, Technology | None] = field(init=False)
    firm_loader: DataLoader[str, Firm | None] = field(init=False)
    designation_loader: DataLoader[str, Designation | None] = field(init=False)
    firm_designations_loader: DataLoader[tuple[str, int], list[Designation]] = field(init=False)
    technology_firms_loader: DataLoader[tuple[str, int], list[Firm]] = field(init=False)
    technology_designations_loader: DataLoader[tuple[str, str | None, int], list[Designation]] = field(
        init=False
    )
    program_loader: DataLoader[str, Program | None] = field(init=False)
    project_loader: DataLoader[str, Project | None] = field(init=False)
    program_totals_loader: DataLoader[str, Funding] = field(init=False)
    program_projects_loader: DataLoader[tuple[str, int], list[Project]] = field(init=False)
    firm_projects_loader: DataLoader[tuple[str, int], list[Project]] = field(init=False)
    technology_projects_loader: DataLoader[tuple[str, int], list[Project]] = field(init=False)
    technology_funding_loader: DataLoader[tuple[str, int | None], Funding] = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()
        self.industry_loader = DataLoader(load_fn=self._load_industries)
        self.count_loader = DataLoader(load_fn=self._load_counts)
        self.technology_loader = DataLoader(load_fn=self._load_technologies)
        self.firm_loader = DataLoader(load_fn=self._load_firms)
        self.designation_loader = DataLoader(load_fn=self._load_designations)
        self.firm_designations_loader = DataLoader(load_fn=self._load_firm_designations)
        self.technology_firms_loader = DataLoader(load_fn=self._load_technology_firms)
        self.technology_designations_loader = DataLoader(load_fn=self._load_technology_designations)
        self.program_loader = DataLoader(load_fn=self._load_programs)
        self.project_loader = DataLoader(load_fn=self._load_projects)
        self.program_totals_loader = DataLoader(load_fn=self._load_program_totals)
        self.program_projects_loader = DataLoader(load_fn=self._load_program_projects)
        self.firm_projects_loader = DataLoader(load_fn=self._load_firm_projects)
        self.technology_projects_loader = DataLoader(load_fn=self._load_technology_projects)
        self.technology_funding_loader = DataLoader(load_fn=self._load_technology_funding)

    def forget(self) -> None:
        """Empty every loader's cache: a subscription's context outlives each answer it sends."""
        for value in vars(self).values():
            if isinstance(value, DataLoader):
                value.clear_all()

    async def _by_key(
        self,
        keys: list[str],
        fetch: Callable[[Conn, list[str]], Awaitable[list[asyncpg.Record]]],
        column: str,
    ) -> dict[str, asyncpg.Record]:
        """One statement for a batch of keys: the rows by their key column."""
        async with self.pool.acquire() as conn:
            return {r[column]: r for r in await fetch(conn, keys)}

    async def _capped_lists(
        self,
        keys: list[tuple[str, int]],
        fetch: Callable[..., Awaitable[list[asyncpg.Record]]],
        parent: str,
        build: Callable[[asyncpg.Record], T],
    ) -> list[list[T]]:
        """Nested lists of a batch of parents: one statement per distinct `first`, never per parent."""
        found: dict[tuple[str, int], list[T]] = defaultdict(list)
        async with self.pool.acquire() as conn:
            for first, parents in _group(keys).items():
                for r in await fetch(conn, parents, limit=first):
                    found[(r[parent], first)].append(build(r))
        return [found.get(k, []) for k in keys]

    async def _load_industries(self, codes: list[str]) -> list[Any]:
        rows = await self._by_key(codes, repository.industries_by_code, "code")
        return [Industry.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_counts(self, days: list[date | None]) -> list[dict[str, int]]:
        async with self.pool.acquire() as conn:
            return [await repository.technology_counts(conn, d) for d in days]

    async def _load_technologies(self, codes: list[str]) -> list[Technology | None]:
        rows = await self._by_key(codes, repository.technologies_by_code, "code")
        return [Technology.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_firms(self, brns: list[str]) -> list[Firm | None]:
        rows = await self._by_key(brns, repository.firms_by_brn, "brn")
        return [Firm.from_row(rows[b]) if b in rows else None for b in brns]

    async def _load_designations(self, ids: list[str]) -> list[Designation | None]:
        found = await self._by_key(ids, repository.designations_by_id, "id")
        rows = {str(k): r for k, r in found.items()}
        return [Designation.from_row(rows[i]) if i in rows else None for i in ids]

    async def _load_programs(self, codes: list[str]) -> list[Program | None]:
        rows = await self._by_key(codes, repository.programs_by_code, "code")
        return [Program.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_projects(self, codes: list[str]) -> list[Project | None]:
        rows = await self._by_key(codes, repository.projects_by_code, "code")
        return [Project.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_program_totals(self, codes: list[str]) -> list[Funding]:
        rows = await self._by_key(codes, repository.program_totals, "program_code")
        return [Funding.from_row(rows[c]) if c in rows else Funding.none() for c in codes]

    # The loaders below batch one statement per distinct `first` (or `status`, or fiscal year)
    # of the request, never one per parent.

    async def _load_firm_designations(self, keys: list[tuple[str, int]]) -> list[list[Designation]]:
        return await self._capped_lists(keys, repository.designations_of_firms, "brn", Designation.from_row)

    async def _load_technology_firms(self, keys: list[tuple[str, int]]) -> list[list[Firm]]:
        return await self._capped_lists(keys, repository.firms_of_technologies, "technology", Firm.from_row)

    async def _load_technology_designations(
        self, keys: list[tuple[str, str | None, int]]
    ) -> list[list[Designation]]:
        groups: dict[tuple[str | None, int], list[str]] = defaultdict(list)
        for code, status, first in keys:
            groups[(status, first)].append(code)
        found: dict[tuple[str, str | None, int], list[Designation]] = defaultdict(list)
        async with self.pool.acquire() as conn:
            for (status, first), codes in groups.items():
                rows = await repository.designations_of_technologies(conn, codes, status=status, limit=first)
                for r in rows:
                    found[(r["technology"], status, first)].append(Designation.from_row(r))
        return [found.get(k, []) for k in keys]

    async def _load_program_projects(self, keys: list[tuple[str, int]]) -> list[list[Project]]:
        return await self._capped_lists(
            keys, repository.projects_of_programs, "program_code", Project.from_row
        )

    async def _load_firm_projects(self, keys: list[tuple[str, int]]) -> list[list[Project]]:
        return await self._capped_lists(keys, repository.projects_of_firms, "lead_firm_brn", Project.from_row)

    async def _load_technology_projects(self, keys: list[tuple[str, int]]) -> list[list[Project]]:
        return await self._capped_lists(
            keys, repository.projects_of_technologies, "technology", Project.from_row
        )

    async def _load_technology_funding(self, keys: list[tuple[str, int | None]]) -> list[Funding]:
        years: dict[int | None, list[str]] = defaultdict(list)
        for code, year in keys:
            years[year].append(code)
        found: dict[tuple[str, int | None], Funding] = {}
        async with self.pool.acquire() as conn:
            for year, codes in years.items():
                for r in await repository.technology_funding(conn, codes, fiscal_year=year):
                    found[(r["technology"], year)] = Funding.from_row(r)
        return [found.get(k, Funding.none()) for k in keys]


def _group(keys: list[tuple[str, int]]) -> dict[int, list[str]]:
    """Parent ids by the `first` they were asked with."""
    groups: dict[int, list[str]] = defaultdict(list)
    for parent, first in keys:
        groups[first].append(parent)
    return groups


class HasScope(BasePermission):
    """Admits keys that carry a scope; otherwise the field is null with a FORBIDDEN error."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.message = f"This key lacks the {scope} scope."
        self.error_extensions = {"code": "FORBIDDEN", "scope": scope}

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        partner = info.context.partner
        return partner is not None and self.scope in partner.scopes


CATALOG: list[FieldExtension] = [PermissionExtension(permissions=[HasScope("catalog:read")])]
FIRMS: list[FieldExtension] = [PermissionExtension(permissions=[HasScope("firms:read")])]
FINANCIALS: list[FieldExtension] = [PermissionExtension(permissions=[HasScope("firms:financials")])]
BUDGET: list[FieldExtension] = [PermissionExtension(permissions=[HasScope("budget:read")])]

SEOUL = ZoneInfo("Asia/Seoul")
# The program's goal: 200 leading firms (으뜸기업) by 2030.
LEADING_FIRM_TARGET = 200
# The rule of every project count, as the repository's SQL applies it.
COUNT_RULE = (
    "A project counts once it is committed: selected, agreement signed, active or completed, or"
    " terminated after something was paid (a proposal, or a project terminated before any payment,"
    " commits nothing and does not count)."
)

Won = NewType("Won", int)
WON_MAX = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")


def serialize_won(value: object) -> str:
    """Whole won as a string of digits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= WON_MAX:
        raise TypeError(f"Won is a whole, non-negative 64-bit amount, not {value!r}.")
    return str(value)


def parse_won(value: object) -> Won:
    """A string of digits as whole won."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise ValueError(f'Won is a string of digits, such as "937560000000"; got {value!r}.')
    amount = int(value)
    if amount > WON_MAX:
        raise ValueError(f"Won is at most {WON_MAX} (64-bit); got {value}.")
    return Won(amount)


WON = strawberry.scalar(
    name="Won",
    description=(
        'Whole Korean won, 0 or more, as a string of decimal digits ("937560000000" is ₩937.56bn):'
        " a 64-bit amount, which GraphQL's 32-bit Int cannot carry and a JSON number may round."
    ),
    serialize=serialize_won,
    parse_value=parse_won,
)


@strawberry.enum
class TechnologyKind(Enum):
    """What a technology is."""

    MATERIAL = "material"
    PART = "part"
    EQUIPMENT = "equipment"


@strawberry.enum
class TechnologyStatus(Enum):
    """Whether a technology is on the list now."""

    LISTED = "listed"
    RETIRED = "retired"


@strawberry.type
class Industry:
    """An industry of the program."""

    code: str
    name_en: str
    name_ko: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Industry:
        """From a read-model row."""
        return cls(code=row["code"], name_en=row["name_en"], name_ko=row["name_ko"])

    @strawberry.field(description="Technologies of this industry on the list today, or on `asOf`.")
    async def technology_count(self, info: Info[Context, Any], as_of: date | None = None) -> int:
        counts = await info.context.count_loader.load(as_of)
        return counts.get(self.code, 0)


@strawberry.type
class Technology:
    """A key strategic technology."""

    code: str
    name_en: str
    name_ko: str
    description: str
    kind: TechnologyKind
    status: TechnologyStatus
    listed_on: date
    retired_on: date | None
    version: int
    industry_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Technology:
        """From a read-model row."""
        return cls(
            code=row["code"],
            name_en=row["name_en"],
            name_ko=row["name_ko"],
            description=row["description"],
            kind=TechnologyKind(row["kind"]),
            status=TechnologyStatus(row["status"]),
            listed_on=row["listed_on"],
            retired_on=row["retired_on"],
            version=row["version"],
            industry_code=row["industry_code"],
        )

    @strawberry.field
    async def industry(self, info: Info[Context, Any]) -> Industry | None:
        result: Industry | None = await info.context.industry_loader.load(self.industry_code)
        return result

    @strawberry.field(
        extensions=FIRMS, description="Firms that hold this technology, by BRN. Needs firms:read."
    )
    async def firms(self, info: Info[Context, Any], first: int = 20) -> list[Firm] | None:
        size = _page_size(first, info.context.max_page)
        return await info.context.technology_firms_loader.load((self.code, size))

    @strawberry.field(
        extensions=FIRMS,
        description="Designations for this technology, in the order applied. Needs firms:read.",
    )
    async def designations(
        self, info: Info[Context, Any], status: DesignationStatus | None = None, first: int = 20
    ) -> list[Designation] | None:
        size = _page_size(first, info.context.max_page)
        key = (self.code, status.value if status else None, size)
        return await info.context.technology_designations_loader.load(key)

    @strawberry.field(
        extensions=BUDGET,
        description="Projects touching this technology, newest fiscal year first. Needs budget:read.",
    )
    async def projects(self, info: Info[Context, Any], first: int = 20) -> list[Project] | None:
        size = _page_size(first, info.context.max_page)
        return await info.context.technology_projects_loader.load((self.code, size))

    @strawberry.field(
        extensions=BUDGET,
        description=(
            "Money over every project that touches this technology, in one fiscal year or (fiscalYear"
            " omitted) in all. A project with several technologies counts in full under each of them,"
            " so these sums overlap between technologies and do not add up to a total: use"
            " programOverview.byIndustry for figures that do. " + COUNT_RULE + " Needs budget:read."
        ),
    )
    async def funding(self, info: Info[Context, Any], fiscal_year: int | None = None) -> Funding | None:
        return await info.context.technology_funding_loader.load((self.code, fiscal_year))


@strawberry.type
class PageInfo:
    """Where a page ends."""

    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TechnologyEdge:
    """A technology and its cursor."""

    cursor: str
    node: Technology


@strawberry.type
class TechnologyConnection:
    """A page of technologies."""

    edges: list[TechnologyEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class TechnologyFilter:
    """Filters of the technology list."""

    industry: str | None = None
    kind: TechnologyKind | None = None
    status: TechnologyStatus | None = None
    as_of: date | None = strawberry.field(default=None, description="Only technologies on the list that day.")
    search: str | None = strawberry.field(default=None, description="Text in either name.")


@strawberry.type
class SourceFreshness:
    """How current the read model is for one source topic."""

    topic: str
    last_event_time: datetime | None
    last_applied_at: datetime | None
    lag: int = strawberry.field(description="Events on the topic not yet projected, as last measured.")
    caught_up_at: datetime | None = strawberry.field(
        default=None,
        description=(
            "When the gateway last saw every partition of the topic projected to its end: the read"
            " model holds every event published on the topic before then. It stops moving while"
            " Kafka is unreachable. Null until each partition has been seen complete."
        ),
    )


@strawberry.enum
class FirmSize(Enum):
    """A firm's size class."""

    LARGE = "large"
    MID = "mid"
    SME = "sme"


@strawberry.enum
class DesignationKind(Enum):
    """Leading firm (으뜸기업) or specialized firm (전문기업)."""

    LEADING = "leading"
    SPECIALIZED = "specialized"


@strawberry.enum
class DesignationStatus(Enum):
    """Where a designation stands."""

    APPLIED = "applied"
    UNDER_REVIEW = "under_review"
    DESIGNATED = "designated"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"


async def _technologies(info: Info[Context, Any], codes: list[str]) -> list[Technology]:
    # A technology whose event has not arrived yet is left out rather than invented.
    found = await info.context.technology_loader.load_many(codes)
    return [t for t in found if isinstance(t, Technology)]


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
        return cls(
            brn=row["brn"],
            brn_display=row["brn_display"],
            name_en=row["name_en"],
            name_ko=row["name_ko"],
            size=FirmSize(row["size"]),
            size_since=row["size_since"],
            region=row["region"],
            technology_codes=row["technology_codes"],
            sales_ratio=row["mpe_sales_ratio"],
        )

    @strawberry.field(description="Technologies the firm holds, retired ones included.")
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await _technologies(info, self.technology_codes)

    @strawberry.field(description="The firm's designations, in the order applied for.")
    async def designations(self, info: Info[Context, Any], first: int = 20) -> list[Designation]:
        size = _page_size(first, info.context.max_page)
        return await info.context.firm_designations_loader.load((self.brn, size))

    @strawberry.field(
        extensions=BUDGET, description="Projects the firm leads, newest fiscal year first. Needs budget:read."
    )
    async def projects(self, info: Info[Context, Any], first: int = 20) -> list[Project] | None:
        size = _page_size(first, info.context.max_page)
        return await info.context.firm_projects_loader.load((self.brn, size))

    @strawberry.field(
        extensions=FINANCIALS,
        description="Share of MPE sales in total sales, 0 to 1; needs firms:financials.",
    )
    def mpe_sales_ratio(self) -> float | None:
        return self.sales_ratio


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
        """From a read-model row."""
        return cls(
            id=strawberry.ID(str(row["id"])),
            kind=DesignationKind(row["kind"]),
            cohort=row["cohort"],
            status=DesignationStatus(row["status"]),
            applied_on=row["applied_on"],
            designated_on=row["designated_on"],
            valid_until=row["valid_until"],
            history=[DesignationTransition.from_json(t) for t in row["history"]],
            brn=row["brn"],
            technology_codes=row["technology_codes"],
        )

    @strawberry.field
    async def firm(self, info: Info[Context, Any]) -> Firm | None:
        return await info.context.firm_loader.load(self.brn)

    @strawberry.field
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await _technologies(info, self.technology_codes)


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
    technology: str | None = strawberry.field(default=None, description="A technology code the firm holds.")
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


@strawberry.enum
class ProgramKind(Enum):
    """What a program funds."""

    RND = "rnd"
    ALCHEMIST = "alchemist"
    INFRASTRUCTURE = "infrastructure"
    OTHER = "other"


@strawberry.enum
class ProjectKind(Enum):
    """A project that starts this fiscal year, or one that continues an earlier one."""

    NEW = "new"
    CONTINUING = "continuing"


@strawberry.enum
class ProjectStatus(Enum):
    """Where a project stands."""

    PROPOSED = "proposed"
    SELECTED = "selected"
    AGREEMENT_SIGNED = "agreement_signed"
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


@strawberry.enum
class AlchemistStage(Enum):
    """A stage of an alchemist theme's tournament."""

    CONCEPT = "concept"
    PRELIMINARY = "preliminary"
    MAIN = "main"


@strawberry.type
class ThemeStage:
    """How many teams an alchemist theme carries at one stage."""

    stage: AlchemistStage
    teams: int


@strawberry.type
class Theme:
    """An alchemist theme: a tournament whose team count never grows from stage to stage."""

    code: str
    title: str
    stages: list[ThemeStage]

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Theme:
        """From one entry of the read model's themes column."""
        return cls(
            code=item["code"],
            title=item["title"],
            stages=[ThemeStage(stage=AlchemistStage(s["stage"]), teams=s["teams"]) for s in item["stages"]],
        )


@strawberry.type
class Funding:
    """Money committed and disbursed over a set of projects, and how many of them count."""

    committed_krw: Won = strawberry.field(description="Government money committed.")
    disbursed_krw: Won = strawberry.field(description="Government money paid out.")
    project_count: int = strawberry.field(description=COUNT_RULE)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Funding:
        """From a row of sums (committed_krw, disbursed_krw, project_count)."""
        return cls(
            committed_krw=row["committed_krw"],
            disbursed_krw=row["disbursed_krw"],
            project_count=row["project_count"],
        )

    @classmethod
    def none(cls) -> Funding:
        """No projects, no money."""
        return cls(committed_krw=Won(0), disbursed_krw=Won(0), project_count=0)


@strawberry.type
class Program:
    """A yearly budget program, and the money over its projects."""

    code: str
    fiscal_year: int
    name_en: str
    name_ko: str
    kind: ProgramKind
    track: str | None = strawberry.field(description="The call's track (supply-chain stability …), if any.")
    budget_krw: Won = strawberry.field(description="The program's budget for its fiscal year.")
    themes: list[Theme] = strawberry.field(description="Alchemist themes; empty for other kinds.")

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Program:
        """From a read-model row."""
        return cls(
            code=row["code"],
            fiscal_year=row["fiscal_year"],
            name_en=row["name_en"],
            name_ko=row["name_ko"],
            kind=ProgramKind(row["kind"]),
            track=row["track"],
            budget_krw=row["budget_krw"],
            themes=[Theme.from_json(t) for t in row["themes"]],
        )

    @strawberry.field(description="Government money committed over the program's projects.")
    async def committed_krw(self, info: Info[Context, Any]) -> Won:
        return (await info.context.program_totals_loader.load(self.code)).committed_krw

    @strawberry.field(description="Government money paid out over the program's projects.")
    async def disbursed_krw(self, info: Info[Context, Any]) -> Won:
        return (await info.context.program_totals_loader.load(self.code)).disbursed_krw

    @strawberry.field(description=COUNT_RULE)
    async def project_count(self, info: Info[Context, Any]) -> int:
        return (await info.context.program_totals_loader.load(self.code)).project_count

    @strawberry.field(description="The program's projects, whatever their status, by code.")
    async def projects(self, info: Info[Context, Any], first: int = 20) -> list[Project]:
        size = _page_size(first, info.context.max_page)
        return await info.context.program_projects_loader.load((self.code, size))


@strawberry.type
class Project:
    """An R&D project of one fiscal year: its split of money, what it commits and what was paid."""

    code: str
    title: str
    fiscal_year: int
    kind: ProjectKind
    status: ProjectStatus
    continues: str | None = strawberry.field(description="Code of the earlier project this one continues.")
    government_krw: Won = strawberry.field(description="Government contribution planned.")
    private_cash_krw: Won = strawberry.field(description="Private contribution in cash.")
    private_in_kind_krw: Won = strawberry.field(description="Private contribution in kind.")
    committed_krw: Won = strawberry.field(
        description="Government money committed: 0 until selected; once terminated, what was paid."
    )
    disbursed_krw: Won = strawberry.field(description="Government money paid out so far.")
    start_on: date
    end_on: date
    program_code: strawberry.Private[str]
    technology_codes: strawberry.Private[list[str]]
    lead_firm_brn: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Project:
        """From a read-model row."""
        return cls(
            code=row["code"],
            title=row["title"],
            fiscal_year=row["fiscal_year"],
            kind=ProjectKind(row["kind"]),
            status=ProjectStatus(row["status"]),
            continues=row["continues"],
            government_krw=row["government_krw"],
            private_cash_krw=row["private_cash_krw"],
            private_in_kind_krw=row["private_in_kind_krw"],
            committed_krw=row["committed_krw"],
            disbursed_krw=row["disbursed_krw"],
            start_on=row["start_on"],
            end_on=row["end_on"],
            program_code=row["program_code"],
            technology_codes=row["technology_codes"],
            lead_firm_brn=row["lead_firm_brn"],
        )

    @strawberry.field(description="The program; null until its event has arrived.")
    async def program(self, info: Info[Context, Any]) -> Program | None:
        return await info.context.program_loader.load(self.program_code)

    @strawberry.field(description="The project's technologies, its primary (first) one first.")
    async def technologies(self, info: Info[Context, Any]) -> list[Technology]:
        return await _technologies(info, self.technology_codes)

    @strawberry.field(
        extensions=FIRMS,
        description="The lead firm; null if none, or until its event has arrived. Needs firms:read.",
    )
    async def lead_firm(self, info: Info[Context, Any]) -> Firm | None:
        if self.lead_firm_brn is None:
            return None
        return await info.context.firm_loader.load(self.lead_firm_brn)


@strawberry.type
class ProgramEdge:
    """A program and its cursor."""

    cursor: str
    node: Program


@strawberry.type
class ProgramConnection:
    """A page of programs."""

    edges: list[ProgramEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class ProjectEdge:
    """A project and its cursor."""

    cursor: str
    node: Project


@strawberry.type
class ProjectConnection:
    """A page of projects."""

    edges: list[ProjectEdge]
    page_info: PageInfo
    total_count: int


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
    status: ProjectStatus | None = None
    fiscal_year: int | None = None
    kind: ProjectKind | None = None


@strawberry.type
class IndustryFunding:
    """A fiscal year's money and projects attributed to one industry."""

    industry: Industry | None = strawberry.field(
        description="Null gathers projects with no technology, or whose primary technology or its"
        " industry has not arrived yet."
    )
    committed_krw: Won
    disbursed_krw: Won
    project_count: int = strawberry.field(description=COUNT_RULE)


@strawberry.type
class TrackFunding:
    """A fiscal year's money and projects in the programs of one track."""

    track: str | None = strawberry.field(
        description="Null gathers projects whose program has no track, or has not arrived yet."
    )
    committed_krw: Won
    disbursed_krw: Won
    project_count: int = strawberry.field(description=COUNT_RULE)


@strawberry.type
class ProgramOverview:
    """One fiscal year's money: the envelope, what programs budget, and what projects commit and pay."""

    fiscal_year: int
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
        description=(
            "By the industry of each project's primary (first) technology, in industry code order:"
            " a project counts once, under one industry, so the industries add up to the year's"
            " committedKrw, disbursedKrw and project counts."
        )
    )
    async def by_industry(self, info: Info[Context, Any]) -> list[IndustryFunding]:
        async with info.context.pool.acquire() as conn:
            rows = await repository.year_by_industry(conn, self.fiscal_year)
        return [
            IndustryFunding(
                industry=Industry.from_row(r) if r["code"] is not None else None,
                committed_krw=r["committed_krw"],
                disbursed_krw=r["disbursed_krw"],
                project_count=r["project_count"],
            )
            for r in rows
        ]

    @strawberry.field(
        description="By the track of each project's program, in track order; the tracks add up to the year's."
    )
    async def by_track(self, info: Info[Context, Any]) -> list[TrackFunding]:
        async with info.context.pool.acquire() as conn:
            rows = await repository.year_by_track(conn, self.fiscal_year)
        return [
            TrackFunding(
                track=r["track"],
                committed_krw=r["committed_krw"],
                disbursed_krw=r["disbursed_krw"],
                project_count=r["project_count"],
            )
            for r in rows
        ]


COVERAGE_GAPS = (
    "Technologies with neither a covering project nor a leading firm in a fiscal year, by code."
    " The technologies considered are those on the list at the end of the year (listed on or before"
    " 31 December and not retired by then: a technology retired during the year is no gap left to"
    " fill). A project covers its technologies (in any position) if it belongs to that fiscal year and"
    " is selected, agreement signed, active or completed (not proposed, not terminated). A leading"
    " firm covers a technology if a leading designation (kind leading) for it held on at least one"
    " day of the year: designated on or before 31 December, and neither lapsed (validUntil) nor"
    " revoked or expired on or before 1 January."
)


_BRN = re.compile(r"^([0-9]{10}|[0-9]{3}-[0-9]{2}-[0-9]{5})$")
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def _brn(value: str) -> str:
    """The 10 digits of a BRN given as 1234567890 or 123-45-67890, its check digit verified."""
    text = value.strip()
    if _BRN.match(text):
        digits = [int(c) for c in text.replace("-", "")]
        total = sum(d * w for d, w in zip(digits[:9], _BRN_WEIGHTS, strict=True)) + digits[8] * 5 // 10
        if (10 - total % 10) % 10 == digits[9]:
            return "".join(map(str, digits))
        reason = "its check digit does not match"
    else:
        reason = "a business registration number is 10 digits, as 1234567890 or 123-45-67890"
    raise GraphQLError(f"`brn` {value!r} is not valid: {reason}.", extensions={"code": "BAD_USER_INPUT"})


def _page_size(first: int, cap: int) -> int:
    if not 1 <= first <= cap:
        raise GraphQLError(
            f"`first` must be between 1 and {cap}; got {first}.", extensions={"code": "BAD_USER_INPUT"}
        )
    return first


def _fiscal_year(year: int) -> int:
    if not 1 <= year <= 9999:
        raise GraphQLError(
            f"`fiscalYear` must be between 1 and 9999; got {year}.", extensions={"code": "BAD_USER_INPUT"}
        )
    return year


def _after(after: str | None) -> str | None:
    try:
        return decode_text_cursor(after)
    except Invalid as exc:
        raise GraphQLError(
            "`after` is not a cursor from this API.", extensions={"code": "BAD_USER_INPUT"}
        ) from exc


async def _program_overview(pool: asyncpg.Pool, year: int) -> ProgramOverview:
    async with pool.acquire() as conn:
        r = await repository.year_totals(conn, year)
    return ProgramOverview(
        fiscal_year=year,
        envelope_krw=r["envelope_krw"],
        programmed_krw=r["programmed_krw"],
        committed_krw=r["committed_krw"],
        disbursed_krw=r["disbursed_krw"],
        new_project_count=r["new_count"],
        continuing_project_count=r["continuing_count"],
    )


# The change feed and the subscriptions


@strawberry.enum
class ChangeEntityType(Enum):
    """What kind of entity a change touched; each belongs to one scope."""

    INDUSTRY = "industry"
    TECHNOLOGY = "technology"
    FIRM = "firm"
    DESIGNATION = "designation"
    PROGRAM = "program"
    PROJECT = "project"
    FISCAL_YEAR = strawberry.enum_value(
        "fiscal_year", description="A fiscal year's envelope; its entity is the year's ProgramOverview."
    )


CHANGE_SCOPES: dict[ChangeEntityType, str] = {
    ChangeEntityType.INDUSTRY: "catalog:read",
    ChangeEntityType.TECHNOLOGY: "catalog:read",
    ChangeEntityType.FIRM: "firms:read",
    ChangeEntityType.DESIGNATION: "firms:read",
    ChangeEntityType.PROGRAM: "budget:read",
    ChangeEntityType.PROJECT: "budget:read",
    ChangeEntityType.FISCAL_YEAR: "budget:read",
}

ChangedEntity = Annotated[
    Industry | Technology | Firm | Designation | Program | Project | ProgramOverview,
    strawberry.union("ChangedEntity", description="The entity a change touched, as it stands now."),
]


@strawberry.type
class Change:
    """One entity the read model changed: which, to what version, and when."""

    entity_type: ChangeEntityType
    key: str = strawberry.field(
        description="The entity's key: a code, a BRN (10 digits), a designation id or a fiscal year."
    )
    version: int = strawberry.field(description="The version this change applied.")
    applied_at: datetime = strawberry.field(description="When the gateway applied it.")

    @classmethod
    def from_row(cls, row: ChangeRow) -> Change:
        """From a row of the change log."""
        return cls(
            entity_type=ChangeEntityType(row.entity_type),
            key=row.key,
            version=row.version,
            applied_at=row.applied_at,
        )

    @strawberry.field(
        description=(
            "The entity as it stands now, which may be a later version than this change's; null if it"
            " cannot be read."
        )
    )
    async def entity(self, info: Info[Context, Any]) -> ChangedEntity | None:
        c = info.context
        found: Any
        match self.entity_type:
            case ChangeEntityType.INDUSTRY:
                found = await c.industry_loader.load(self.key)
            case ChangeEntityType.TECHNOLOGY:
                found = await c.technology_loader.load(self.key)
            case ChangeEntityType.FIRM:
                found = await c.firm_loader.load(self.key)
            case ChangeEntityType.DESIGNATION:
                found = await c.designation_loader.load(self.key)
            case ChangeEntityType.PROGRAM:
                found = await c.program_loader.load(self.key)
            case ChangeEntityType.PROJECT:
                found = await c.project_loader.load(self.key)
            case ChangeEntityType.FISCAL_YEAR:
                found = await _program_overview(c.pool, int(self.key))
        return found  # type: ignore[no-any-return]


@strawberry.type
class ChangeEdge:
    """A change and its cursor."""

    cursor: str
    node: Change


@strawberry.type
class ChangeConnection:
    """A page of the change feed."""

    edges: list[ChangeEdge]
    page_info: PageInfo = strawberry.field(
        description="endCursor is null on an empty page: keep the cursor you have and ask again later."
    )


CHANGES = (
    "The change feed: every change to the read model applied at or after `since`, in the order the"
    " gateway applied them, one entry per entity changed. `types` keeps some entity types; omitted,"
    " the feed holds every type the key's scopes may read (asking for a type outside them is"
    " FORBIDDEN). Follow `endCursor` with `after` (and the same `since` and `types`) to read on; a"
    " cursor stays valid, so keep the last one to poll for what comes next."
)


def _feed_types(partner: Partner | None, types: list[ChangeEntityType] | None) -> list[ChangeEntityType]:
    """The entity types a feed holds; FORBIDDEN for a type asked for outside the key's scopes."""
    scopes = partner.scopes if partner is not None else frozenset()
    if types is None:
        return [t for t in ChangeEntityType if CHANGE_SCOPES[t] in scopes]
    if not types:
        raise GraphQLError(
            "`types` must name at least one type; omit it for every type the key may read.",
            extensions={"code": "BAD_USER_INPUT"},
        )
    for t in types:
        scope = CHANGE_SCOPES[t]
        if scope not in scopes:
            raise GraphQLError(
                f"This key lacks the {scope} scope.", extensions={"code": "FORBIDDEN", "scope": scope}
            )
    return list(dict.fromkeys(types))


def _seq_after(after: str | None) -> int:
    """The seq inside a change feed's cursor; 0 for the first page."""
    if after is None:
        return 0
    error = GraphQLError("`after` is not a cursor from this API.", extensions={"code": "BAD_USER_INPUT"})
    try:
        (value,) = decode_cursor(after, arity=1)
    except Invalid as exc:
        raise error from exc
    if type(value) is not int or value < 0:
        raise error
    return value


async def _news(
    info: Info[Context, Any],
    entity_type: ChangeEntityType,
    fetch: Callable[[Conn, list[str]], Awaitable[list[asyncpg.Record]]],
    build: Callable[[asyncpg.Record], T],
    key: Callable[[T], str],
) -> AsyncIterator[T]:
    """Each entity of a type as it stands after each change the hub reports, in change order."""
    c = info.context
    if c.changes is None:
        raise GraphQLError(
            "Subscriptions are served over the WebSocket of /graphql (graphql-transport-ws).",
            extensions={"code": "BAD_REQUEST"},
        )
    async for page in c.changes.follow([entity_type.value]):
        await _still_admitted(c)
        async with c.pool.acquire() as conn:
            rows = await fetch(conn, list({r.key for r in page}))
        found = {key(e): (e, row["version"]) for e, row in ((build(row), row) for row in rows)}
        for r in page:
            entity, version = found.get(r.key, (None, None))
            # A change already superseded when it is read is left out: the later change's own
            # row delivers the entity as it stands, so each state is sent once.
            if entity is not None and version == r.version:
                # The nested fields of each answer read the read model afresh.
                c.forget()
                yield entity


async def _still_admitted(c: Context) -> None:
    """End a subscription whose key was revoked or rotated out since the socket opened.

    Checked before each answer, through the same key cache as HTTP: a revoked key gets nothing
    more after at most the cache's second.
    """
    if c.api_key is None or c.request is None:
        return
    gate = c.request.app.state.gateway
    if await gate.keys.authenticate(c.pool, c.api_key) is None:
        raise GraphQLError(
            "The API key is not valid or has been revoked.", extensions={"code": "UNAUTHENTICATED"}
        )


def _codes(codes: list[str] | None) -> set[str] | None:
    if codes is not None and not codes:
        raise GraphQLError(
            "`codes` must name at least one technology; omit it for every technology.",
            extensions={"code": "BAD_USER_INPUT"},
        )
    return set(codes) if codes is not None else None


@strawberry.type
class Subscription:
    """Entities as the gateway applies their changes, over graphql-transport-ws on /graphql."""

    @strawberry.subscription(
        extensions=CATALOG,
        description=(
            "Each technology the gateway changes from now on, of an industry or among codes if given."
            " Needs catalog:read."
        ),
    )
    async def technology_changed(
        self, info: Info[Context, Any], industry: str | None = None, codes: list[str] | None = None
    ) -> AsyncGenerator[Technology, None]:
        wanted = _codes(codes)
        async for t in _news(
            info, ChangeEntityType.TECHNOLOGY, repository.technologies_by_code, Technology.from_row, _code
        ):
            if (industry is None or t.industry_code == industry) and (wanted is None or t.code in wanted):
                yield t

    @strawberry.subscription(
        extensions=FIRMS,
        description=(
            "Each designation the gateway changes from now on, of a firm or in a status if given."
            " Needs firms:read."
        ),
    )
    async def designation_changed(
        self, info: Info[Context, Any], brn: str | None = None, status: DesignationStatus | None = None
    ) -> AsyncGenerator[Designation, None]:
        firm = _brn(brn) if brn is not None else None
        async for d in _news(
            info, ChangeEntityType.DESIGNATION, repository.designations_by_id, Designation.from_row, _id
        ):
            if (firm is None or d.brn == firm) and (status is None or d.status == status):
                yield d

    @strawberry.subscription(
        extensions=BUDGET,
        description=(
            "Each project the gateway changes from now on, of a fiscal year, a program or touching a"
            " technology if given. Needs budget:read."
        ),
    )
    async def project_changed(
        self,
        info: Info[Context, Any],
        fiscal_year: int | None = None,
        program: str | None = None,
        technology: str | None = None,
    ) -> AsyncGenerator[Project, None]:
        async for p in _news(
            info, ChangeEntityType.PROJECT, repository.projects_by_code, Project.from_row, _code
        ):
            if (
                (fiscal_year is None or p.fiscal_year == fiscal_year)
                and (program is None or p.program_code == program)
                and (technology is None or technology in p.technology_codes)
            ):
                yield p


def _code(entity: Technology | Project) -> str:
    return entity.code


def _id(entity: Designation) -> str:
    return str(entity.id)


def _technology_page(
    info: Info[Context, Any], rows: list[asyncpg.Record], size: int, total: int
) -> TechnologyConnection:
    """A page of technologies from `size + 1` rows (the extra one says a next page exists)."""
    edges = [
        TechnologyEdge(cursor=encode_cursor([r["code"]]), node=Technology.from_row(r)) for r in rows[:size]
    ]
    info.context.technology_loader.prime_many({e.node.code: e.node for e in edges})
    return TechnologyConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )


@strawberry.type
class Query:
    """What partner agencies can read."""

    # Nullable like every scoped root field: a key without the scope gets null and FORBIDDEN
    # here without losing the rest of its answer.
    @strawberry.field(
        extensions=CATALOG, description="The industries of the technology list, by code. Needs catalog:read."
    )
    async def industries(self, info: Info[Context, Any]) -> list[Industry] | None:
        async with info.context.pool.acquire() as conn:
            return [Industry.from_row(r) for r in await repository.industries(conn)]

    @strawberry.field(
        extensions=CATALOG,
        description=(
            "Technologies by code, listed and retired, narrowed by the filter; a page of `first` after"
            " the cursor `after`. Needs catalog:read."
        ),
    )
    async def technologies(
        self,
        info: Info[Context, Any],
        filter: TechnologyFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> TechnologyConnection | None:
        size = _page_size(first, info.context.max_page)
        f = filter or TechnologyFilter()
        rf = repository.TechnologyFilter(
            industry=f.industry,
            kind=f.kind.value if f.kind else None,
            status=f.status.value if f.status else None,
            as_of=f.as_of,
            search=f.search,
        )
        async with info.context.pool.acquire() as conn:
            rows = await repository.technologies_page(conn, rf, after=_after(after), limit=size + 1)
            total = await repository.technologies_count(conn, rf)
        return _technology_page(info, rows, size, total)

    @strawberry.field(
        extensions=CATALOG,
        description="One technology by its code, e.g. SEMI-001; null if unknown. Needs catalog:read.",
    )
    async def technology(self, info: Info[Context, Any], code: str) -> Technology | None:
        async with info.context.pool.acquire() as conn:
            row = await repository.technology(conn, code)
        return Technology.from_row(row) if row else None

    @strawberry.field(
        extensions=FIRMS,
        description="One firm by its BRN, with or without hyphens; null if unknown. Needs firms:read.",
    )
    async def firm(self, info: Info[Context, Any], brn: str) -> Firm | None:
        return await info.context.firm_loader.load(_brn(brn))

    @strawberry.field(
        extensions=FIRMS,
        description="Firms by BRN, narrowed by the filter; a page of `first` after `after`. Needs firms:read.",
    )
    async def firms(
        self,
        info: Info[Context, Any],
        filter: FirmFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> FirmConnection | None:
        size = _page_size(first, info.context.max_page)
        f = filter or FirmFilter()
        rf = repository.FirmFilter(
            size=f.size.value if f.size else None,
            region=f.region,
            technology=f.technology,
            designation_kind=f.designation_kind.value if f.designation_kind else None,
            designation_status=f.designation_status.value if f.designation_status else None,
            search=f.search,
        )
        async with info.context.pool.acquire() as conn:
            rows = await repository.firms_page(conn, rf, after=_after(after), limit=size + 1)
            total = await repository.firms_count(conn, rf)
        edges = [FirmEdge(cursor=encode_cursor([r["brn"]]), node=Firm.from_row(r)) for r in rows[:size]]
        info.context.firm_loader.prime_many({e.node.brn: e.node for e in edges})
        return FirmConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )

    @strawberry.field(
        extensions=FIRMS,
        description="Leading firms designated and active on a day (default today in Korea). Needs firms:read.",
    )
    async def designation_progress(
        self, info: Info[Context, Any], as_of: date | None = None
    ) -> DesignationProgress | None:
        day = as_of or datetime.now(SEOUL).date()
        async with info.context.pool.acquire() as conn:
            p = await repository.designation_progress(conn, day)
        return DesignationProgress(
            as_of=day,
            designated=p.designated,
            active=p.active,
            target=LEADING_FIRM_TARGET,
            by_cohort=[CohortCount(cohort=c, designated=n) for c, n in p.by_cohort],
        )

    @strawberry.field(
        extensions=BUDGET, description="One program by its code; null if unknown. Needs budget:read."
    )
    async def program(self, info: Info[Context, Any], code: str) -> Program | None:
        return await info.context.program_loader.load(code)

    @strawberry.field(
        extensions=BUDGET, description="Programs by code, of one fiscal year or all. Needs budget:read."
    )
    async def programs(
        self,
        info: Info[Context, Any],
        fiscal_year: int | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ProgramConnection | None:
        size = _page_size(first, info.context.max_page)
        async with info.context.pool.acquire() as conn:
            rows = await repository.programs_page(
                conn, fiscal_year=fiscal_year, after=_after(after), limit=size + 1
            )
            total = await repository.programs_count(conn, fiscal_year=fiscal_year)
        edges = [
            ProgramEdge(cursor=encode_cursor([r["code"]]), node=Program.from_row(r)) for r in rows[:size]
        ]
        info.context.program_loader.prime_many({e.node.code: e.node for e in edges})
        return ProgramConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )

    @strawberry.field(
        extensions=BUDGET, description="One project by its code; null if unknown. Needs budget:read."
    )
    async def project(self, info: Info[Context, Any], code: str) -> Project | None:
        return await info.context.project_loader.load(code)

    @strawberry.field(
        extensions=BUDGET, description="Projects by code, narrowed by the filter. Needs budget:read."
    )
    async def projects(
        self,
        info: Info[Context, Any],
        filter: ProjectFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ProjectConnection | None:
        size = _page_size(first, info.context.max_page)
        f = filter or ProjectFilter()
        rf = repository.ProjectFilter(
            program=f.program,
            technology=f.technology,
            firm=_brn(f.firm) if f.firm is not None else None,
            status=f.status.value if f.status else None,
            fiscal_year=f.fiscal_year,
            kind=f.kind.value if f.kind else None,
        )
        async with info.context.pool.acquire() as conn:
            rows = await repository.projects_page(conn, rf, after=_after(after), limit=size + 1)
            total = await repository.projects_count(conn, rf)
        edges = [
            ProjectEdge(cursor=encode_cursor([r["code"]]), node=Project.from_row(r)) for r in rows[:size]
        ]
        info.context.project_loader.prime_many({e.node.code: e.node for e in edges})
        return ProjectConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )

    @strawberry.field(
        extensions=BUDGET,
        description=(
            "One fiscal year's money and projects, overall, by industry and by track. programmedKrw"
            " sums the year's program budgets; committedKrw and disbursedKrw sum the year's projects. "
            + COUNT_RULE
            + " Needs budget:read."
        ),
    )
    async def program_overview(self, info: Info[Context, Any], fiscal_year: int) -> ProgramOverview | None:
        return await _program_overview(info.context.pool, fiscal_year)

    @strawberry.field(extensions=BUDGET, description=COVERAGE_GAPS + " Needs budget:read.")
    async def coverage_gaps(
        self,
        info: Info[Context, Any],
        fiscal_year: int,
        first: int = 20,
        after: str | None = None,
    ) -> TechnologyConnection | None:
        year = _fiscal_year(fiscal_year)
        size = _page_size(first, info.context.max_page)
        async with info.context.pool.acquire() as conn:
            rows = await repository.coverage_gaps_page(conn, year, after=_after(after), limit=size + 1)
            total = await repository.coverage_gaps_count(conn, year)
        return _technology_page(info, rows, size, total)

    @strawberry.field(description="How current the read model is, per source topic.")
    async def data_as_of(self, info: Info[Context, Any]) -> list[SourceFreshness]:
        async with info.context.pool.acquire() as conn:
            rows = await repository.freshness(conn)
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
        since: datetime,
        types: list[ChangeEntityType] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ChangeConnection | None:
        wanted = _feed_types(info.context.partner, types)
        size = _page_size(first, info.context.max_page)
        position = _seq_after(after)
        if since.tzinfo is None:
            raise GraphQLError(
                "`since` needs its UTC offset, such as 2024-01-01T00:00:00+09:00.",
                extensions={"code": "BAD_USER_INPUT"},
            )
        rows: list[asyncpg.Record] = []
        if wanted:
            async with info.context.pool.acquire() as conn:
                rows = await repository.changes_page(
                    conn, types=[t.value for t in wanted], since=since, after=position, limit=size + 1
                )
        edges = [
            ChangeEdge(cursor=encode_cursor([r["seq"]]), node=Change.from_row(ChangeRow.from_row(r)))
            for r in rows[:size]
        ]
        return ChangeConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
        )


# Extensions exit in reverse order: limits rewrite their refusals before errors are masked and logged.
schema = strawberry.Schema(
    query=Query,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map={Won: WON}),
    extensions=[
        ObserveOperations,
        EnforceLimits,
        # Parsed and validated documents, shared by every request (the keys include the
        # parser's limits and the validation rules, so apps with other limits do not mix).
        CachedParse,
        lambda: ValidationCache(maxsize=limits.DOCUMENT_CACHE_SIZE),
    ],
)
describe_types(schema)
