"""The plans the gateway's prepared statements run with: the planner's page cost on its connections,
and the optional arguments written so that a generic plan still ranges an index.

The read model sits in memory; with Postgres's default `random_page_cost` of 4 the planner scans
small tables whole once per row of a page instead of going through their index
(`GATEWAY_DB_RANDOM_PAGE_COST`). A generic plan, made without the values, takes
`($n is null or column = $n)` as a filter; the cursor and the funding's year are written as
ranges instead (docs/architecture.md, "Optional arguments in a prepared statement";
docs/measurements.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from asgi_lifespan import LifespanManager
from graphql import parse

from gateway.app import create_app
from gateway.projector.handlers import HANDLERS
from gateway.read.compiled import CompiledQuery
from gateway.settings import GatewaySettings
from mpe_kit import db

from .conftest import compile_query
from .demo_events import demo_events

QUERY_1 = Path(__file__).resolve().parents[3] / "deploy" / "bench" / "queries" / "technologies.graphql"
SCOPES = frozenset({"catalog:read", "firms:read", "budget:read"})


def _settings(dsn: str, **fields: object) -> GatewaySettings:
    return GatewaySettings(database_url=dsn, log_json=False, kafka_bootstrap="127.0.0.1:1", **fields)


async def test_every_pooled_connection_of_the_gateway_carries_the_page_cost(gateway_db: str) -> None:
    for configured, shown in ((None, "1.1"), (2.5, "2.5")):
        fields = {} if configured is None else {"db_random_page_cost": configured}
        app = create_app(_settings(gateway_db, db_pool_min=2, **fields), with_workers=False)
        async with LifespanManager(app):
            pool = app.state.pool
            async with pool.acquire() as a, pool.acquire() as b:
                assert await a.fetchval("show random_page_cost") == shown
                assert await b.fetchval("show random_page_cost") == shown
                # A `set` in a transaction does not outlive it: the pool hands back the setting.
                async with a.transaction():
                    await a.execute("set local random_page_cost = 7")
            async with pool.acquire() as again:
                assert await again.fetchval("show random_page_cost") == shown


async def _project_the_demo(conn: db.Conn) -> None:
    async with conn.transaction():
        for e in demo_events():
            await HANDLERS[e.envelope.type](conn, e)
    await conn.execute("analyze")  # what autovacuum leaves a live read model


async def _generic_plan(dsn: str, statement: CompiledQuery, server_settings: dict[str, str]) -> str:
    """The generic plan: what a pooled connection runs the prepared statement with after its first
    executions (`pg_prepared_statements` counts them generic), whatever the values bound."""
    pool = await db.create_pool(dsn, min_size=1, max_size=1, server_settings=server_settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            types = [t.name for t in (await conn.prepare(statement.sql)).get_parameters()]
            # `explain` of the statement itself would plan it for the values bound to it (a
            # custom plan); a statement prepared by name and executed has the plan cache choose.
            await conn.execute(f"prepare query_1({', '.join(types)}) as {statement.sql}")
            await conn.execute("set local plan_cache_mode = force_generic_plan")
            rows = await conn.fetch(
                f"explain (costs off) execute query_1({', '.join('null' for _ in types)})"
            )
            await conn.execute("deallocate query_1")
    finally:
        await pool.close()
    return "\n".join(r[0] for r in rows)


async def test_query_1_on_the_demo_reads_designations_through_their_index(
    gateway_db: str, conn: db.Conn
) -> None:
    await _project_the_demo(conn)
    statement = compile_query(parse(QUERY_1.read_text()), None, {}, scopes=SCOPES, max_page=100)
    assert isinstance(statement, CompiledQuery), statement

    plan = await _generic_plan(gateway_db, statement, _settings(gateway_db).db_server_settings())
    # Each technology's designated firms: a range of a link index, in the answer's order.
    assert "Index Only Scan using designation_technologies_page" in plan, plan
    assert "Seq Scan on designation_technologies" not in plan, plan
    assert "Seq Scan on firms" not in plan, plan

    # What the setting is for: with Postgres's default the same statement scans every link of
    # the demo once per technology of the page.
    default = await _generic_plan(gateway_db, statement, {"random_page_cost": "4"})
    assert "Seq Scan on designation_technologies" in default, default


async def test_query_1_on_the_demo_finds_each_funding_by_its_key(gateway_db: str, conn: db.Conn) -> None:
    await _project_the_demo(conn)
    statement = compile_query(parse(QUERY_1.read_text()), None, {}, scopes=SCOPES, max_page=100)
    assert isinstance(statement, CompiledQuery), statement

    plan = await _generic_plan(gateway_db, statement, _settings(gateway_db).db_server_settings())
    # The year, a placeholder that may be null (every year), is a range of the key
    # (technology_code, fiscal_year), not a filter over each of the technology's years.
    funding = plan[plan.index("on technology_year_funding") :].splitlines()
    assert "Index Cond:" in funding[1], plan
    assert "fiscal_year >=" in funding[1], plan
    assert "fiscal_year <=" in funding[1], plan
    assert "Filter" not in funding[2], plan


async def test_a_page_after_a_cursor_starts_its_key_range_there(gateway_db: str, conn: db.Conn) -> None:
    await _project_the_demo(conn)
    settings = _settings(gateway_db).db_server_settings()
    for query in (
        "{ technologies(first: 5) { edges { node { code } } } }",
        "{ firms(first: 5) { edges { node { brn } } } }",
        "{ projects(first: 5) { edges { node { code } } } }",
    ):
        statement = compile_query(parse(query), None, {}, scopes=SCOPES, max_page=100)
        assert isinstance(statement, CompiledQuery), statement
        plan = await _generic_plan(gateway_db, statement, settings)
        # The cursor's key (a placeholder, null on the first page) bounds an index range of the
        # key; `(after is null or key > after)` left the generic plan reading every row before it.
        assert re.search(r"Index Cond: \(\w+ > COALESCE\(\$\d+, ''::text\)\)", plan), plan
