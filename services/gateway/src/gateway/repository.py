"""All of the gateway's SQL: read-model queries and API keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_kit.db import Conn

TECH_COLS = "code, industry_code, kind, name_en, name_ko, description, status, listed_on, retired_on, version"


@dataclass(frozen=True, kw_only=True)
class TechnologyFilter:
    """Filters of the technologies connection."""

    industry: str | None = None
    kind: str | None = None
    status: str | None = None
    as_of: date | None = None
    search: str | None = None


def _like(text: str | None) -> str | None:
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: TechnologyFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or industry_code = $1)"
        " and ($2::text is null or kind = $2)"
        " and ($3::text is null or status = $3)"
        " and ($4::date is null or (listed_on <= $4 and (retired_on is null or $4 < retired_on)))"
        " and ($5::text is null or name_en ilike $5 or name_ko ilike $5)"
    )
    return sql, [f.industry, f.kind, f.status, f.as_of, _like(f.search)]


async def technologies_page(
    conn: Conn, f: TechnologyFilter, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Technologies by code after a keyset position."""
    where, args = _where(f)
    return await conn.fetch(
        f"select {TECH_COLS} from technologies{where}"
        " and ($6::text is null or code > $6) order by code limit $7",
        *args,
        after,
        limit,
    )


async def technologies_count(conn: Conn, f: TechnologyFilter) -> int:
    """How many technologies match the filter."""
    where, args = _where(f)
    n = await conn.fetchval(f"select count(*) from technologies{where}", *args)
    return int(n)


async def technology(conn: Conn, code: str) -> asyncpg.Record | None:
    """One technology."""
    return await conn.fetchrow(f"select {TECH_COLS} from technologies where code = $1", code)


async def industries(conn: Conn) -> list[asyncpg.Record]:
    """Every industry, by code."""
    return await conn.fetch("select code, name_en, name_ko from industries order by code")


async def industries_by_code(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """The industries with these codes."""
    return await conn.fetch(
        "select code, name_en, name_ko from industries where code = any($1::text[])", list(codes)
    )


async def technology_counts(conn: Conn, as_of: date | None) -> dict[str, int]:
    """Technologies on the list per industry, today (as_of null) or on a day."""
    rows = await conn.fetch(
        "select industry_code, count(*) as n from technologies"
        " where case when $1::date is null then status = 'listed'"
        " else listed_on <= $1 and (retired_on is null or $1 < retired_on) end"
        " group by industry_code",
        as_of,
    )
    return {r["industry_code"]: int(r["n"]) for r in rows}


async def freshness(conn: Conn) -> list[asyncpg.Record]:
    """Per source topic: last event time, when last applied, the lag last measured, and since
    when every partition is known complete (null until each one has been)."""
    return await conn.fetch(
        "select topic, max(last_event_time) as last_event_time, max(applied_at) as last_applied_at,"
        " coalesce(sum(greatest(highwater - next_offset, 0)), 0)::bigint as lag,"
        f" {_CAUGHT_UP} as caught_up_at"
        " from source_positions group by topic order by topic"
    )


_CAUGHT_UP = "case when bool_or(caught_up_at is null) then null else min(caught_up_at) end"


async def data_as_of(conn: Conn) -> datetime | None:
    """The oldest time any source partition was last seen complete; None if one never was."""
    value: datetime | None = await conn.fetchval(f"select {_CAUGHT_UP} from source_positions")
    return value


async def record_caught_up(conn: Conn, rows: Sequence[tuple[str, int, int, datetime]]) -> None:
    """Note (topic, partition, position, when) each partition was seen complete; times only grow."""
    await conn.executemany(
        "insert into source_positions (topic, partition, next_offset, caught_up_at)"
        " values ($1, $2, $3, $4) on conflict (topic, partition) do update"
        " set caught_up_at = greatest(source_positions.caught_up_at, excluded.caught_up_at)",
        rows,
    )


async def record_writes(conn: Conn, rows: Sequence[tuple[str, int, int]]) -> None:
    """Count (source, txid, events) applied of each write."""
    await conn.executemany(
        "insert into write_progress (source, txid, events) values ($1, $2, $3)"
        " on conflict (source, txid) do update"
        " set events = write_progress.events + excluded.events, updated_at = now()",
        rows,
    )


async def write_counts(conn: Conn, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Events applied so far of each (source, txid)."""
    rows = await conn.fetch(
        "select w.source, w.txid, w.events from write_progress w"
        " join unnest($1::text[], $2::bigint[]) as k(source, txid) using (source, txid)",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["source"], r["txid"]): r["events"] for r in rows}


async def prune_writes(conn: Conn, older_than: timedelta) -> None:
    """Forget the counts of writes last touched longer ago than `older_than`."""
    await conn.execute("delete from write_progress where updated_at < now() - $1::interval", older_than)


async def technologies_by_code(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """The technologies with these codes."""
    return await conn.fetch(f"select {TECH_COLS} from technologies where code = any($1::text[])", list(codes))


# Firms and designations

FIRM_COLS = (
    "brn, brn_display, name_en, name_ko, size, size_since, region, mpe_sales_ratio, technology_codes, version"
)
DESIGNATION_COLS = (
    "id, brn, kind, cohort, technology_codes, status, applied_on, designated_on, valid_until, history"
)


@dataclass(frozen=True, kw_only=True)
class FirmFilter:
    """Filters of the firms connection; kind and status apply to one and the same designation."""

    size: str | None = None
    region: str | None = None
    technology: str | None = None
    designation_kind: str | None = None
    designation_status: str | None = None
    search: str | None = None


def _firm_where(f: FirmFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or size = $1)"
        " and ($2::text is null or region = $2)"
        " and ($3::text is null or technology_codes @> array[$3::text])"
        " and (($4::text is null and $5::text is null) or exists (select 1 from designations d"
        " where d.brn = firms.brn and ($4::text is null or d.kind = $4) and ($5::text is null or d.status = $5)))"
        " and ($6::text is null or name_en ilike $6 or name_ko ilike $6)"
    )
    return sql, [f.size, f.region, f.technology, f.designation_kind, f.designation_status, _like(f.search)]


async def firms_page(conn: Conn, f: FirmFilter, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    """Firms by BRN after a keyset position."""
    where, args = _firm_where(f)
    return await conn.fetch(
        f"select {FIRM_COLS} from firms{where} and ($7::text is null or brn > $7) order by brn limit $8",
        *args,
        after,
        limit,
    )


async def firms_count(conn: Conn, f: FirmFilter) -> int:
    """How many firms match the filter."""
    where, args = _firm_where(f)
    n = await conn.fetchval(f"select count(*) from firms{where}", *args)
    return int(n)


async def firms_by_brn(conn: Conn, brns: Sequence[str]) -> list[asyncpg.Record]:
    """The firms with these BRNs."""
    return await conn.fetch(f"select {FIRM_COLS} from firms where brn = any($1::text[])", list(brns))


async def designations_of_firms(conn: Conn, brns: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` designations of each firm, in the order they were applied for."""
    return await conn.fetch(
        f"select {DESIGNATION_COLS} from (select {DESIGNATION_COLS},"
        " row_number() over (partition by brn order by applied_on, id) as n"
        " from designations where brn = any($1::text[])) d"
        " where n <= $2 order by brn, applied_on, id",
        list(brns),
        limit,
    )


async def firms_of_technologies(conn: Conn, codes: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` firms by BRN for each technology code, as rows (technology, firm columns...)."""
    return await conn.fetch(
        f"select t.code as technology, f.* from unnest($1::text[]) as t(code) cross join lateral"
        f" (select {FIRM_COLS} from firms where technology_codes @> array[t.code] order by brn limit $2) f",
        list(codes),
        limit,
    )


async def designations_of_technologies(
    conn: Conn, codes: Sequence[str], *, status: str | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` designations in applied order for each technology code, optionally of one status."""
    return await conn.fetch(
        f"select t.code as technology, d.* from unnest($1::text[]) as t(code) cross join lateral"
        f" (select {DESIGNATION_COLS} from designations where technology_codes @> array[t.code]"
        " and ($2::text is null or status = $2) order by applied_on, id limit $3) d",
        list(codes),
        status,
        limit,
    )


async def designations_by_id(conn: Conn, ids: Sequence[str]) -> list[asyncpg.Record]:
    """The designations with these ids (text UUIDs; one that is no UUID matches nothing), with
    their versions."""
    wanted = []
    for i in ids:
        try:
            wanted.append(uuid.UUID(i))
        except ValueError:
            continue
    return await conn.fetch(
        f"select {DESIGNATION_COLS}, version from designations where id = any($1::uuid[])", wanted
    )


@dataclass(frozen=True, kw_only=True)
class Progress:
    """Leading firms designated up to a day, those active on it, and designated per cohort."""

    designated: int
    active: int
    by_cohort: list[tuple[int | None, int]]


async def designation_progress(conn: Conn, as_of: date) -> Progress:
    """Distinct firms with a leading designation made on or before `as_of`, and active on it.

    Active on D: designated_on <= D < valid_until, and D before the revocation or expiry took effect.
    """
    rows = await conn.fetch(
        "select cohort, count(distinct brn) as designated,"
        " count(distinct brn) filter (where (valid_until is null or $1 < valid_until)"
        " and (ended_on is null or $1 < ended_on)) as active,"
        " grouping(cohort) as total"
        " from designations where kind = 'leading' and designated_on is not null and designated_on <= $1"
        " group by grouping sets ((cohort), ()) order by total, cohort nulls last",
        as_of,
    )
    totals = next((r for r in rows if r["total"]), None)
    return Progress(
        designated=int(totals["designated"]) if totals else 0,
        active=int(totals["active"]) if totals else 0,
        by_cohort=[(r["cohort"], int(r["designated"])) for r in rows if not r["total"]],
    )


# Budget: fiscal years, programs, projects

PROGRAM_COLS = "code, fiscal_year, name_en, name_ko, kind, track, budget_krw, themes, version"
PROJECT_COLS = (
    "code, program_code, fiscal_year, title, kind, continues, technology_codes, lead_firm_brn,"
    " government_krw, private_cash_krw, private_in_kind_krw, start_on, end_on, status,"
    " committed_krw, disbursed_krw, version"
)


# Every project count counts the committed projects: selected and beyond, except that a terminated
# project counts only if something was paid (its event then leaves what was paid as committed_krw).
# A project that does not count commits nothing, so money sums need no such filter.
def _counted(alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return f"({a}committed_krw > 0 or {a}status in ('selected', 'agreement_signed', 'active', 'completed'))"


_COUNTED = _counted()
# Statuses in which a project covers its technologies in coverageGaps.
COVERING = "('selected', 'agreement_signed', 'active', 'completed')"


async def programs_page(
    conn: Conn, *, fiscal_year: int | None, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Programs by code after a keyset position, of one fiscal year or all."""
    return await conn.fetch(
        f"select {PROGRAM_COLS} from programs where ($1::int is null or fiscal_year = $1)"
        " and ($2::text is null or code > $2) order by code limit $3",
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


async def programs_by_code(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """The programs with these codes."""
    return await conn.fetch(f"select {PROGRAM_COLS} from programs where code = any($1::text[])", list(codes))


async def program_totals(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """Per program code: money committed and disbursed over its projects, and the projects counted."""
    return await conn.fetch(
        "select program_code, coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(*) filter (where {_COUNTED}) as project_count"
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


def _project_where(f: ProjectFilter) -> tuple[str, list[object]]:
    sql = (
        " where ($1::text is null or program_code = $1)"
        " and ($2::text is null or technology_codes @> array[$2::text])"
        " and ($3::text is null or lead_firm_brn = $3)"
        " and ($4::text is null or status = $4)"
        " and ($5::int is null or fiscal_year = $5)"
        " and ($6::text is null or kind = $6)"
    )
    return sql, [f.program, f.technology, f.firm, f.status, f.fiscal_year, f.kind]


async def projects_page(
    conn: Conn, f: ProjectFilter, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """Projects by code after a keyset position."""
    where, args = _project_where(f)
    return await conn.fetch(
        f"select {PROJECT_COLS} from projects{where} and ($7::text is null or code > $7) order by code limit $8",
        *args,
        after,
        limit,
    )


async def projects_count(conn: Conn, f: ProjectFilter) -> int:
    """How many projects match the filter."""
    where, args = _project_where(f)
    n = await conn.fetchval(f"select count(*) from projects{where}", *args)
    return int(n)


async def projects_by_code(conn: Conn, codes: Sequence[str]) -> list[asyncpg.Record]:
    """The projects with these codes."""
    return await conn.fetch(f"select {PROJECT_COLS} from projects where code = any($1::text[])", list(codes))


async def projects_of_programs(conn: Conn, codes: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` projects of each program, by code."""
    return await conn.fetch(
        f"select {PROJECT_COLS} from (select {PROJECT_COLS},"
        " row_number() over (partition by program_code order by code) as n"
        " from projects where program_code = any($1::text[])) p"
        " where n <= $2 order by program_code, code",
        list(codes),
        limit,
    )


async def projects_of_firms(conn: Conn, brns: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` projects led by each firm, newest fiscal year first, then by code."""
    return await conn.fetch(
        f"select {PROJECT_COLS} from (select {PROJECT_COLS},"
        " row_number() over (partition by lead_firm_brn order by fiscal_year desc, code) as n"
        " from projects where lead_firm_brn = any($1::text[])) p"
        " where n <= $2 order by lead_firm_brn, fiscal_year desc, code",
        list(brns),
        limit,
    )


async def projects_of_technologies(conn: Conn, codes: Sequence[str], *, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` projects touching each technology, newest fiscal year first, as (technology, ...)."""
    return await conn.fetch(
        f"select t.code as technology, p.* from unnest($1::text[]) as t(code) cross join lateral"
        f" (select {PROJECT_COLS} from projects where technology_codes @> array[t.code]"
        " order by fiscal_year desc, code limit $2) p",
        list(codes),
        limit,
    )


async def technology_funding(
    conn: Conn, codes: Sequence[str], *, fiscal_year: int | None
) -> list[asyncpg.Record]:
    """Per technology code: sums over every project touching it, of one fiscal year or all."""
    return await conn.fetch(
        "select t.code as technology, coalesce(sum(p.committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(p.disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(p.code) filter (where {_counted('p')}) as project_count"
        " from unnest($1::text[]) as t(code) left join projects p"
        " on p.technology_codes @> array[t.code] and ($2::int is null or p.fiscal_year = $2)"
        " group by t.code",
        list(codes),
        fiscal_year,
    )


async def year_totals(conn: Conn, year: int) -> asyncpg.Record:
    """A fiscal year's envelope, programmed budget, money over its projects and counted projects by kind."""
    row = await conn.fetchrow(
        "select (select envelope_krw from fiscal_years where year = $1) as envelope_krw,"
        " (select coalesce(sum(budget_krw), 0)::bigint from programs where fiscal_year = $1) as programmed_krw,"
        " coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(*) filter (where {_COUNTED} and kind = 'new') as new_count,"
        f" count(*) filter (where {_COUNTED} and kind = 'continuing') as continuing_count"
        " from projects where fiscal_year = $1",
        year,
    )
    assert row is not None
    return row


# The sums of a rollup group of projects `p`; a group with nothing counted and no money is left out.
_ROLLUP = (
    "coalesce(sum(p.committed_krw), 0)::bigint as committed_krw,"
    " coalesce(sum(p.disbursed_krw), 0)::bigint as disbursed_krw,"
    f" count(*) filter (where {_counted('p')}) as project_count"
)
_NONEMPTY = f"having count(*) filter (where {_counted('p')}) > 0 or sum(p.committed_krw) > 0 or sum(p.disbursed_krw) > 0"


async def year_by_industry(conn: Conn, year: int) -> list[asyncpg.Record]:
    """A fiscal year's projects rolled up by their primary technology's industry (null: not known yet)."""
    return await conn.fetch(
        f"select i.code, i.name_en, i.name_ko, {_ROLLUP} from projects p"
        " left join technologies t on t.code = p.primary_technology"
        " left join industries i on i.code = t.industry_code"
        " where p.fiscal_year = $1 group by i.code, i.name_en, i.name_ko"
        f" {_NONEMPTY} order by i.code nulls last",
        year,
    )


async def year_by_track(conn: Conn, year: int) -> list[asyncpg.Record]:
    """A fiscal year's projects rolled up by their program's track (null: none, or program not known yet)."""
    return await conn.fetch(
        f"select g.track, {_ROLLUP} from projects p left join programs g on g.code = p.program_code"
        f" where p.fiscal_year = $1 group by g.track {_NONEMPTY}"
        " order by g.track nulls last",
        year,
    )


def _gaps_where() -> str:
    # $1 the fiscal year, $2 its first day, $3 its last day.
    return (
        " where listed_on <= $3 and (retired_on is null or $3 < retired_on)"
        " and not exists (select 1 from projects p where p.fiscal_year = $1"
        f" and p.technology_codes @> array[technologies.code] and p.status in {COVERING})"
        " and not exists (select 1 from designations d where d.kind = 'leading'"
        " and d.technology_codes @> array[technologies.code] and d.designated_on <= $3"
        " and (d.valid_until is null or $2 < d.valid_until) and (d.ended_on is null or $2 < d.ended_on))"
    )


async def coverage_gaps_page(conn: Conn, year: int, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    """Technologies uncovered in a fiscal year (see coverageGaps), by code after a keyset position."""
    return await conn.fetch(
        f"select {TECH_COLS} from technologies{_gaps_where()}"
        " and ($4::text is null or code > $4) order by code limit $5",
        year,
        date(year, 1, 1),
        date(year, 12, 31),
        after,
        limit,
    )


async def coverage_gaps_count(conn: Conn, year: int) -> int:
    """How many technologies are uncovered in a fiscal year."""
    n = await conn.fetchval(
        f"select count(*) from technologies{_gaps_where()}", year, date(year, 1, 1), date(year, 12, 31)
    )
    return int(n)


# API keys


async def insert_key(conn: Conn, *, id: uuid.UUID, agency: str, scopes: list[str], key_hash: bytes) -> None:
    """Store a new key's hash."""
    await conn.execute(
        "insert into api_keys (id, agency, scopes, key_hash) values ($1, $2, $3, $4)",
        id,
        agency,
        scopes,
        key_hash,
    )


async def key_by_hash(conn: Conn, key_hash: bytes) -> asyncpg.Record | None:
    """The live key with this hash."""
    return await conn.fetchrow(
        "select id, agency, scopes from api_keys where key_hash = $1 and revoked_at is null", key_hash
    )


async def list_keys(conn: Conn) -> list[asyncpg.Record]:
    """Every key, without secrets."""
    return await conn.fetch(
        "select id, agency, scopes, created_at, revoked_at from api_keys order by created_at"
    )


async def revoke_key(conn: Conn, id: uuid.UUID) -> bool:
    """Revoke a key; False if there is no live key with that id."""
    row = await conn.fetchrow(
        "update api_keys set revoked_at = now() where id = $1 and revoked_at is null returning id", id
    )
    return row is not None


async def key_by_id(conn: Conn, id: uuid.UUID) -> asyncpg.Record | None:
    """A key by id, live or revoked, without its hash."""
    return await conn.fetchrow(
        "select id, agency, scopes, created_at, revoked_at from api_keys where id = $1", id
    )


async def rotate_key(conn: Conn, id: uuid.UUID, key_hash: bytes) -> asyncpg.Record | None:
    """Replace a live key's hash; None if there is no live key with that id."""
    return await conn.fetchrow(
        "update api_keys set key_hash = $2 where id = $1 and revoked_at is null returning id, agency, scopes",
        id,
        key_hash,
    )


# projections: every upsert applies only a version above the stored one, and says whether it did


def _changed(status: str) -> bool:
    """Whether an upsert's command status ("INSERT 0 1" or "INSERT 0 0") says it wrote a row."""
    return status.rsplit(" ", 1)[-1] != "0"


def ended_on(d: fev.DesignationV1) -> date | None:
    return min((t.effective_on for t in d.history if t.to_status in ("revoked", "expired")), default=None)


async def upsert_industry(conn: Conn, d: ev.IndustryV1) -> bool:
    """Upsert an industry."""
    status = await conn.execute(
        "insert into industries (code, name_en, name_ko, version) values ($1, $2, $3, $4)"
        " on conflict (code) do update set name_en = excluded.name_en, name_ko = excluded.name_ko,"
        " version = excluded.version, updated_at = now() where industries.version < excluded.version",
        d.code,
        d.name_en,
        d.name_ko,
        d.version,
    )
    return _changed(status)


async def upsert_technology(conn: Conn, d: ev.TechnologyV1) -> bool:
    """Upsert a technology."""
    status = await conn.execute(
        "insert into technologies (code, industry_code, kind, name_en, name_ko, description, status,"
        " listed_on, retired_on, version, revision_id)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " on conflict (code) do update set industry_code = excluded.industry_code, kind = excluded.kind,"
        " name_en = excluded.name_en, name_ko = excluded.name_ko, description = excluded.description,"
        " status = excluded.status, listed_on = excluded.listed_on, retired_on = excluded.retired_on,"
        " version = excluded.version, revision_id = excluded.revision_id, updated_at = now()"
        " where technologies.version < excluded.version",
        d.code,
        d.industry_code,
        d.kind,
        d.name_en,
        d.name_ko,
        d.description,
        d.status,
        d.listed_on,
        d.retired_on,
        d.version,
        d.revision_id,
    )
    return _changed(status)


async def upsert_revision(conn: Conn, d: ev.RevisionV1) -> bool:
    """Upsert a revision (a deleted draft keeps its row with status deleted)."""
    status = await conn.execute(
        "insert into revisions (id, title, decided_on, effective_on, status, published_at, version)"
        " values ($1, $2, $3, $4, $5, $6, $7)"
        " on conflict (id) do update set title = excluded.title, decided_on = excluded.decided_on,"
        " effective_on = excluded.effective_on, status = excluded.status,"
        " published_at = excluded.published_at, version = excluded.version, updated_at = now()"
        " where revisions.version < excluded.version",
        d.id,
        d.title,
        d.decided_on,
        d.effective_on,
        d.status,
        d.published_at,
        d.version,
    )
    return _changed(status)


async def upsert_firm(conn: Conn, d: fev.FirmV1) -> bool:
    """Upsert a firm with its technologies and confirmations."""
    status = await conn.execute(
        "insert into firms (brn, brn_display, name_en, name_ko, size, size_since, region, mpe_sales_ratio,"
        " technology_codes, confirmations, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " on conflict (brn) do update set brn_display = excluded.brn_display, name_en = excluded.name_en,"
        " name_ko = excluded.name_ko, size = excluded.size, size_since = excluded.size_since,"
        " region = excluded.region, mpe_sales_ratio = excluded.mpe_sales_ratio,"
        " technology_codes = excluded.technology_codes, confirmations = excluded.confirmations,"
        " version = excluded.version, updated_at = now()"
        " where firms.version < excluded.version",
        d.brn,
        d.brn_display,
        d.name_en,
        d.name_ko,
        d.size,
        d.size_since,
        d.region,
        d.mpe_sales_ratio,
        d.technology_codes,
        [c.model_dump(mode="json") for c in d.confirmations],
        d.version,
    )
    return _changed(status)


async def upsert_designation(conn: Conn, d: fev.DesignationV1) -> bool:
    """Upsert a designation with its whole history."""
    status = await conn.execute(
        "insert into designations (id, brn, kind, cohort, technology_codes, status, applied_on,"
        " designated_on, valid_until, ended_on, history, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " on conflict (id) do update set brn = excluded.brn, kind = excluded.kind, cohort = excluded.cohort,"
        " technology_codes = excluded.technology_codes, status = excluded.status,"
        " applied_on = excluded.applied_on, designated_on = excluded.designated_on,"
        " valid_until = excluded.valid_until, ended_on = excluded.ended_on, history = excluded.history,"
        " version = excluded.version, updated_at = now()"
        " where designations.version < excluded.version",
        d.id,
        d.brn,
        d.kind,
        d.cohort,
        d.technology_codes,
        d.status,
        d.applied_on,
        d.designated_on,
        d.valid_until,
        ended_on(d),
        [t.model_dump(mode="json") for t in d.history],
        d.version,
    )
    return _changed(status)


async def upsert_fiscal_year(conn: Conn, d: bev.FiscalYearV1) -> bool:
    """Upsert a fiscal year's envelope."""
    status = await conn.execute(
        "insert into fiscal_years (year, envelope_krw, version) values ($1, $2, $3)"
        " on conflict (year) do update set envelope_krw = excluded.envelope_krw,"
        " version = excluded.version, updated_at = now() where fiscal_years.version < excluded.version",
        d.year,
        d.envelope_krw,
        d.version,
    )
    return _changed(status)


async def upsert_program(conn: Conn, d: bev.ProgramV1) -> bool:
    """Upsert a program with its themes."""
    status = await conn.execute(
        "insert into programs (code, fiscal_year, name_en, name_ko, kind, track, budget_krw, themes, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " on conflict (code) do update set fiscal_year = excluded.fiscal_year, name_en = excluded.name_en,"
        " name_ko = excluded.name_ko, kind = excluded.kind, track = excluded.track,"
        " budget_krw = excluded.budget_krw, themes = excluded.themes, version = excluded.version,"
        " updated_at = now() where programs.version < excluded.version",
        d.code,
        d.fiscal_year,
        d.name_en,
        d.name_ko,
        d.kind,
        d.track,
        d.budget_krw,
        [t.model_dump(mode="json") for t in d.themes],
        d.version,
    )
    return _changed(status)


async def upsert_budget_project(conn: Conn, d: bev.ProjectV1) -> bool:
    """Upsert a project: its state, what it commits and what was paid, as the event carries them."""
    status = await conn.execute(
        "insert into projects (code, program_code, fiscal_year, title, kind, continues, technology_codes,"
        " lead_firm_brn, government_krw, private_cash_krw, private_in_kind_krw, start_on, end_on, status,"
        " committed_krw, disbursed_krw, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        " on conflict (code) do update set program_code = excluded.program_code,"
        " fiscal_year = excluded.fiscal_year, title = excluded.title, kind = excluded.kind,"
        " continues = excluded.continues, technology_codes = excluded.technology_codes,"
        " lead_firm_brn = excluded.lead_firm_brn, government_krw = excluded.government_krw,"
        " private_cash_krw = excluded.private_cash_krw, private_in_kind_krw = excluded.private_in_kind_krw,"
        " start_on = excluded.start_on, end_on = excluded.end_on, status = excluded.status,"
        " committed_krw = excluded.committed_krw, disbursed_krw = excluded.disbursed_krw,"
        " version = excluded.version, updated_at = now() where projects.version < excluded.version",
        d.code,
        d.program_code,
        d.fiscal_year,
        d.title,
        d.kind,
        d.continues,
        d.technology_codes,
        d.lead_firm_brn,
        d.government_krw,
        d.private_cash_krw,
        d.private_in_kind_krw,
        d.start_on,
        d.end_on,
        d.status,
        d.committed_krw,
        d.disbursed_krw,
        d.version,
    )
    return _changed(status)


async def record_positions(conn: Conn, rows: list[tuple[str, int, int, int | None, datetime | None]]) -> None:
    """Store (topic, partition, next offset, high watermark, last event time) per partition."""
    await conn.executemany(
        "insert into source_positions (topic, partition, next_offset, highwater, last_event_time)"
        " values ($1, $2, $3, $4, $5) on conflict (topic, partition) do update set"
        " next_offset = excluded.next_offset, highwater = excluded.highwater,"
        " last_event_time = coalesce(excluded.last_event_time, source_positions.last_event_time),"
        " applied_at = now()",
        rows,
    )


# The change log (migrations/0004_changes.sql)

CHANGES_CHANNEL = "gateway_changes"
# The transaction-level advisory lock every appender holds from its first append to its commit.
CHANGES_LOCK = 0x6D70_6563_6867_6C6F  # "mpechglo"
# The highest seq this transaction appended, as a transaction-local setting: a savepoint rolled
# back takes its value with it, so the batch notifies only what it commits.
_LAST_SEQ = "gateway.changes_last_seq"
CHANGE_COLS = "seq, entity_type, entity_key, version, applied_at"


async def append_change(conn: Conn, *, entity_type: str, key: str, version: int, event_id: uuid.UUID) -> int:
    """Append one changed entity to the change log under the appenders' lock; its seq.

    The lock is taken before the identity draws seq and held to the commit, so rows commit in
    seq order; applied_at is read once the lock is held, so it rises with seq.
    """
    seq = await conn.fetchval(
        "with appended as (insert into changes (entity_type, entity_key, version, applied_at, event_id)"
        " select $2, $3, $4, clock_timestamp(), $5 from (select pg_advisory_xact_lock($1)) as locked"
        " returning seq)"
        f" select seq from appended, set_config('{_LAST_SEQ}', seq::text, true)",
        CHANGES_LOCK,
        entity_type,
        key,
        version,
        event_id,
    )
    return int(seq)


async def notify_changes(conn: Conn) -> int | None:
    """NOTIFY the highest seq this transaction appended (delivered at commit); None if it appended none."""
    row = await conn.fetchrow(
        f"select pg_notify('{CHANGES_CHANNEL}', s), s::bigint as seq"
        f" from (select nullif(current_setting('{_LAST_SEQ}', true), '') as s) as last where s is not null"
    )
    return None if row is None else int(row["seq"])


async def changes_watermark(conn: Conn) -> int:
    """The highest seq committed, 0 for an empty log."""
    seq = await conn.fetchval("select coalesce(max(seq), 0) from changes")
    return int(seq)


async def changes_page(
    conn: Conn, *, types: Sequence[str], since: datetime, after: int, limit: int
) -> list[asyncpg.Record]:
    """Changes of these types in seq order, from the first applied at or after `since`, after seq `after`."""
    return await conn.fetch(
        f"select {CHANGE_COLS} from changes where entity_type = any($1::text[]) and seq > $2"
        " and seq >= (select seq from changes where applied_at >= $3 order by applied_at, seq limit 1)"
        " order by seq limit $4",
        list(types),
        after,
        since,
        limit,
    )


async def changes_between(
    conn: Conn, *, types: Sequence[str], after: int, upto: int, limit: int
) -> list[asyncpg.Record]:
    """Changes of these types with after < seq <= upto, in seq order."""
    return await conn.fetch(
        f"select {CHANGE_COLS} from changes where entity_type = any($1::text[]) and seq > $2 and seq <= $3"
        " order by seq limit $4",
        list(types),
        after,
        upto,
        limit,
    )


# Bulk export: every row of one entity in key order, read through a server-side cursor. A cursor
# lives only inside a transaction; the caller opens it (REPEATABLE READ, READ ONLY) so that the
# whole export, and the freshness read before it, see one snapshot.


def export_technologies(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every technology, by code."""
    return conn.cursor(f"select {TECH_COLS} from technologies order by code", prefetch=prefetch)


def export_firms(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every firm, by BRN."""
    return conn.cursor(f"select {FIRM_COLS} from firms order by brn", prefetch=prefetch)


def export_designations(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every designation with its history, by id."""
    return conn.cursor(f"select {DESIGNATION_COLS} from designations order by id", prefetch=prefetch)


def export_programs(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every program by code, with the sums over its projects that Program's fields give."""
    return conn.cursor(
        f"select {PROGRAM_COLS}, t.committed_krw, t.disbursed_krw, t.project_count"
        " from programs p cross join lateral"
        " (select coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
        f" count(*) filter (where {_counted('j')}) as project_count"
        " from projects j where j.program_code = p.code) t order by code",
        prefetch=prefetch,
    )


def export_projects(conn: Conn, *, prefetch: int) -> AsyncIterable[asyncpg.Record]:
    """Every project, by code."""
    return conn.cursor(f"select {PROJECT_COLS} from projects order by code", prefetch=prefetch)
