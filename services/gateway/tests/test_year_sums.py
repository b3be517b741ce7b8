"""The sums per (fiscal year, primary technology) (migration 0013) follow every change of the projects.

Whatever statement writes the projects, the triggers keep `year_technology_sums` equal to what a
scan of every project computes (these tests recompute it from the rows, inside each writing
transaction). And the rollups read from them (`spending` by year and industry alone, the year's
totals and `byIndustry` of `programOverview`) answer what the scan of the projects answers.
"""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import store
from gateway.app import all_migrations
from gateway.store.spending import DIMENSIONS, Spending
from mpe_kit import db, migrations

from .conftest import (
    PROJECT_STATEMENTS,
    STATEMENT_SEQUENCES,
    apply,
    gateway_migrations_before,
    project,
    project_event,
    row_set,
    rows_read,
    write_concurrently,
)

# Technologies of the `seeded` fixture in two industries (SEMI-025 is a display one), and a code
# no technology has: its projects fall under no industry.
CODES = ["SEMI-004", "SEMI-010", "SEMI-025", "NONE-1"]
PROJECTS = [f"P-{n}" for n in range(6)]
STATUSES = ["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
COUNTED = store.budget.counted("p")

# What the table must hold, computed from the rows alone.
EXPECTED = (
    "select p.fiscal_year, coalesce(p.primary_technology, ''), sum(p.committed_krw)::bigint,"
    " sum(p.disbursed_krw)::bigint,"
    f" coalesce(sum(p.government_krw) filter (where {COUNTED}), 0)::bigint,"
    f" coalesce(sum(p.private_cash_krw) filter (where {COUNTED}), 0)::bigint,"
    f" coalesce(sum(p.private_in_kind_krw) filter (where {COUNTED}), 0)::bigint,"
    f" count(*) filter (where {COUNTED})::int, count(*) filter (where {COUNTED} and p.kind = 'new')::int,"
    f" count(*) filter (where {COUNTED} and p.kind = 'continuing')::int, count(*)::int"
    " from projects p group by 1, 2"
)
KEPT = (
    "select fiscal_year, technology_code, committed_krw, disbursed_krw, government_krw, private_cash_krw,"
    " private_in_kind_krw, project_count, new_count, continuing_count, project_rows from year_technology_sums"
)
# The year's reads as they were before migration 0013: a scan of the year's projects.
OLD_TOTALS = (
    "select coalesce(sum(committed_krw), 0)::bigint, coalesce(sum(disbursed_krw), 0)::bigint,"
    f" count(*) filter (where {store.budget.counted()} and kind = 'new'),"
    f" count(*) filter (where {store.budget.counted()} and kind = 'continuing')"
    " from projects where fiscal_year = $1"
)
OLD_BY_INDUSTRY = (
    f"select i.code, i.name_en, i.name_ko, {store.budget.ROLLUP} from projects p"
    " left join technologies t on t.code = p.primary_technology"
    " left join industries i on i.code = t.industry_code"
    f" where p.fiscal_year = $1 group by i.code, i.name_en, i.name_ko {store.budget.NONEMPTY}"
    " order by i.code nulls last"
)

UPSERT = (
    "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, disbursed_krw, version)"
    " select r.code, 'MP', r.fiscal_year, r.code, r.kind, string_to_array(r.codes, ','), r.government, 7, 3,"
    " '2023-01-01', '2023-12-31', r.status, r.committed, r.disbursed, 1"
    " from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],"
    " $8::bigint[]) r(code, fiscal_year, codes, status, kind, government, committed, disbursed)"
    " on conflict (code) do update set fiscal_year = excluded.fiscal_year, kind = excluded.kind,"
    " technology_codes = excluded.technology_codes, status = excluded.status,"
    " government_krw = excluded.government_krw, committed_krw = excluded.committed_krw,"
    " disbursed_krw = excluded.disbursed_krw"
)

project_rows = st.lists(
    st.tuples(
        st.sampled_from(PROJECTS),
        st.integers(2022, 2024),
        st.lists(st.sampled_from(CODES), max_size=3).map(",".join),  # none, and repeats, included
        st.sampled_from(STATUSES),
        st.sampled_from(["new", "continuing"]),
        st.sampled_from([0, 100, 2_500]),
        st.sampled_from([0, 0, 7, 1_000]),
        st.sampled_from([0, 3, 500]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r[0],
)
steps = st.one_of(
    st.tuples(st.just("upsert"), project_rows),
    st.tuples(st.just("delete"), st.lists(st.sampled_from(PROJECTS), max_size=3)),
    st.tuples(st.just("move year"), st.integers(2022, 2024)),
    st.tuples(st.just("pay"), st.sampled_from(PROJECTS)),
    st.tuples(st.just("recode"), st.sampled_from(CODES)),
    st.tuples(st.just("retitle"), st.just(None)),
    st.tuples(st.just("move technology"), st.sampled_from(["SEMI", "DISP"])),
    st.tuples(st.just("truncate"), st.just(None)),
)


async def run_step(conn: db.Conn, kind: str, arg: Any) -> None:
    match kind:
        case "upsert":
            await conn.execute(UPSERT, *(list(c) for c in zip(*arg, strict=True)))
        case "delete" | "move year" | "pay" | "recode":
            await conn.execute(PROJECT_STATEMENTS[kind], arg)
        case "retitle":  # an update of nothing the sums read
            await conn.execute("update projects set title = title || '!'")
        case "move technology":  # the sums keep the technology, the reads find its industry now
            await conn.execute("update technologies set industry_code = $1 where code = 'SEMI-010'", arg)
        case "truncate":
            await conn.execute("truncate projects")


async def assert_kept(conn: db.Conn) -> None:
    assert await row_set(conn, KEPT) == await row_set(conn, EXPECTED)
    assert await conn.fetch("select * from read_model_drift()") == []  # `gateway check` agrees


# Every rollup the sums answer: grouped by year, industry, both or neither, unfiltered or filtered.
SUMMED_ASKS = [
    Spending(group_by=frozenset(group_by), filters=filters)
    for group_by in itertools.chain.from_iterable(
        itertools.combinations(["fiscal_year", "industry"], n) for n in range(3)
    )
    for filters in [
        {},
        {"fiscal_year": 2023},
        {"industry": "SEMI"},
        {"industry": "DISP", "fiscal_year": 2024},
    ]
]


async def _spending(conn: db.Conn, ask: Spending, *, summed: bool) -> list[tuple[Any, ...]]:
    values = ask.values()
    values[len(DIMENSIONS) + 1] = summed  # the summed flag, forced
    ph = [f"${n}" for n in range(1, len(values) + 1)]
    sql = store.spending.spending_sql(ph)
    rows = await conn.fetch(f"select * from ({sql}) r order by {store.spending.spending_order('r')}", *values)
    return [tuple(r) for r in rows]


async def assert_reads_agree(conn: db.Conn) -> None:
    """The reads from the sums equal the same reads scanning every project."""
    for ask in SUMMED_ASKS:
        assert ask.summed
        assert await _spending(conn, ask, summed=True) == await _spending(conn, ask, summed=False), ask
    for year in (2022, 2023, 2024, 2030):
        totals = await conn.fetchrow(store.budget.year_totals_sql("$1::int"), year)
        assert totals is not None
        old = await conn.fetchrow(OLD_TOTALS, year)
        assert old is not None
        assert tuple(totals)[3:] == tuple(old)
        rows = await conn.fetch(
            f"select * from ({store.budget.year_by_industry_sql('$1::int')}) r order by r.code nulls last",
            year,
        )
        assert [tuple(r) for r in rows] == [tuple(r) for r in await conn.fetch(OLD_BY_INDUSTRY, year)]


@STATEMENT_SEQUENCES
@given(sequence=st.lists(steps, min_size=1, max_size=8))
async def test_the_sums_follow_any_sequence_of_statements(
    conn: db.Conn, seeded: None, sequence: list[tuple[str, Any]]
) -> None:
    for kind, arg in sequence:
        async with conn.transaction():
            await run_step(conn, kind, arg)
            await assert_kept(conn)  # inside the writing transaction
    await assert_reads_agree(conn)
    await conn.execute("delete from projects")
    assert await conn.fetchval("select count(*) from year_technology_sums") == 0


async def test_the_sums_follow_the_projector(conn: db.Conn, seeded: None) -> None:
    """Through the handlers: a project is proposed, selected, paid, recoded and moved to another year."""
    moves: list[dict[str, Any]] = [
        {"status": "proposed", "technology_codes": ["SEMI-004", "SEMI-025"]},
        {"status": "selected", "committed_krw": 900, "technology_codes": ["SEMI-004", "SEMI-025"]},
        {"status": "active", "committed_krw": 900, "disbursed_krw": 300, "technology_codes": ["SEMI-025"]},
        {
            "status": "active",
            "committed_krw": 900,
            "disbursed_krw": 300,
            "technology_codes": ["SEMI-025"],
            "fiscal_year": 2024,
            "kind": "continuing",
        },
    ]
    for version, fields in enumerate(moves, start=1):
        await apply(conn, project_event(project("P-1", version, **fields)))
        await apply(conn, project_event(project("P-2", version, **{**fields, "fiscal_year": 2023})))
        await assert_kept(conn)
    assert [tuple(r) for r in await conn.fetch(f"{KEPT} order by 1, 2")] == [
        (2023, "SEMI-025", 900, 300, 1_000_000_000, 150_000_000, 100_000_000, 1, 0, 1, 1),
        (2024, "SEMI-025", 900, 300, 1_000_000_000, 150_000_000, 100_000_000, 1, 0, 1, 1),
    ]
    await assert_reads_agree(conn)


async def test_a_rollup_by_year_and_industry_reads_no_project(conn: db.Conn, seeded: None) -> None:
    """What makes it flat: the statement reads the sums, never the projects, however many there are."""
    many = [[f"P-{n:03}" for n in range(300)], [2022 + n % 3 for n in range(300)]]
    await conn.execute(
        UPSERT,
        *many,
        ["SEMI-004,SEMI-025"] * 300,
        ["selected"] * 300,
        ["new"] * 300,
        [100] * 300,
        [5] * 300,
        [1] * 300,
    )
    ask = Spending(group_by=frozenset({"industry", "fiscal_year"}), filters={})
    async with conn.transaction():
        before = await rows_read(conn, "projects")
        rows = await _spending(conn, ask, summed=ask.summed)
        overview = await conn.fetchrow(store.budget.year_totals_sql("2023"))
        by_industry = await conn.fetch(store.budget.year_by_industry_sql("2023"))
        after = await rows_read(conn, "projects")
    assert after == before
    assert [(r[0], r[1], r[-2]) for r in rows] == [(y, "SEMI", 100) for y in (2022, 2023, 2024)]
    assert overview is not None
    assert overview["new_count"] == 100
    assert [(r["code"], r["project_count"]) for r in by_industry] == [("SEMI", 100)]


@pytest.mark.parametrize(
    ("group_by", "filters"),
    [
        ({"program"}, {}),
        ({"fiscal_year"}, {"technology": "SEMI-004"}),
        ({"industry"}, {"firm": "1018100340"}),
        ({"paid_month"}, {}),
        (set(), {"paid_month": "2023-05"}),
        ({"partner_country"}, {}),
        (set(), {"region": "서울"}),
    ],
)
def test_other_rollups_scan_the_projects(group_by: set[str], filters: dict[str, object]) -> None:
    """The sums know a project's year and primary technology only: any other dimension or filter scans."""
    assert not Spending(group_by=frozenset(group_by), filters=filters).summed


async def test_concurrent_writers_of_one_pair_leave_the_sums_of_both(gateway_db: str) -> None:
    """Two transactions add a project each to the same (year, technology): the second waits for the first.

    0012's trigger on the same statement would make the second writer wait first, on the
    technology's funding row, before 0013's trigger runs; it is disabled here so that the wait
    is on the year sums' row.
    """
    conn = await db.connect(gateway_db)
    await conn.execute("alter table projects disable trigger projects_technology_links_insert")
    upsert: list[Any] = [["P-0"], [2023], ["SEMI-004"], ["selected"], ["new"], [100], [5], [0]]
    await write_concurrently(gateway_db, UPSERT, upsert, [["P-1"], *upsert[1:]])
    try:
        assert await row_set(
            conn, "select committed_krw, project_count, project_rows from year_technology_sums"
        ) == {(10, 2, 2)}
        assert await row_set(conn, KEPT) == await row_set(conn, EXPECTED)
        # With 0012's trigger off, its links and sums were not kept: the check says so, and only that.
        drift = await conn.fetch("select kept_table, found_in from read_model_drift()")
        assert {tuple(r) for r in drift} == {
            ("project_technologies", "rows"),
            ("technology_year_funding", "rows"),
        }
    finally:
        await conn.close()


async def test_sums_out_of_step_with_the_projects_are_refused(conn: db.Conn) -> None:
    await conn.execute(UPSERT, ["P-1"], [2023], ["SEMI-004"], ["selected"], ["new"], [100], [5], [0])
    await conn.execute("update year_technology_sums set project_rows = 0")  # as if the sums had drifted
    with pytest.raises(asyncpg.RaiseError, match="lost more projects than it held"):
        await conn.execute("delete from projects")


@pytest.fixture
async def before_0013(migrated_database: Any) -> str:
    return str(await migrated_database("gateway_0012", gateway_migrations_before(13)))


async def test_the_migration_fills_the_sums_from_the_projects_there(before_0013: str) -> None:
    conn: asyncpg.Connection = await db.connect(before_0013)
    try:
        await apply(
            conn,
            project_event(
                project("P-1", technology_codes=["SEMI-004", "SEMI-025"], status="selected", committed_krw=5)
            ),
            project_event(project("P-2", fiscal_year=2022, technology_codes=["SEMI-025"], kind="continuing")),
            project_event(project("P-3", fiscal_year=2022, technology_codes=["SEMI-025"], status="active")),
        )
        assert await conn.fetchval("select to_regclass('year_technology_sums')") is None
        await migrations.migrate(before_0013, all_migrations())
        await assert_kept(conn)
        assert await conn.fetchval("select count(*) from year_technology_sums") == 2
        await assert_reads_agree(conn)
    finally:
        await conn.close()
