"""Consortia: a project's participants, and a firm's money as lead and as participant."""

from __future__ import annotations

from typing import Any

import asyncpg
import strawberry
from strawberry.types import Info

from gateway import store
from gateway.read.budget.model import PARTICIPANT, PARTICIPANT_FIRM, ParticipantKind, ParticipantRole
from gateway.read.common import COUNT_RULE, FIRMS, Won
from gateway.read.context import Context, load_one
from gateway.read.firms.types import Firm


@strawberry.type
class Participant:
    """A member of a project's consortium and its own share of the project's money.

    Each money field summed over a project's participants equals the project's field of the
    same name. A participant whose country is not KR is a foreign partner.
    """

    role: ParticipantRole = strawberry.field(description="The lead, or a participant.")
    kind: ParticipantKind = strawberry.field(description="A firm, a university or a research institute.")
    name: str | None = strawberry.field(
        description="The member's name; null for a Korean firm, which `firm` (its BRN) names."
    )
    country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 country code: KR for a Korean member, any other for a foreign partner."
    )
    government_krw: Won = strawberry.field(description="The member's share of the government money.")
    private_cash_krw: Won = strawberry.field(description="The member's private contribution in cash.")
    private_in_kind_krw: Won = strawberry.field(description="The member's private contribution in kind.")
    project_code: strawberry.Private[str]
    brn: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Participant:
        """From a read-model row."""
        return cls(**PARTICIPANT.values(row))

    @strawberry.field(
        extensions=FIRMS,
        description="The Korean firm this member is, by its BRN; null for anyone else, or until its event has arrived.",
    )
    async def firm(self, info: Info[Context, Any]) -> Firm | None:
        if self.brn is None:
            return None
        return await load_one(info, PARTICIPANT_FIRM.child, self.brn, Firm.from_row)


_OWN = "The firm's own share, over the projects counted in this role: "
_WHOLE = " of the whole projects counted in this role (the program commits to and pays a project, not each member)."


@strawberry.type
class RoleFunding:
    """A firm's money in one role (lead or participant) over the projects it holds that role in."""

    government_krw: Won = strawberry.field(description=_OWN + "government money.")
    private_cash_krw: Won = strawberry.field(description=_OWN + "private money in cash.")
    private_in_kind_krw: Won = strawberry.field(description=_OWN + "private money in kind.")
    committed_krw: Won = strawberry.field(description="Government money committed" + _WHOLE)
    disbursed_krw: Won = strawberry.field(description="Government money paid out" + _WHOLE)
    project_count: int = strawberry.field(description=COUNT_RULE)

    @classmethod
    def of(cls, row: asyncpg.Record | None) -> RoleFunding:
        """From a row of sums; none, no money."""
        if row is None:
            return cls(
                government_krw=Won(0),
                private_cash_krw=Won(0),
                private_in_kind_krw=Won(0),
                committed_krw=Won(0),
                disbursed_krw=Won(0),
                project_count=0,
            )
        return cls(**{k: row[k] for k in store.spending.ROLE_FUNDING})


@strawberry.type
class FirmFunding:
    """A firm's money over every fiscal year: as the lead of projects, and as a participant in others'."""

    as_lead: RoleFunding = strawberry.field(description="The projects the firm leads.")
    as_participant: RoleFunding = strawberry.field(
        description="The projects the firm takes part in without leading them."
    )

    @classmethod
    async def of_firm(cls, pool: asyncpg.Pool, brn: str) -> FirmFunding:
        """A firm's totals."""
        async with pool.acquire() as conn:
            rows = {r["role"]: r for r in await store.spending.firm_funding(conn, brn)}
        return cls(
            as_lead=RoleFunding.of(rows.get("lead")), as_participant=RoleFunding.of(rows.get("participant"))
        )
