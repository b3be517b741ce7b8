"""`read_model_drift()` (migration 0014) and `gateway check`: the kept links and sums against their
rows, and the cost limit's assumed list sizes against the largest lists held.

The random statements of test_technology_links.py and test_year_sums.py check that it finds
nothing where the tables are kept; here, that it finds each kind of drift, in each table, and
that the command says so and exits 1.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gateway import store
from gateway.cli import build
from gateway.read.describe import TECHNOLOGY_CODES
from mpe_kit import db

from .conftest import apply, designation, designation_event, gateway_migrations_before, project, project_event


@pytest.fixture
async def kept(conn: db.Conn) -> db.Conn:
    """Two projects and a designation, their links and sums kept by the triggers."""
    await apply(
        conn,
        project_event(project("P-1", technology_codes=["T-1", "T-2"], status="selected", committed_krw=5)),
        project_event(project("P-2", fiscal_year=2022, technology_codes=["T-2"])),
        designation_event(designation(uuid.UUID(int=1), "1018100340", codes=("T-1",))),
    )
    assert await conn.fetch("select * from read_model_drift()") == []
    return conn


# A hand edit of each kept table, and the (table, side) pairs it must show as.
EDITS = [
    ("delete from project_technologies where project_code = 'P-2'", {("project_technologies", "rows")}),
    (
        "insert into project_technologies (technology_code, fiscal_year, project_code) values ('T-9', 2023, 'P-1')",
        {("project_technologies", "kept")},
    ),
    (
        "update designation_technologies set status = 'revoked'",
        {("designation_technologies", "kept"), ("designation_technologies", "rows")},
    ),
    (
        "update technology_year_funding set disbursed_krw = disbursed_krw + 1 where technology_code = 'T-1'",
        {("technology_year_funding", "kept"), ("technology_year_funding", "rows")},
    ),
    ("delete from year_technology_sums where fiscal_year = 2022", {("year_technology_sums", "rows")}),
    (
        "update year_technology_sums set government_krw = government_krw + 1",
        {("year_technology_sums", "kept"), ("year_technology_sums", "rows")},
    ),
]


@pytest.mark.parametrize(("edit", "shown"), EDITS)
async def test_each_drift_shows_in_its_table(kept: db.Conn, edit: str, shown: set[tuple[str, str]]) -> None:
    await kept.execute(edit)
    rows = await kept.fetch("select * from read_model_drift()")
    assert {(r["kept_table"], r["found_in"]) for r in rows} == shown
    assert all(r["row_value"].startswith("(") for r in rows)


def _check(dsn: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", dsn)
    return CliRunner().invoke(build(), ["check"])


async def test_gateway_check_names_the_drift_and_exits_1(
    kept: db.Conn, gateway_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = await asyncio.to_thread(_check, gateway_db, monkeypatch)
    assert ok.exit_code == 0, ok.output
    assert "agree" in ok.output
    await kept.execute("delete from year_technology_sums where fiscal_year = 2022")
    bad = await asyncio.to_thread(_check, gateway_db, monkeypatch)
    assert bad.exit_code == 1
    assert "year_technology_sums: in the rows, not kept: (2022,T-2," in bad.output
    assert "1 rows differ" in bad.output
    assert "gateway rebuild" in bad.output


@pytest.fixture
async def before_0014(migrated_database: Any) -> str:
    return str(await migrated_database("gateway_0013", gateway_migrations_before(14)))


async def test_gateway_check_on_a_database_without_the_function(
    before_0014: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await asyncio.to_thread(_check, before_0014, monkeypatch)
    assert r.exit_code == 1
    assert "run `gateway migrate` first" in r.output


async def test_each_assumed_list_size_is_measured_on_the_data(kept: db.Conn) -> None:
    # The fixture's data: T-1 and T-2 on one project (2 codes), one designation of one code and
    # its one step, no revision, theme or industry.
    sizes = await store.assumed.largest(kept)
    assert sizes["PROJECT_TECHNOLOGY_CODES"] == 2
    assert sizes["TECHNOLOGY_CODES"] == 1
    assert sizes["LISTED"] == sizes["PROGRAM_THEMES"] == sizes["INDUSTRIES"] == 0
    assert set(sizes) == {a.name for a in store.assumed.FIGURES}
    assert await store.assumed.outgrown(kept) == []


async def test_gateway_check_names_a_list_larger_than_the_cost_limit_counts(
    kept: db.Conn, gateway_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by a review: the cost limit counts a firm's technologies as at most 5 (the service
    # takes 100), and nothing said when the data went past that.
    ok = await asyncio.to_thread(_check, gateway_db, monkeypatch)
    assert ok.exit_code == 0, ok.output
    assert "assumed list sizes hold" in ok.output
    codes = [f"T-{n}" for n in range(TECHNOLOGY_CODES + 7)]
    await apply(kept, designation_event(designation(uuid.UUID(int=2), "1018100340", codes=tuple(codes))))
    bad = await asyncio.to_thread(_check, gateway_db, monkeypatch)
    assert bad.exit_code == 1, bad.output
    assert "the kept tables agree" in bad.output
    assert (
        f"Firm.technologies, Firm.declaredTechnologies, Designation.technologies: a list of {len(codes)} in the"
        f" read model, where the cost limit counts {TECHNOLOGY_CODES} (TECHNOLOGY_CODES in"
    ) in bad.output.replace("\n", " ")
    assert "1 of the cost limit's assumed list sizes are smaller than the data" in bad.output
