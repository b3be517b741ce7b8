"""Budget fixtures: the app on a fresh database whose replicas are pre-filled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date

import httpx
import pytest
from asgi_lifespan import LifespanManager

from budget.app import all_migrations, create_app
from budget.settings import BudgetSettings
from mpe_devstack.ports import free_port
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token

SECRET = "budget-test-secret-of-32-bytes-or-more"

LISTED = ["SEMI-001", "SEMI-002", "DISP-001", "AUTO-001"]
RETIRED = ["SEMI-099"]
# BRN -> size class, in the firm replica.
FIRMS = {"1000000001": "large", "1000000002": "mid", "1000000003": "sme"}


def token(*roles: str, sub: str = "tester") -> str:
    """A staff token signed with the test secret."""
    return issue_token(SECRET, sub=sub, roles=list(roles))


@pytest.fixture
async def budget_settings(new_database: Callable[[str], str], topic_prefix: str) -> BudgetSettings:
    dsn = new_database("budget")
    await migrations.migrate(dsn, all_migrations())
    conn = await db.connect(dsn)
    try:
        for code in LISTED:
            await conn.execute(
                "insert into technology_replica (code, status, listed_on, version) values ($1, 'listed', $2, 1)",
                code,
                date(2020, 4, 1),
            )
        for code in RETIRED:
            await conn.execute(
                "insert into technology_replica (code, status, listed_on, retired_on, version)"
                " values ($1, 'retired', $2, $3, 2)",
                code,
                date(2020, 4, 1),
                date(2022, 10, 18),
            )
        for brn, size in FIRMS.items():
            await conn.execute(
                "insert into firm_replica (brn, size, size_since, version) values ($1, $2, $3, 1)",
                brn,
                size,
                date(2020, 1, 1),
            )
    finally:
        await conn.close()
    unreachable = f"http://127.0.0.1:{free_port()}"
    return BudgetSettings(
        database_url=dsn,
        jwt_secret=SECRET,  # type: ignore[arg-type]
        topic_prefix=topic_prefix,
        kafka_bootstrap="127.0.0.1:1",  # REST tests run without the relay
        catalog_url=unreachable,
        firms_url=unreachable,
        log_json=False,
    )


@pytest.fixture
async def budget(budget_settings: BudgetSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the budget API (no workers), authenticated as an editor."""
    app = create_app(budget_settings, with_workers=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://budget",
            headers={"Authorization": f"Bearer {token('editor')}"},
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client
