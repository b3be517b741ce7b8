"""`spending`: any total of the projects' money in one query, grouped by the dimensions asked for.

The rows come from one statement of the store (`gateway.store.spending`), which the compiler,
the resolver and the CSV export share; the attribution rules are stated there and in `SPENDING`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

import asyncpg
import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_snake_case

from gateway import store
from gateway.read.budget.model import PROGRAM, ProgramKind, ProjectKind
from gateway.read.budget.types import Program
from gateway.read.catalog.types import Industry
from gateway.read.common import COUNT_RULE, Won, brn, fiscal_year, paid_month, partner_country
from gateway.read.context import Context, load_one
from gateway.read.describe import FISCAL_YEARS, INDUSTRIES, TRACKS
from gateway.read.firms.model import FirmSize

SPENDING = (
    "The projects' money summed by the dimensions in `groupBy` (none: one row of totals), narrowed by"
    " the filter; one row per combination that has money or a counted project, ordered by the"
    " dimensions in their declared order, nulls last. Sums are exact. Attribution: a project counts"
    " under its primary (first) technology's industry; region and size are the lead firm's as they"
    " stood on the selection day; with PARTNER_COUNTRY a project counts once under each country of"
    " its foreign partners (such rows have `overlaps` true and must not be added up). Money follows"
    " programOverview: grouped by FISCAL_YEAR (and INDUSTRY) the rows equal its totals (and"
    " byIndustry). With PAID_MONTH, or a paidMonth filter, only disbursed money is summed, from the"
    " payment lines, and the other money fields are null. " + COUNT_RULE
)


@strawberry.enum(description="A dimension the rollup can group by.")
class SpendingDimension(Enum):
    """A dimension of `spending`."""

    FISCAL_YEAR = strawberry.enum_value("fiscal_year", description="The project's fiscal year.")
    INDUSTRY = strawberry.enum_value(
        "industry", description="The industry of the project's primary (first) technology."
    )
    PROGRAM = strawberry.enum_value("program", description="The project's program.")
    PROGRAM_KIND = strawberry.enum_value("program_kind", description="The kind of the project's program.")
    TRACK = strawberry.enum_value("track", description="The track of the project's program.")
    PROJECT_KIND = strawberry.enum_value("project_kind", description="New or continuing.")
    REGION = strawberry.enum_value(
        "region", description="The lead firm's region as it stood on the selection day."
    )
    FIRM_SIZE = strawberry.enum_value(
        "firm_size", description="The lead firm's size class as it stood on the selection day."
    )
    PARTNER_COUNTRY = strawberry.enum_value(
        "partner_country",
        description=(
            "The country of each foreign partner: a project counts once under each of its partners'"
            " countries (rows flagged `overlaps`), and under null if it has none."
        ),
    )
    PAID_MONTH = strawberry.enum_value(
        "paid_month",
        description="The month (YYYY-MM, in Korea) of each payment: disbursed money only.",
    )


# How many values each dimension takes, for the cost limit: the program's size with room.
DIMENSION_SIZES = {
    "FISCAL_YEAR": FISCAL_YEARS,
    "INDUSTRY": INDUSTRIES,
    "PROGRAM": 300,  # the programs of every year: about ten a year
    "PROGRAM_KIND": len(ProgramKind),
    "TRACK": TRACKS,
    "PROJECT_KIND": 2,  # new, continuing
    "REGION": 18,  # the 17 시·도, and none
    "FIRM_SIZE": 4,  # large, mid, sme, and none
    "PARTNER_COUNTRY": 50,  # the countries of foreign partners, and none
    "PAID_MONTH": 12 * FISCAL_YEARS,
}
PROGRAMS_A_YEAR = 20
# A program belongs to one fiscal year, kind and track: grouped by program, those add no rows.
_FIXED_BY_PROGRAM = ("FISCAL_YEAR", "PROGRAM_KIND", "TRACK")


def rows_at_most(arguments: Mapping[str, Any]) -> int:
    """The rows `spending` is assumed to return, from its arguments as given: one without
    `groupBy`, else the product of its dimensions' sizes, where a dimension the filter fixes
    counts once, and with PROGRAM the program's year, kind and track count once (and the
    programs of one year are PROGRAMS_A_YEAR)."""
    asked = arguments.get("groupBy") or []
    names = [str(n) for n in dict.fromkeys(asked if isinstance(asked, list) else [asked])]
    given = arguments.get("filter")
    fixed = {
        to_snake_case(key).upper()
        for key, value in (given.items() if isinstance(given, Mapping) else ())
        if value is not None
    }
    sizes = {
        n: 1 if n in fixed else DIMENSION_SIZES.get(n, 1) for n in names
    }  # an unknown name fails validation
    if "PROGRAM" in sizes:
        sizes.update({n: 1 for n in _FIXED_BY_PROGRAM if n in sizes})
        if "FISCAL_YEAR" in fixed:
            sizes["PROGRAM"] = min(sizes["PROGRAM"], PROGRAMS_A_YEAR)
    return math.prod(sizes.values())


@strawberry.input(description="Filters of `spending`; all given must match.")
class SpendingFilter:
    """Filters of the rollup."""

    fiscal_year: int | None = strawberry.field(default=None, description="The project's fiscal year.")
    industry: str | None = strawberry.field(
        default=None, description="An industry code: of the project's primary (first) technology."
    )
    program: str | None = strawberry.field(default=None, description="A program code.")
    program_kind: ProgramKind | None = strawberry.field(default=None, description="The program's kind.")
    track: str | None = strawberry.field(default=None, description="The program's track.")
    project_kind: ProjectKind | None = strawberry.field(default=None, description="New or continuing.")
    region: str | None = strawberry.field(
        default=None,
        description="The lead firm's region (시·도) on the selection day, in any of its spellings (경기, 경기도, Gyeonggi).",
    )
    firm_size: FirmSize | None = strawberry.field(
        default=None, description="The lead firm's size class on the selection day."
    )
    partner_country: str | None = strawberry.field(
        default=None,
        description="Projects with a foreign partner of this ISO 3166-1 alpha-2 country, such as DE.",
    )
    paid_month: str | None = strawberry.field(
        default=None,
        description="Payments of one month, as YYYY-MM: disbursed money only, as with PAID_MONTH.",
    )
    technology: str | None = strawberry.field(
        default=None, description="A technology code the project touches, in any position."
    )
    firm: str | None = strawberry.field(
        default=None, description="The lead firm's BRN, as 1234567890 or 123-45-67890."
    )


def asked(group_by: list[Any], f: dict[str, Any]) -> store.spending.Spending:
    """The rollup asked for, its filter (GraphQL names, coerced) checked; BAD_USER_INPUT otherwise."""

    def text(name: str, check: Any) -> Any:
        value = f.get(name)
        return None if value is None else check(value)

    def enum(name: str) -> str | None:
        value = f.get(name)
        return None if value is None else str(value.value)

    return store.spending.Spending(
        group_by=frozenset(str(d.value) for d in group_by),
        filters={
            "fiscal_year": text("fiscalYear", fiscal_year),
            "industry": f.get("industry"),
            "program": f.get("program"),
            "program_kind": enum("programKind"),
            "track": f.get("track"),
            "project_kind": enum("projectKind"),
            "region": f.get("region"),
            "firm_size": enum("firmSize"),
            "partner_country": text("partnerCountry", partner_country),
            "paid_month": text("paidMonth", paid_month),
            "technology": f.get("technology"),
            "firm": text("firm", brn),
        },
    )


def filter_dict(f: SpendingFilter | None) -> dict[str, Any]:
    """The strawberry input as the compiler sees a coerced argument: GraphQL names, given values only."""
    if f is None:
        return {}
    names = {
        "fiscal_year": "fiscalYear",
        "program_kind": "programKind",
        "project_kind": "projectKind",
        "firm_size": "firmSize",
        "partner_country": "partnerCountry",
        "paid_month": "paidMonth",
    }
    return {names.get(k, k): v for k, v in vars(f).items() if v is not None}


_WON_SPLIT = " Null with PAID_MONTH or a paidMonth filter."


@strawberry.type(
    description="One row of the rollup: the dimensions grouped by, and the money of its projects."
)
class SpendingRow:
    """A group of projects and their money."""

    fiscal_year: int | None = strawberry.field(description="Set when grouped by FISCAL_YEAR.")
    industry: Industry | None = strawberry.field(
        description="Set when grouped by INDUSTRY; null there gathers projects whose industry is not known yet."
    )
    program_kind: ProgramKind | None = strawberry.field(description="Set when grouped by PROGRAM_KIND.")
    track: str | None = strawberry.field(
        description="Set when grouped by TRACK (null: a program without one)."
    )
    project_kind: ProjectKind | None = strawberry.field(description="Set when grouped by PROJECT_KIND.")
    region: str | None = strawberry.field(description="Set when grouped by REGION.")
    firm_size: FirmSize | None = strawberry.field(description="Set when grouped by FIRM_SIZE.")
    partner_country: str | None = strawberry.field(
        description="Set when grouped by PARTNER_COUNTRY; null there gathers projects without a foreign partner."
    )
    paid_month: str | None = strawberry.field(description="Set when grouped by PAID_MONTH: YYYY-MM.")
    committed_krw: Won | None = strawberry.field(description="Government money committed." + _WON_SPLIT)
    disbursed_krw: Won = strawberry.field(
        description="Government money paid out (with PAID_MONTH: paid in that month)."
    )
    government_krw: Won | None = strawberry.field(
        description="The government share planned, over the counted projects." + _WON_SPLIT
    )
    private_cash_krw: Won | None = strawberry.field(
        description="Private money in cash planned, over the counted projects." + _WON_SPLIT
    )
    private_in_kind_krw: Won | None = strawberry.field(
        description="Private money in kind planned, over the counted projects." + _WON_SPLIT
    )
    project_count: int = strawberry.field(
        description="Projects counted in this row (with PAID_MONTH: those paid that month). " + COUNT_RULE
    )
    overlaps: bool = strawberry.field(
        description=(
            "True when a project of this row also counts in another row (grouped by PARTNER_COUNTRY, a"
            " project with partners in several countries): such rows must not be added up."
        )
    )
    program_code: strawberry.Private[str | None]

    @strawberry.field(
        description="Set when grouped by PROGRAM; null there gathers projects whose program is not known yet."
    )
    async def program(self, info: Info[Context, Any]) -> Program | None:
        if self.program_code is None:
            return None
        return await load_one(info, PROGRAM, self.program_code, Program.from_row)

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> SpendingRow:
        """From a row of the rollup."""
        industry = None
        if r["industry_code"] is not None:
            industry = Industry(
                code=r["industry_code"], name_en=r["industry_name_en"], name_ko=r["industry_name_ko"]
            )
        return cls(
            fiscal_year=r["fiscal_year"],
            industry=industry,
            program_kind=ProgramKind(r["program_kind"]) if r["program_kind"] else None,
            track=r["track"],
            project_kind=ProjectKind(r["project_kind"]) if r["project_kind"] else None,
            region=r["region"],
            firm_size=FirmSize(r["firm_size"]) if r["firm_size"] else None,
            partner_country=r["partner_country"],
            paid_month=r["paid_month"],
            committed_krw=r["committed_krw"],
            disbursed_krw=r["disbursed_krw"],
            government_krw=r["government_krw"],
            private_cash_krw=r["private_cash_krw"],
            private_in_kind_krw=r["private_in_kind_krw"],
            project_count=r["project_count"],
            overlaps=r["overlaps"],
            program_code=r["program_code"],
        )


async def spending_rows(
    pool: asyncpg.Pool, group_by: list[SpendingDimension], f: SpendingFilter | None
) -> list[asyncpg.Record]:
    """The rollup's rows, its arguments checked (BAD_USER_INPUT otherwise)."""
    rollup = asked(group_by, filter_dict(f))
    async with pool.acquire() as conn:
        return await store.spending.spending(conn, rollup)
