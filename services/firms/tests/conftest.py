"""Firms fixtures: the app on a fresh database whose technology replica is pre-filled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date

import httpx
import pytest
from asgi_lifespan import LifespanManager

from firms.app import all_migrations, create_app
from firms.settings import FirmsSettings
from mpe_devstack.ports import free_port
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token

SECRET = "firms-test-secret-of-32-bytes-or-more"

# Technologies the replica knows: listed ones, and one retired.
LISTED = ["SEMI-001", "SEMI-002", "DISP-001", "AUTO-001"]
RETIRED = ["SEMI-099"]


def token(*roles: str, sub: str = "tester") -> str:
    """A staff token signed with the test secret."""
    return issue_token(SECRET, sub=sub, roles=list(roles))


def valid_brn(first_nine: str) -> str:
    """A BRN with the right check digit."""
    from firms.domain import brn_check_digit

    return first_nine + str(brn_check_digit(first_nine))


@pytest.fixture
async def firms_settings(new_database: Callable[[str], str], topic_prefix: str) -> FirmsSettings:
    dsn = new_database("firms")
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
    finally:
        await conn.close()
    return FirmsSettings(
        database_url=dsn,
        jwt_secret=SECRET,  # type: ignore[arg-type]
        topic_prefix=topic_prefix,
        kafka_bootstrap="127.0.0.1:1",  # REST tests run without the relay
        # No catalog listens here: a replica miss must fail as "unreachable", never pass.
        catalog_url=f"http://127.0.0.1:{free_port()}",
        log_json=False,
    )


@pytest.fixture
async def firms(firms_settings: FirmsSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the firms API (no workers), authenticated as an editor."""
    app = create_app(firms_settings, with_workers=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://firms",
            headers={"Authorization": f"Bearer {token('editor')}"},
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client
