"""Read-model reads of the budget: programs, projects, their sums and the coverage gaps."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from gateway.read.budget.model import DISBURSEMENT, PROGRAM, PROJECT
from gateway.store.catalog import TECH_COLS
from mpe_kit.db import Conn
from mpe_kit.pagination import keyset_after

# Budget: fiscal years, programs, projects

PROGRAM_COLS = PROGRAM.select()
PROJECT_COLS = PROJECT.select()
DISBURSEMENT_COLS = DISBURSEMENT.select()


# Every project count counts the committed projects: selected and beyond, except that a terminated
# project counts only if something was paid (its event then leaves what was paid as committed_krw).
# A project that does not count commits nothing, so money sums need no such filter.
def counted(alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return f"({a}committed_krw > 0 or {a}status in ('selected', 'agreement_signed', 'active', 'completed'))"


COUNTED = counted()
# Statuses in which a project covers its technologies in coverageGaps.
COVERING = "('selected', 'agreement_signed', 'active', 'completed')"


async def programs_page(
    conn: Conn, *, fiscal_year: int | None, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Programs by code after a keyset position, of one fiscal year or all."""
    return await conn.fetch(
        f"select {PROGRAM_COLS} from programs where ($1::int is null or fiscal_year = $1)"
        f" and {keyset_after(('code', '$2', 'text'))} order by code limit $3",
        fiscal_year,
        after,
        limit,
    )


async def programs_count(conn: Conn, *, fiscal_year: int | None) -> int:
    """How many programs a fiscal year has (or all years)."""
    n = await conn.fetchval(
        "select count(*) from programs where ($1::int is null or fiscal_year = $1)", fiscal_year
    )
    return int(n)


async def program_totals(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """Per program code: money committed and disbursed over its projects, and the projects counted."""
    return await conn.fetch(
        "select program_code, coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(*) filter (where {COUNTED}) as project_count"
        " from projects where program_code = any($1::text[]) group by program_code",
        list(codes),
    )


@dataclass(frozen=True, kw_only=True)
class ProjectFilter:
    """Filters of the projects connection; firm is the lead firm's BRN."""

    program: str | None = None
    technology: str | None = None
    firm: str | None = None
    status: str | None = None
    fiscal_year: int | None = None
    kind: str | None = None
    partner_country: str | None = None


def has_partner(country: str, project: str = "projects.code") -> str:
    """The SQL condition that the project `project` has a foreign partner of the country `country` (SQL)."""
    return (
        f"exists (select 1 from project_participants pp where pp.project_code = {project}"
        f" and pp.country = {country} and pp.country <> 'KR')"
    )


def project_where(f: ProjectFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or program_code = $1)"
        " and ($2::text is null or technology_codes @> array[$2::text])"
        " and ($3::text is null or lead_firm_brn = $3)"
        " and ($4::text is null or status = $4)"
        " and ($5::int is null or fiscal_year = $5)"
        " and ($6::text is null or kind = $6)"
        f" and ($7::text is null or {has_partner('$7::text')})"
    )
    return sql, [f.program, f.technology, f.firm, f.status, f.fiscal_year, f.kind, f.partner_country]


async def projects_page(
    conn: Conn, f: ProjectFilter, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Projects by code after a keyset position."""
    where, args = project_where(f)
    return await conn.fetch(
        f"select {PROJECT_COLS} from projects{where} and {keyset_after(('code', '$8', 'text'))} order by code limit $9",
        *args,
        after,
        limit,
    )


async def touched_projects(
    conn: Conn, codes: list[str], effective_on: date, *, limit: int
) -> list[asyncpg.Record]:
    """Projects touching any of `codes`, not terminated, running on or after `effective_on` (Revision.touches).

    `end_on` is the first day after a project, so one running on `effective_on` ends after it.
    """
    return await conn.fetch(
        f"select {PROJECT_COLS} from projects where technology_codes && $1::text[]"
        " and status <> 'terminated' and end_on > $2 order by fiscal_year desc, code limit $3",
        codes,
        effective_on,
        limit,
    )


async def disbursements_page(
    conn: Conn, project_code: str, *, after: tuple[date, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """A project's payment lines in (paid_on, id) order after a keyset position."""
    day, rid = after if after is not None else (None, None)
    return await conn.fetch(
        f"select {DISBURSEMENT_COLS} from disbursements where project_code = $1"
        f" and {keyset_after(('paid_on', '$2', 'date'), ('id', '$3', 'uuid'))} order by paid_on, id limit $4",
        project_code,
        day,
        rid,
        limit,
    )


async def disbursements_count(conn: Conn, project_code: str) -> int:
    """How many payment lines a project has."""
    n = await conn.fetchval("select count(*) from disbursements where project_code = $1", project_code)
    return int(n)


async def projects_count(conn: Conn, f: ProjectFilter) -> int:
    """How many projects match the filter."""
    where, args = project_where(f)
    n = await conn.fetchval(f"select count(*) from projects{where}", *args)
    return int(n)


# Technology.funding and fundingByYear read the sums kept per technology and fiscal year
# (technology_year_funding, migration 0011): the sums of `counted` and the money of the projects
# carrying the code, a project once per distinct code it carries. A sum over years is a sum of
# rows: each project belongs to one fiscal year.
def technology_sums(code: str, year: str) -> str:
    """One row: the sums of the technology `code` (SQL) in the fiscal year `year` (SQL; null: every year), zeros without projects.

    The year is a range, not `(year is null or f.fiscal_year = year)`: a prepared statement's
    generic plan cannot use the key for that form and filters the technology's every year; for
    a range it ranges the key (technology, year) either way (docs/measurements.md).
    """
    return (
        "select coalesce(sum(f.committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(f.disbursed_krw), 0)::bigint as disbursed_krw,"
        " coalesce(sum(f.project_count), 0)::bigint as project_count"
        f" from technology_year_funding f where f.technology_code = {code}"
        f" and f.fiscal_year between coalesce({year}::int, -2147483648) and coalesce({year}::int, 2147483647)"
    )


def technology_years(code: str) -> str:
    """The technology `code`'s (SQL) sums per fiscal year; a year with nothing counted and no money is left out."""
    return (
        "select f.fiscal_year, f.committed_krw, f.disbursed_krw, f.project_count from technology_year_funding f"
        f" where f.technology_code = {code} and (f.project_count > 0 or f.committed_krw > 0 or f.disbursed_krw > 0)"
    )


async def technology_funding(
    conn: Conn, codes: Sequence[str], *, fiscal_year: int | None
) -> list[asyncpg.Record]:
    """Per technology code: sums over every project touching it, of one fiscal year or all."""
    return await conn.fetch(
        "select t.code as technology, s.* from (select distinct c from unnest($1::text[]) c) t(code)"
        f" cross join lateral ({technology_sums('t.code', '$2')}) s",
        list(codes),
        fiscal_year,
    )


# A year's totals and its rollup by industry read the sums kept per (fiscal year, primary
# technology) (year_technology_sums, migration 0013): at most one row per technology of the year,
# however many projects it has. A project counts under its primary technology's industry.
SUMMED = (
    "coalesce(sum(s.committed_krw), 0)::bigint as committed_krw,"
    " coalesce(sum(s.disbursed_krw), 0)::bigint as disbursed_krw"
)
# Those rows `s` with their technology `t` and its industry `i` (none for a project without one).
SUMS_BY_INDUSTRY = (
    "year_technology_sums s left join technologies t on t.code = s.technology_code"
    " left join industries i on i.code = t.industry_code"
)
# A group of them with nothing counted and no money is left out, as NONEMPTY leaves out projects'.
SUMMED_NONEMPTY = "having sum(s.project_count) > 0 or sum(s.committed_krw) > 0 or sum(s.disbursed_krw) > 0"


def year_totals_sql(year: str) -> str:
    """One row: the fiscal year `year` (SQL, an int), its envelope, programmed budget, money over its projects and counted projects by kind."""
    return (
        f"select {year} as fiscal_year, (select envelope_krw from fiscal_years where year = {year}) as envelope_krw,"
        f" (select coalesce(sum(budget_krw), 0)::bigint from programs where fiscal_year = {year}) as programmed_krw,"
        f" {SUMMED}, coalesce(sum(s.new_count), 0)::bigint as new_count,"
        " coalesce(sum(s.continuing_count), 0)::bigint as continuing_count"
        f" from year_technology_sums s where s.fiscal_year = {year}"
    )


def year_by_industry_sql(year: str) -> str:
    """The fiscal year `year`'s (SQL) sums by industry (null: not known yet); an industry with nothing counted and no money is left out."""
    return (
        f"select i.code, i.name_en, i.name_ko, {SUMMED}, coalesce(sum(s.project_count), 0)::bigint as project_count"
        f" from {SUMS_BY_INDUSTRY} where s.fiscal_year = {year} group by i.code, i.name_en, i.name_ko"
        f" {SUMMED_NONEMPTY}"
    )


async def year_totals(conn: Conn, year: int) -> asyncpg.Record:
    """A fiscal year's envelope, programmed budget, money over its projects and counted projects by kind."""
    row = await conn.fetchrow(year_totals_sql("$1::int"), year)
    assert row is not None
    return row


# The sums of a rollup group of projects `p`; a group with nothing counted and no money is left out.
ROLLUP = (
    "coalesce(sum(p.committed_krw), 0)::bigint as committed_krw,"
    " coalesce(sum(p.disbursed_krw), 0)::bigint as disbursed_krw,"
    f" count(*) filter (where {counted('p')}) as project_count"
)
NONEMPTY = f"having count(*) filter (where {counted('p')}) > 0 or sum(p.committed_krw) > 0 or sum(p.disbursed_krw) > 0"


async def technology_funding_by_year(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """Per technology code and fiscal year: sums over the projects touching it (empty years left out)."""
    return await conn.fetch(
        "select t.code as technology, y.* from (select distinct c from unnest($1::text[]) c) t(code)"
        f" cross join lateral ({technology_years('t.code')}) y order by t.code, y.fiscal_year",
        list(codes),
    )


async def year_by_industry(conn: Conn, year: int) -> list[asyncpg.Record]:
    """A fiscal year's projects rolled up by their primary technology's industry (null: not known yet)."""
    return await conn.fetch(
        f"select * from ({year_by_industry_sql('$1::int')}) r order by r.code nulls last", year
    )


async def year_by_track(conn: Conn, year: int) -> list[asyncpg.Record]:
    """A fiscal year's projects rolled up by their program's track (null: none, or program not known yet)."""
    return await conn.fetch(
        f"select g.track, {ROLLUP} from projects p left join programs g on g.code = p.program_code"
        f" where p.fiscal_year = $1 group by g.track {NONEMPTY}"
        " order by g.track nulls last",
        year,
    )


# What coverageGaps asks to be missing: a leading firm, a covering project, at least one, or both.
GAP_KINDS = ("leading_firm", "active_project", "either", "both")


def gaps_where() -> str:
    # $1 the fiscal year, $2 its first day, $3 its last day, $4 what is missing (GAP_KINDS).
    # A technology's projects of the year through the link table the projector keeps (migration
    # 0011): a range of its index, not a containment test of every project's codes (at 100x, 2 ms
    # against 24 ms for the page, docs/measurements.md). The leading designations stay found by
    # their own partial index: they are few, and through designation_technologies the planner
    # hashed every link of every designation (4 ms became 100 ms).
    no_project = (
        "not exists (select 1 from project_technologies l join projects p on p.code = l.project_code"
        f" where l.technology_code = technologies.code and l.fiscal_year = $1 and p.status in {COVERING})"
    )
    no_firm = (
        "not exists (select 1 from designations d where d.kind = 'leading'"
        " and d.technology_codes @> array[technologies.code] and d.designated_on <= $3"
        " and (d.valid_until is null or $2 < d.valid_until) and (d.ended_on is null or $2 < d.ended_on))"
    )
    return (
        " where listed_on <= $3 and (retired_on is null or $3 < retired_on)"
        f" and case $4::text when 'leading_firm' then {no_firm} when 'active_project' then {no_project}"
        f" when 'either' then ({no_firm} or {no_project}) else ({no_firm} and {no_project}) end"
    )


def _gap_args(year: int, missing: str) -> tuple[int, date, date, str]:
    return year, date(year, 1, 1), date(year, 12, 31), missing


async def coverage_gaps_page(
    conn: Conn, year: int, missing: str, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Technologies uncovered in a fiscal year (see coverageGaps), by code after a keyset position."""
    return await conn.fetch(
        f"select {TECH_COLS} from technologies{gaps_where()}"
        f" and {keyset_after(('code', '$5', 'text'))} order by code limit $6",
        *_gap_args(year, missing),
        after,
        limit,
    )


async def coverage_gaps_count(conn: Conn, year: int, missing: str) -> int:
    """How many technologies are uncovered in a fiscal year."""
    n = await conn.fetchval(f"select count(*) from technologies{gaps_where()}", *_gap_args(year, missing))
    return int(n)
