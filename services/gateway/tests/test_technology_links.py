"""The link tables and the per-technology sums (migrations 0011, 0012) follow every change of the rows.

Whatever writes projects and designations (a handler's one-row upsert, a batch's multi-row
`insert ... on conflict do update`, an update or delete of many rows), the statement triggers
keep, within the same transaction: one link per distinct technology code a row carries, and
per (technology, fiscal year) the sums that a scan of every project computes (the triggers move
them by what each statement changed; these tests recompute them from the rows). And the relations
and sums read through them answer what array containment over the rows answers.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import store
from gateway.app import all_migrations
from gateway.read.budget.model import TECHNOLOGY_PROJECTS
from gateway.read.describe import Relation
from gateway.read.firms.model import TECHNOLOGY_DESIGNATIONS
from mpe_kit import db, migrations

from .conftest import (
    PROJECT_STATEMENTS,
    STATEMENT_SEQUENCES,
    apply,
    designation,
    designation_event,
    gateway_migrations_before,
    project,
    project_event,
    row_set,
    rows_read,
    write_concurrently,
)

CODES = ["T-1", "T-2", "T-3", "T-4"]
PROJECTS = [f"P-{n}" for n in range(6)]
DESIGNATIONS = [uuid.UUID(int=n + 1) for n in range(4)]
STATUSES = ["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
D_STATUSES = ["applied", "under_review", "designated", "rejected", "revoked"]

# What the links and the sums must hold, computed from the rows alone (as before migration 0011).
EXPECTED_PROJECT_LINKS = (
    "select distinct c, fiscal_year, code from projects, unnest(technology_codes) c where c is not null"
)
EXPECTED_DESIGNATION_LINKS = "select distinct c, applied_on, id, status from designations, unnest(technology_codes) c where c is not null"
EXPECTED_SUMS = (
    "select u.code, p.fiscal_year, coalesce(sum(p.committed_krw), 0)::bigint,"
    f" coalesce(sum(p.disbursed_krw), 0)::bigint, count(p.code) filter (where {store.budget.counted('p')}),"
    " count(*)::int from projects p cross join lateral (select distinct c from unnest(p.technology_codes) c) u(code)"
    " where u.code is not null group by u.code, p.fiscal_year"
)


async def assert_kept(conn: db.Conn) -> None:
    """The link tables and the sums equal what the rows say."""
    assert await row_set(
        conn, "select technology_code, fiscal_year, project_code from project_technologies"
    ) == await row_set(conn, EXPECTED_PROJECT_LINKS)
    assert await row_set(
        conn, "select technology_code, applied_on, designation_id, status from designation_technologies"
    ) == await row_set(conn, EXPECTED_DESIGNATION_LINKS)
    assert await row_set(
        conn,
        "select technology_code, fiscal_year, committed_krw, disbursed_krw, project_count, project_links"
        " from technology_year_funding",
    ) == await row_set(conn, EXPECTED_SUMS)
    assert await conn.fetch("select * from read_model_drift()") == []  # `gateway check` agrees


async def assert_reads_agree(conn: db.Conn) -> None:
    """Each technology's relations and sums read through the new tables equal the old reads."""
    for code in [*CODES, "T-none"]:
        for relation, statuses in (
            (TECHNOLOGY_PROJECTS, [None]),
            (TECHNOLOGY_DESIGNATIONS, [None, *D_STATUSES]),
        ):
            for status in statuses:
                assert await _rows(conn, relation, code, status, linked=True) == await _rows(
                    conn, relation, code, status, linked=False
                )
        for year in (None, 2022, 2023, 2024, 2030):
            got = await conn.fetchrow(store.budget.technology_sums("$1::text", "$2"), code, year)
            old = await conn.fetchrow(
                "select coalesce(sum(p.committed_krw), 0)::bigint, coalesce(sum(p.disbursed_krw), 0)::bigint,"
                f" count(p.code) filter (where {store.budget.counted('p')}) from projects p"
                " where p.technology_codes @> array[$1::text] and ($2::int is null or p.fiscal_year = $2)",
                code,
                year,
            )
            assert got is not None
            assert old is not None
            assert tuple(got) == tuple(old)
        years = await conn.fetch(f"{store.budget.technology_years('$1::text')} order by fiscal_year", code)
        old_years = await conn.fetch(
            f"select p.fiscal_year, {store.budget.ROLLUP} from projects p where p.technology_codes @> array[$1::text]"
            f" group by p.fiscal_year {store.budget.NONEMPTY} order by p.fiscal_year",
            code,
        )
        assert [tuple(r) for r in years] == [tuple(r) for r in old_years]


async def _rows(
    conn: db.Conn, relation: Relation, code: str, status: str | None, *, linked: bool
) -> list[Any]:
    if linked:
        sql = relation.rows("$1::text", "3", "$2" if relation.status else None)
    else:
        status_filter = f" and ($2::text is null or {relation.status} = $2::text)" if relation.status else ""
        sql = (
            f"select {relation.child.select()} from {relation.child.table} where {relation.match('$1::text')}"
            f"{status_filter} order by {relation.order_by()} limit 3"
        )
    args = (code, status) if relation.status else (code,)
    return [tuple(r) for r in await conn.fetch(sql, *args)]


# Statements as the projector's batch writes them (several rows in one), and as anyone might.
UPSERT_PROJECTS = (
    "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
    " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, disbursed_krw, version)"
    " select r.code, 'MP', r.fiscal_year, r.code, 'new', a.codes, 100, 0, 0, '2023-01-01', '2023-12-31',"
    " r.status, r.committed, r.disbursed, 1"
    " from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])"
    " r(code, fiscal_year, codes_text, status, committed, disbursed)"
    " cross join lateral (select string_to_array(r.codes_text, ',') codes) a"
    " on conflict (code) do update set fiscal_year = excluded.fiscal_year,"
    " technology_codes = excluded.technology_codes, status = excluded.status,"
    " committed_krw = excluded.committed_krw, disbursed_krw = excluded.disbursed_krw"
)
UPSERT_DESIGNATIONS = (
    "insert into designations (id, brn, kind, technology_codes, status, applied_on, history, version)"
    " select r.id, '1018100340', 'leading', string_to_array(r.codes, ','), r.status, r.applied_on, '[]', 1"
    " from unnest($1::uuid[], $2::text[], $3::text[], $4::date[]) r(id, codes, status, applied_on)"
    " on conflict (id) do update set technology_codes = excluded.technology_codes,"
    " status = excluded.status, applied_on = excluded.applied_on"
)

tech_codes = st.lists(st.sampled_from(CODES), max_size=3).map(",".join)  # repeats included
project_rows = st.lists(
    st.tuples(
        st.sampled_from(PROJECTS),
        st.integers(2022, 2024),
        tech_codes,
        st.sampled_from(STATUSES),
        st.sampled_from([0, 0, 7, 1_000]),
        st.sampled_from([0, 3, 500]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r[0],
)
designation_rows = st.lists(
    st.tuples(
        st.sampled_from(DESIGNATIONS),
        tech_codes,
        st.sampled_from(D_STATUSES),
        st.sampled_from([date(2021, 1, 1), date(2021, 6, 1), date(2022, 1, 1)]),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda r: r[0],
)
steps = st.one_of(
    st.tuples(st.just("upsert projects"), project_rows),
    st.tuples(st.just("upsert designations"), designation_rows),
    st.tuples(st.just("delete projects"), st.lists(st.sampled_from(PROJECTS), max_size=3)),
    st.tuples(st.just("delete designations"), st.lists(st.sampled_from(DESIGNATIONS), max_size=2)),
    st.tuples(st.just("move year"), st.integers(2022, 2024)),
    st.tuples(st.just("pay"), st.sampled_from(PROJECTS)),
    st.tuples(st.just("recode"), st.sampled_from(CODES)),
    st.tuples(st.just("designate all"), st.just(None)),
)


async def run_step(conn: db.Conn, kind: str, arg: Any) -> None:
    match kind:
        case "upsert projects":
            await conn.execute(UPSERT_PROJECTS, *(list(c) for c in zip(*arg, strict=True)))
        case "upsert designations":
            await conn.execute(UPSERT_DESIGNATIONS, *(list(c) for c in zip(*arg, strict=True)))
        case "delete projects":
            await conn.execute(PROJECT_STATEMENTS["delete"], arg)
        case "delete designations":
            await conn.execute("delete from designations where id = any($1::uuid[])", arg)
        case "move year" | "pay":
            await conn.execute(PROJECT_STATEMENTS[kind], arg)
        case "recode":  # a code dropped from every row that has it
            await conn.execute(PROJECT_STATEMENTS["recode"], arg)
            await conn.execute(
                "update designations set technology_codes = array_remove(technology_codes, $1)", arg
            )
        case "designate all":  # an update that changes nothing the links read for some rows
            await conn.execute("update designations set status = 'designated'")


@STATEMENT_SEQUENCES
@given(sequence=st.lists(steps, min_size=1, max_size=8))
async def test_links_and_sums_follow_any_sequence_of_statements(
    conn: db.Conn, sequence: list[tuple[str, Any]]
) -> None:
    for kind, arg in sequence:
        async with conn.transaction():
            await run_step(conn, kind, arg)
            await assert_kept(conn)  # inside the writing transaction
    await assert_reads_agree(conn)
    await conn.execute("delete from projects; delete from designations")
    for table in ("project_technologies", "designation_technologies", "technology_year_funding"):
        assert await conn.fetchval(f"select count(*) from {table}") == 0, table


async def test_links_and_sums_follow_the_projector(conn: db.Conn) -> None:
    """Through the handlers: a project changes status, money, codes and year; a designation its status."""
    moves: list[dict[str, Any]] = [
        {"status": "proposed", "technology_codes": ["T-1", "T-2", "T-1"]},
        {"status": "selected", "committed_krw": 900, "technology_codes": ["T-1", "T-2", "T-1"]},
        {"status": "active", "committed_krw": 900, "disbursed_krw": 300, "technology_codes": ["T-2", "T-3"]},
        {
            "status": "active",
            "committed_krw": 900,
            "disbursed_krw": 300,
            "technology_codes": ["T-3"],
            "fiscal_year": 2024,
        },
    ]
    for version, fields in enumerate(moves, start=1):
        await apply(conn, project_event(project("P-1", version, **fields)))
        await apply(conn, project_event(project("P-2", version, **{**fields, "fiscal_year": 2023})))
        await assert_kept(conn)
    funding = await conn.fetch(
        "select technology_code, fiscal_year, committed_krw, disbursed_krw, project_count"
        " from technology_year_funding order by 1, 2"
    )
    assert [tuple(r) for r in funding] == [("T-3", 2023, 900, 300, 1), ("T-3", 2024, 900, 300, 1)]
    number = "1018100340"
    d = designation(DESIGNATIONS[0], number, codes=("T-1", "T-4"))
    await apply(conn, designation_event(d))
    await apply(
        conn,
        designation_event(
            designation(DESIGNATIONS[0], number, ("under_review", date(2020, 11, 1)), codes=("T-1", "T-4"))
        ),
    )
    await assert_kept(conn)
    assert await conn.fetchval(
        "select array_agg(status order by technology_code) from designation_technologies"
    ) == [
        "under_review",
        "under_review",
    ]
    await assert_reads_agree(conn)
    await conn.execute("truncate projects, designations")
    await assert_kept(conn)
    assert await conn.fetchval("select count(*) from technology_year_funding") == 0


async def test_concurrent_writers_of_one_technology_year_leave_the_sums_of_both(gateway_db: str) -> None:
    """Two transactions add a project each to the same (technology, year): the second waits for the first."""
    upsert = [["P-0"], [2023], ["T-1"], ["selected"], [5], [0]]
    await write_concurrently(gateway_db, UPSERT_PROJECTS, upsert, [["P-1"], *upsert[1:]])
    conn = await db.connect(gateway_db)
    try:
        assert await row_set(
            conn,
            "select technology_code, fiscal_year, committed_krw, project_count from technology_year_funding",
        ) == {("T-1", 2023, 10, 2)}
        await assert_kept(conn)
    finally:
        await conn.close()


async def test_the_runtime_role_keeps_the_links_through_the_triggers(gateway_db: str) -> None:
    """The projector runs as a role with DML only: the triggers need nothing more."""
    role = f"rt_{uuid.uuid4().hex[:8]}"
    conn = await db.connect(gateway_db)
    try:
        await conn.execute(f"create role {role} login password 'runtime-pw'")
        await migrations.grant_runtime(conn, role)
    finally:
        await conn.close()
    runtime = await db.connect(gateway_db.replace("postgres@", f"{role}:runtime-pw@", 1))
    try:
        assert await runtime.fetchval("select current_user") == role
        await apply(runtime, project_event(project("P-1", technology_codes=["T-1"], status="selected")))
        await apply(runtime, designation_event(designation(DESIGNATIONS[0], "1018100340", codes=("T-1",))))
        await runtime.execute("delete from projects")
        await assert_kept(runtime)
        assert await runtime.fetchval("select count(*) from designation_technologies") == 1
    finally:
        await runtime.close()


@pytest.fixture
async def before_0011(migrated_database: Any) -> str:
    return str(await migrated_database("gateway_0010", gateway_migrations_before(11)))


async def test_the_migration_fills_the_tables_from_the_rows_there(before_0011: str) -> None:
    conn: asyncpg.Connection = await db.connect(before_0011)
    try:
        await apply(
            conn,
            project_event(
                project("P-1", technology_codes=["T-1", "T-2", "T-1"], status="selected", committed_krw=5)
            ),
            project_event(project("P-2", fiscal_year=2022, technology_codes=["T-2"])),
            designation_event(designation(DESIGNATIONS[0], "1018100340", codes=("T-1", "T-3"))),
        )
        assert await conn.fetchval("select to_regclass('technology_year_funding')") is None
        await migrations.migrate(before_0011, all_migrations())
        await assert_kept(conn)
        assert await conn.fetchval("select count(*) from technology_year_funding") == 3
        await assert_reads_agree(conn)
    finally:
        await conn.close()


async def test_one_project_changed_reads_no_other_project_of_its_pair(conn: db.Conn) -> None:
    """The sums move by what the statement changed: the cost of an event does not grow with the pair."""
    many = [[f"P-{n:03}" for n in range(200)], [2023] * 200, ["T-1,T-2"] * 200, ["selected"] * 200]
    await conn.execute(UPSERT_PROJECTS, *many, [5] * 200, [1] * 200)
    async with conn.transaction():
        before = await rows_read(conn, "projects")
        await conn.execute("update projects set disbursed_krw = disbursed_krw + 10 where code = 'P-007'")
        assert await rows_read(conn, "projects") - before == 1  # the updated row itself, by its key
        await assert_kept(conn)
    assert await row_set(
        conn,
        "select technology_code, committed_krw, disbursed_krw, project_count from technology_year_funding",
    ) == {("T-1", 1000, 210, 200), ("T-2", 1000, 210, 200)}


async def test_sums_out_of_step_with_the_links_are_refused(conn: db.Conn) -> None:
    await conn.execute(UPSERT_PROJECTS, ["P-1"], [2023], ["T-1"], ["selected"], [5], [0])
    await conn.execute("update technology_year_funding set project_links = 0")  # as if the sums had drifted
    with pytest.raises(asyncpg.RaiseError, match="lost more projects than it held"):
        await conn.execute("delete from projects")
