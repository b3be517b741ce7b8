"""The GraphQL surface for partner agencies, answered from the read model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

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

    def __post_init__(self) -> None:
        super().__init__()
        self.industry_loader = DataLoader(load_fn=self._load_industries)
        self.count_loader = DataLoader(load_fn=self._load_counts)

    async def _load_industries(self, codes: list[str]) -> list[Any]:
        async with self.pool.acquire() as conn:
            rows = {r["code"]: r for r in await repository.industries_by_code(conn, codes)}
        return [Industry.from_row(rows[c]) if c in rows else None for c in codes]

    async def _load_counts(self, days: list[date | None]) -> list[dict[str, int]]:
        async with self.pool.acquire() as conn:
            return [await repository.technology_counts(conn, d) for d in days]


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
