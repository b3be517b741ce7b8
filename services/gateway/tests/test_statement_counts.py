"""Nested lists are batched: the SQL statements of a query do not grow with the page size."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from mpe_kit import db

from .conftest import (
    Running,
    apply,
    brn,
    designation,
    designation_event,
    firm,
    firm_event,
    gql,
    new_key,
    program,
    program_event,
    project,
    project_event,
)

pytestmark = pytest.mark.usefixtures("network")


class CountingPool:
    """Stands in for the app's pool and logs every statement its borrowed connections run."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.statements: list[str] = []

    def _log(self, record: Any) -> None:
        # How current the read model is, read at most twice a second for `extensions.dataAsOf`,
        # is the route's, not the query's.
        if "from source_positions" not in record.query:
            self.statements.append(record.query)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            conn.add_query_logger(self._log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(self._log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


@contextlib.contextmanager
def counting(running: Running) -> Iterator[CountingPool]:
    real = running.app.state.pool
    counter = CountingPool(real)
    running.app.state.pool = counter
    try:
        yield counter
    finally:
        running.app.state.pool = real


@pytest.fixture
async def network(conn: db.Conn, seeded: None) -> None:
    """25 firms over the 25 technologies: firm i declares, and holds confirmations valid in 2022
    for, technologies i and i+1 (mod 25), with a leading designation for the first and a
    specialized application for the second."""
    events = []
    for i in range(1, 26):
        own, next_ = f"SEMI-{i:03d}", f"SEMI-{i % 25 + 1:03d}"
        number = brn(1000 + i)
        held = [
            {"technology_code": c, "issued_on": date(2020, 6, 1), "valid_until": date(2023, 6, 1)}
            for c in (own, next_)
        ]
        events.append(firm_event(firm(number, technology_codes=[own, next_], confirmations=held)))
        events.append(
            designation_event(
                designation(
                    uuid.uuid4(),
                    number,
                    ("under_review", date(2020, 11, 2)),
                    ("designated", date(2021, 1, 15)),
                    codes=(own,),
                )
            )
        )
        events.append(
            designation_event(designation(uuid.uuid4(), number, kind="specialized", codes=(next_,)))
        )
    await apply(conn, *events)


FIRMS = """
query($n: Int!) {
  firms(first: $n) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      brn nameKo mpeSalesRatio
      technologies { code status industry { code } }
      designations { id status history { toStatus effectiveOn } firm { brn } technologies { code } }
    } }
  }
}
"""

TECHNOLOGIES = """
query($n: Int!) {
  technologies(first: $n) {
    totalCount
    edges { node {
      code industry { nameEn }
      firms(validOn: "2022-01-01") { brn technologies { code } designations { id } }
      designations { id status firm { nameEn } technologies { code } }
      designated: designations(status: DESIGNATED, first: 5) { id }
    } }
  }
}
"""


async def statements(
    running: Running, client: httpx.AsyncClient, query: str, n: int, connection: str
) -> tuple[list[str], int]:
    with counting(running) as counter:
        body = await gql(client, query, n=n)
        await asyncio.sleep(0)  # the query logger reports through call_soon
    assert "errors" not in body, body["errors"]
    return counter.statements, len(body["data"][connection]["edges"])


@pytest.mark.parametrize(
    ("query", "connection", "expected"),
    [
        # key, page, count, then one batch each: technologies, designations, industries. The
        # designations' firms and technologies are already in the request's loaders.
        (FIRMS, "firms", 6),
        # key, page, count, then one batch each: industries, firms, designations (two argument
        # sets: two statements), the designations' firms, the firms' designations, and the
        # firms' technologies that were not on the page.
        (TECHNOLOGIES, "technologies", 10),
    ],
    ids=["firms", "technologies"],
)
async def test_statements_do_not_grow_with_the_page(
    conn: db.Conn,
    gateway: Callable[..., httpx.AsyncClient],
    gateway_app: Running,
    query: str,
    connection: str,
    expected: int,
) -> None:
    client = gateway((await new_key(conn, "catalog:read", "firms:read", "firms:financials")).secret)
    small, rows_small = await statements(gateway_app, client, query, 5, connection)
    large, rows_large = await statements(gateway_app, client, query, 20, connection)
    assert (rows_small, rows_large) == (5, 20)
    if gateway_app.app.state.settings.compiled_queries:
        expected = 2  # the key, then the one statement the operation compiles to
    assert len(small) == len(large) == expected, "\n".join(large)


@pytest.fixture
async def budget_network(conn: db.Conn, network: None) -> None:
    """Over the network: five programs and, per technology i, two projects (2023 and 2022) led by
    firm i, touching technologies i and i+1, in program i mod 5."""
    events = [program_event(program(f"MP-{n}", track=f"track-{n % 2}")) for n in range(5)]
    for i in range(1, 26):
        codes = [f"SEMI-{i:03d}", f"SEMI-{i % 25 + 1:03d}"]
        for year in (2023, 2022):
            events.append(
                project_event(
                    project(
                        f"P{year}-{i:03d}",
                        fiscal_year=year,
                        program_code=f"MP-{i % 5}",
                        technology_codes=codes,
                        lead_firm_brn=brn(1000 + i),
                        status="active",
                        committed_krw=1_000_000_000,
                        disbursed_krw=400_000_000,
                    )
                )
            )
    await apply(conn, *events)


PROJECTS = """
query($n: Int!) {
  projects(first: $n) {
    totalCount
    edges { node {
      code committedKrw
      program { code budgetKrw committedKrw projectCount themes { code } projects(first: 3) { code } }
      leadFirm { brn nameEn projects(first: 2) { code } }
      technologies { code industry { code } }
    } }
  }
}
"""

TECHNOLOGY_FUNDING = """
query($n: Int!) {
  technologies(first: $n) {
    totalCount
    edges { node {
      code
      funding(fiscalYear: 2023) { committedKrw disbursedKrw projectCount }
      allYears: funding { committedKrw }
      projects(first: 5) { code program { code } leadFirm { brn } technologies { code } }
    } }
  }
}
"""


@pytest.mark.parametrize(
    ("query", "connection", "expected"),
    [
        # key, page, count, then one batch each: programs, their sums, their projects, the lead
        # firms, the firms' projects, technologies, industries.
        (PROJECTS, "projects", 10),
        # key, page, count, then one batch each: funding in 2023, funding in all years, projects,
        # their programs, their lead firms, and their technologies that were not on the page.
        (TECHNOLOGY_FUNDING, "technologies", 9),
    ],
    ids=["projects", "technology-funding"],
)
@pytest.mark.usefixtures("budget_network")
async def test_budget_statements_do_not_grow_with_the_page(
    conn: db.Conn,
    gateway: Callable[..., httpx.AsyncClient],
    gateway_app: Running,
    query: str,
    connection: str,
    expected: int,
) -> None:
    client = gateway((await new_key(conn, "catalog:read", "firms:read", "budget:read")).secret)
    small, rows_small = await statements(gateway_app, client, query, 5, connection)
    large, rows_large = await statements(gateway_app, client, query, 20, connection)
    assert (rows_small, rows_large) == (5, 20)
    if gateway_app.app.state.settings.compiled_queries:
        expected = 2  # the key, then the one statement the operation compiles to
    assert len(small) == len(large) == expected, "\n".join(large)
