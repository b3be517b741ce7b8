"""`make demo-scale`: the 1× data written into migrated firms and budget databases."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg
import pytest

from budget.app import all_migrations as budget_migrations
from firms.app import all_migrations as firms_migrations
from mpe_devstack.scale import load
from mpe_devstack.scale_data import _years_later, current_technologies, generate
from mpe_events.registry import EVENT_TYPES
from mpe_kit import migrations

Migrated = Callable[[str, list[migrations.Migration]], Awaitable[str]]


@pytest.mark.unit
def test_a_designation_of_29_february_runs_to_28_february() -> None:
    assert _years_later(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert _years_later(date(2024, 3, 31), 3) == date(2027, 3, 31)


@pytest.mark.unit
def test_the_data_grows_with_the_scale_and_every_event_validates() -> None:
    one, three = generate(1), generate(3)
    assert len(one.budget.rows["projects"]) >= 200
    assert len(one.firms.rows["firms"]) == 100
    assert len(three.firms.rows["firms"]) == 300
    assert 2.8 <= len(three.budget.rows["projects"]) / len(one.budget.rows["projects"]) <= 3.2
    assert {p["fiscal_year"] for p in one.budget.rows["projects"]} == set(range(2017, 2027))
    for e in one.events():
        EVENT_TYPES[e.event_type.type].model.model_validate(e.data.model_dump(mode="json"))
    listed = current_technologies()
    assert {c for p in one.budget.rows["projects"] for c in p["technology_codes"]} <= set(listed)
    # A project's payments add up to its disbursed money, never above its government money.
    paid = Counter[str]()
    for d in one.budget.rows["disbursements"]:
        paid[d["project_code"]] += d["amount_krw"]
    for p in one.budget.rows["projects"]:
        assert paid[p["code"]] == p["disbursed_krw"] <= p["government_krw"]


async def test_load_writes_rows_and_outbox_consistently(migrated_database: Migrated) -> None:
    firms_dsn = await migrated_database("firms", firms_migrations())
    budget_dsn = await migrated_database("budget", budget_migrations())
    conn = await asyncpg.connect(budget_dsn)
    try:
        # What the demo left: a fiscal year the scale data raises, version and envelope both.
        await conn.execute("insert into fiscal_years (year, envelope_krw, version) values (2023, 1000, 3)")
    finally:
        await conn.close()
    data, counts = await load(1, firms_dsn=firms_dsn, budget_dsn=budget_dsn)
    assert counts == {"firms": len(data.firms.outbox), "budget": len(data.budget.outbox)}
    conn = await asyncpg.connect(budget_dsn)
    try:
        assert await conn.fetchval("select count(*) from projects") == len(data.budget.rows["projects"])
        assert (
            await conn.fetchval("select count(*) from outbox where published_at is null") == counts["budget"]
        )
        spent = await conn.fetchval("select sum(government_krw) from projects where fiscal_year = 2023")
        year = await conn.fetchrow("select envelope_krw, version from fiscal_years where year = 2023")
        assert (year["envelope_krw"], year["version"]) == (1000 + spent, 4)
        # Each project's last event carries the state its row holds.
        last = await conn.fetchrow(
            "select payload from outbox where topic = 'mpe.budget.project' order by seq desc limit 1"
        )
        code = json.loads(last["payload"])["code"]
        row = await conn.fetchrow("select version, disbursed_krw from projects where code = $1", code)
        assert json.loads(last["payload"])["version"] == row["version"]
    finally:
        await conn.close()
    conn = await asyncpg.connect(firms_dsn)
    try:
        assert await conn.fetchval("select count(*) from firms") == 100
        assert await conn.fetchval("select count(*) from designations") == 100
    finally:
        await conn.close()
