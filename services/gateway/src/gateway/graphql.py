"""The GraphQL surface for partner agencies, answered from the read model."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension
from strawberry.fastapi import BaseContext
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from gateway import repository
from gateway.keys import Partner
from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_text_cursor, encode_cursor


@dataclass
class Context(BaseContext):
    """Per request: the pool, the partner and the DataLoaders."""

    pool: asyncpg.Pool
    partner: Partner | None
    max_page: int
    industry_loader: DataLoader[str, Any] = field(init=False)
    count_loader: DataLoader[date | None, dict[str, int]] = field(init=False)
    technology_loader: DataLoader[str, Technology | None] = field(init=False)
    firm_loader: DataLoader[str, Firm | None] = field(init=False)
    firm_designations_loader: DataLoader[tuple[str, int], list[Designation]] = field(init=False)
    technology_firms_loader: DataLoader[tuple[str, int], list[Firm]] = field(init=False)
    technology_designations_loader: DataLoader[tuple[str, str | None, int], list[Designation]] = field(
        init=False
    )

    def __post_init__(self) -> None:
        super().__init__()
        self.industry_loader = DataLoader(load_fn=self._load_industries)
        self.count_loader = DataLoader(load_fn=self._load_counts)
        self.technology_loader = DataLoader(load_fn=self._load_technologies)
        self.firm_loader = DataLoader(load_fn=self._load_firms)
        self.firm_designations_loader = DataLoader(load_fn=self._load_firm_designations)
        self.technology_firms_loader = DataLoader(load_fn=self._load_technology_firms)
        self.technology_designations_loader = DataLoader(load_fn=self._load_technology_designations)

    async def _load_industries(self, codes: list[str]) -> list[Any]:
        async with self.pool.acquire() as conn:
            rows = {r["code"]: r for r in await repository.industries_by_code(conn, codes)}
        return [Industry.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_counts(self, days: list[date | None]) -> list[dict[str, int]]:
        async with self.pool.acquire() as conn:
            return [await repository.technology_counts(conn, d) for d in days]

    async def _load_technologies(self, codes: list[str]) -> list[Technology | None]:
        async with self.pool.acquire() as conn:
            rows = {r["code"]: r for r in await repository.technologies_by_code(conn, codes)}
        return [Technology.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_firms(self, brns: list[str]) -> list[Firm | None]:
        async with self.pool.acquire() as conn:
            rows = {r["brn"]: r for r in await repository.firms_by_brn(conn, brns)}
        return [Firm.from_row(rows[b]) if b in rows else None for b in brns]

    # The loaders below batch one statement per distinct `first` (and `status`) of the
    # request, never one per parent.

    async def _load_firm_designations(self, keys: list[tuple[str, int]]) -> list[list[Designation]]:
        found: dict[tuple[str, int], list[Designation]] = defaultdict(list)
        async with self.pool.acquire() as conn:
            for first, brns in _group(keys).items():
                for r in await repository.designations_of_firms(conn, brns, limit=first):
                    found[(r["brn"], first)].append(Designation.from_row(r))
        return [found.get(k, []) for k in keys]

    async def _load_technology_firms(self, keys: list[tuple[str, int]]) -> list[list[Firm]]:
        found: dict[tuple[str, int], list[Firm]] = defaultdict(list)
        async with self.pool.acquire() as conn:
            for first, codes in _group(keys).items():
                for r in await repository.firms_of_technologies(conn, codes, limit=first):
                    found[(r["technology"], first)].append(Firm.from_row(r))
        return [found.get(k, []) for k in keys]

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

SEOUL = ZoneInfo("Asia/Seoul")
# The program's goal: 200 leading firms (으뜸기업) by 2030.
LEADING_FIRM_TARGET = 200


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

    @strawberry.field(extensions=FIRMS, description="Firms that hold this technology, by BRN.")
    async def firms(self, info: Info[Context, Any], first: int = 20) -> list[Firm] | None:
        size = _page_size(first, info.context.max_page)
        return await info.context.technology_firms_loader.load((self.code, size))

    @strawberry.field(extensions=FIRMS, description="Designations for this technology, in the order applied.")
    async def designations(
        self, info: Info[Context, Any], status: DesignationStatus | None = None, first: int = 20
    ) -> list[Designation] | None:
        size = _page_size(first, info.context.max_page)
        key = (self.code, status.value if status else None, size)
        return await info.context.technology_designations_loader.load(key)


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


def _after(after: str | None) -> str | None:
    try:
        return decode_text_cursor(after)
    except Invalid as exc:
        raise GraphQLError(
            "`after` is not a cursor from this API.", extensions={"code": "BAD_USER_INPUT"}
        ) from exc


@strawberry.type
class Query:
    """What partner agencies can read."""

    @strawberry.field(extensions=CATALOG)
    async def industries(self, info: Info[Context, Any]) -> list[Industry]:
        async with info.context.pool.acquire() as conn:
            return [Industry.from_row(r) for r in await repository.industries(conn)]

    @strawberry.field(extensions=CATALOG)
    async def technologies(
        self,
        info: Info[Context, Any],
        filter: TechnologyFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> TechnologyConnection:
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
        edges = [
            TechnologyEdge(cursor=encode_cursor([r["code"]]), node=Technology.from_row(r))
            for r in rows[:size]
        ]
        info.context.technology_loader.prime_many({e.node.code: e.node for e in edges})
        return TechnologyConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )

    @strawberry.field(extensions=CATALOG)
    async def technology(self, info: Info[Context, Any], code: str) -> Technology | None:
        async with info.context.pool.acquire() as conn:
            row = await repository.technology(conn, code)
        return Technology.from_row(row) if row else None

    @strawberry.field(extensions=FIRMS)
    async def firm(self, info: Info[Context, Any], brn: str) -> Firm | None:
        return await info.context.firm_loader.load(_brn(brn))

    @strawberry.field(extensions=FIRMS)
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
        extensions=FIRMS, description="Leading firms designated and active on a day (default today in Korea)."
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
            )
            for r in rows
        ]


schema = strawberry.Schema(query=Query)
