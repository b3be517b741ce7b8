"""The change feed, the subscriptions, and how current the read model is."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from gateway import store
from gateway.partners.keys import Partner
from gateway.read.budget.model import BUDGET_READ, PROGRAM, PROJECT
from gateway.read.budget.overview import ProgramOverview
from gateway.read.budget.types import Program, Project
from gateway.read.catalog.model import CATALOG_READ, INDUSTRY, TECHNOLOGY
from gateway.read.catalog.types import Industry, Technology
from gateway.read.common import (
    BRN_GIVEN,
    BUDGET,
    CATALOG,
    CURSOR,
    EDGES,
    FIRMS,
    NOT_A_CURSOR,
    NOT_A_CURSOR_KO,
    PAGE_EDGES,
    LocalizedError,
    PageInfo,
    bad_input,
    forbidden,
)
from gateway.read.common import brn as valid_brn
from gateway.read.common import fiscal_year as valid_fiscal_year
from gateway.read.context import Context, Row, load_one
from gateway.read.describe import Entity
from gateway.read.firms.model import DESIGNATION, FIRM, FIRMS_READ, DesignationStatus
from gateway.read.firms.types import Designation, Firm
from gateway.read.hub import ChangeRow
from gateway.state import state_of
from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_cursor

T = TypeVar("T")


@strawberry.enum
class ChangeEntityType(Enum):
    """What kind of entity a change touched; each belongs to one scope."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    INDUSTRY = strawberry.enum_value(
        "industry", description="An industry; its key is the industry code. Needs catalog:read."
    )
    TECHNOLOGY = strawberry.enum_value(
        "technology", description="A technology; its key is the technology code. Needs catalog:read."
    )
    FIRM = strawberry.enum_value(
        "firm", description="A firm; its key is the BRN (10 digits). Needs firms:read."
    )
    DESIGNATION = strawberry.enum_value(
        "designation", description="A designation; its key is the designation id (UUID). Needs firms:read."
    )
    PROGRAM = strawberry.enum_value(
        "program", description="A program; its key is the program code. Needs budget:read."
    )
    PROJECT = strawberry.enum_value(
        "project", description="A project; its key is the project code. Needs budget:read."
    )
    FISCAL_YEAR = strawberry.enum_value(
        "fiscal_year",
        description=(
            "A fiscal year's envelope; its key is the year (such as 2023) and its entity the year's"
            " ProgramOverview. Needs budget:read."
        ),
    )


CHANGE_SCOPES: dict[ChangeEntityType, str] = {
    ChangeEntityType.INDUSTRY: CATALOG_READ,
    ChangeEntityType.TECHNOLOGY: CATALOG_READ,
    ChangeEntityType.FIRM: FIRMS_READ,
    ChangeEntityType.DESIGNATION: FIRMS_READ,
    ChangeEntityType.PROGRAM: BUDGET_READ,
    ChangeEntityType.PROJECT: BUDGET_READ,
    ChangeEntityType.FISCAL_YEAR: BUDGET_READ,
}

# The entity each change type names, and how its type is built from a row.
CHANGED: dict[ChangeEntityType, tuple[Entity, Callable[[Row], Any]]] = {
    ChangeEntityType.INDUSTRY: (INDUSTRY, Industry.from_row),
    ChangeEntityType.TECHNOLOGY: (TECHNOLOGY, Technology.from_row),
    ChangeEntityType.FIRM: (FIRM, Firm.from_row),
    ChangeEntityType.DESIGNATION: (DESIGNATION, Designation.from_row),
    ChangeEntityType.PROGRAM: (PROGRAM, Program.from_row),
    ChangeEntityType.PROJECT: (PROJECT, Project.from_row),
}

ChangedEntity = Annotated[
    Industry | Technology | Firm | Designation | Program | Project | ProgramOverview,
    strawberry.union("ChangedEntity", description="The entity a change touched, as it stands now."),
]


@strawberry.type
class Change:
    """One entity the read model changed: which, to what version, and when."""

    entity_type: ChangeEntityType = strawberry.field(description="What kind of entity changed.")
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
        if self.entity_type is ChangeEntityType.FISCAL_YEAR:
            return await ProgramOverview.of_year(info.context.pool, int(self.key))
        entity, build = CHANGED[self.entity_type]
        found: ChangedEntity | None = await load_one(info, entity, self.key, build)
        return found


@strawberry.type
class ChangeEdge:
    """A change and its cursor."""

    cursor: str = strawberry.field(description=CURSOR)
    node: Change = strawberry.field(description="The change.")


@strawberry.type
class ChangeConnection:
    """A page of the change feed."""

    edges: list[ChangeEdge] = strawberry.field(description=EDGES, metadata=PAGE_EDGES)
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


SINCE = (
    "Only changes the gateway applied at or after this instant, with its UTC offset, such as"
    " 2024-01-01T00:00:00+09:00 (an instant without an offset is a BAD_USER_INPUT error)."
)
TYPES = (
    "Only changes to these kinds of entity; omitted, every kind the key's scopes may read. An empty"
    " list is a BAD_USER_INPUT error; a kind outside the key's scopes is FORBIDDEN."
)


def feed_types(partner: Partner | None, types: list[ChangeEntityType] | None) -> list[ChangeEntityType]:
    """The entity types a feed holds; FORBIDDEN for a type asked for outside the key's scopes."""
    scopes = partner.scopes if partner is not None else frozenset()
    if types is None:
        return [t for t in ChangeEntityType if CHANGE_SCOPES[t] in scopes]
    if not types:
        raise bad_input(
            "`types` must name at least one type; omit it for every type the key may read.",
            "`types`에는 타입을 하나 이상 적어야 합니다. 키가 읽을 수 있는 모든 타입을 원하면 빼십시오.",
        )
    for t in types:
        scope = CHANGE_SCOPES[t]
        if scope not in scopes:
            raise forbidden(scope)
    return list(dict.fromkeys(types))


def seq_after(after: str | None) -> int:
    """The seq inside a change feed's cursor; 0 for the first page."""
    if after is None:
        return 0
    error = bad_input(NOT_A_CURSOR, NOT_A_CURSOR_KO)
    try:
        (value,) = decode_cursor(after, arity=1)
    except Invalid as exc:
        raise error from exc
    if type(value) is not int or value < 0:
        raise error
    return value


@strawberry.type
class SourceFreshness:
    """How current the read model is for one source topic."""

    topic: str = strawberry.field(
        description="The Kafka topic the read model follows, such as mpe.catalog.technology."
    )
    last_event_time: datetime | None = strawberry.field(
        description=(
            "When the source service published the latest event the gateway has projected from the"
            " topic (the event's own time); null until one has been projected."
        )
    )
    last_applied_at: datetime | None = strawberry.field(
        description="When the gateway last recorded its position on the topic; null before the first time."
    )
    lag: int = strawberry.field(description="Events on the topic not yet projected, as last measured.")
    caught_up_at: datetime | None = strawberry.field(
        default=None,
        description=(
            "When the gateway last saw every partition of the topic projected to its end: the read"
            " model holds every event published on the topic before then. It stops moving while"
            " Kafka is unreachable. Null until each partition has been seen complete."
        ),
    )


async def _news(
    info: Info[Context, Any], entity_type: ChangeEntityType, build: Callable[[Row], T]
) -> AsyncIterator[T]:
    """Each entity of a type as it stands after each change the hub reports, in change order."""
    c = info.context
    if c.changes is None:
        raise LocalizedError(
            "Subscriptions are served over the WebSocket of /graphql (graphql-transport-ws).",
            "구독(subscription)은 /graphql의 WebSocket(graphql-transport-ws)으로 제공합니다.",
            extensions={"code": "BAD_REQUEST"},
        )
    entity = CHANGED[entity_type][0]
    async for page in c.changes.follow([entity_type.value]):
        await _still_admitted(c)
        async with c.pool.acquire() as conn:
            rows = await store.described.rows_by_key(conn, entity, list({r.key for r in page}))
        found = {str(row[entity.key]): (build(row), row["version"]) for row in rows}
        for r in page:
            built, version = found.get(r.key, (None, None))
            # A change already superseded when it is read is left out: the later change's own
            # row delivers the entity as it stands, so each state is sent once.
            if built is not None and version == r.version:
                # The nested fields of each answer read the read model afresh.
                c.forget()
                yield built


async def _still_admitted(c: Context) -> None:
    """End a subscription whose key was revoked or rotated out since the socket opened.

    Checked before each answer, through the same key cache as HTTP: a revoked key gets nothing
    more after at most the cache's second.
    """
    if c.api_key is None or c.request is None:
        return
    gate = state_of(c.request.app).gate
    if await gate.keys.authenticate(c.pool, c.api_key) is None:
        raise LocalizedError(
            "The API key is not valid or has been revoked.",
            "API 키가 올바르지 않거나 폐기되었습니다.",
            extensions={"code": "UNAUTHENTICATED"},
        )


def _codes(codes: list[str] | None) -> set[str] | None:
    if codes is not None and not codes:
        raise bad_input(
            "`codes` must name at least one technology; omit it for every technology.",
            "`codes`에는 기술을 하나 이상 적어야 합니다. 모든 기술을 원하면 빼십시오.",
        )
    return set(codes) if codes is not None else None


@strawberry.type
class Subscription:
    """Entities as the gateway applies their changes, over graphql-transport-ws on /graphql."""

    @strawberry.subscription(
        extensions=CATALOG,
        description="Each technology the gateway changes from now on, of an industry or among codes if given.",
    )
    async def technology_changed(
        self,
        info: Info[Context, Any],
        industry: Annotated[
            str | None,
            strawberry.argument(description="Only technologies of this industry code, such as SEMI."),
        ] = None,
        codes: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only these technology codes; omitted, every one (an empty list is an error)."
            ),
        ] = None,
    ) -> AsyncGenerator[Technology, None]:
        wanted = _codes(codes)
        async for t in _news(info, ChangeEntityType.TECHNOLOGY, Technology.from_row):
            if (industry is None or t.industry_code == industry) and (wanted is None or t.code in wanted):
                yield t

    @strawberry.subscription(
        extensions=FIRMS,
        description="Each designation the gateway changes from now on, of a firm or in a status if given.",
    )
    async def designation_changed(
        self,
        info: Info[Context, Any],
        brn: Annotated[
            str | None, strawberry.argument(description="Only the designations of this firm. " + BRN_GIVEN)
        ] = None,
        status: Annotated[
            DesignationStatus | None,
            strawberry.argument(description="Only designations in this status after the change."),
        ] = None,
    ) -> AsyncGenerator[Designation, None]:
        firm = valid_brn(brn) if brn is not None else None
        async for d in _news(info, ChangeEntityType.DESIGNATION, Designation.from_row):
            if (firm is None or d.brn == firm) and (status is None or d.status == status):
                yield d

    @strawberry.subscription(
        extensions=BUDGET,
        description=(
            "Each project the gateway changes from now on, of a fiscal year, a program or touching a"
            " technology if given."
        ),
    )
    async def project_changed(
        self,
        info: Info[Context, Any],
        fiscal_year: Annotated[
            int | None, strawberry.argument(description="Only projects of this fiscal year, such as 2023.")
        ] = None,
        program: Annotated[
            str | None, strawberry.argument(description="Only projects of this program code.")
        ] = None,
        technology: Annotated[
            str | None,
            strawberry.argument(description="Only projects touching this technology code, in any position."),
        ] = None,
    ) -> AsyncGenerator[Project, None]:
        if fiscal_year is not None:
            valid_fiscal_year(fiscal_year)
        async for p in _news(info, ChangeEntityType.PROJECT, Project.from_row):
            if (
                (fiscal_year is None or p.fiscal_year == fiscal_year)
                and (program is None or p.program_code == program)
                and (technology is None or technology in p.technology_codes)
            ):
                yield p
