"""Catalog fixtures: the app on a fresh database, with tokens for each role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date

import httpx
import pytest
from asgi_lifespan import LifespanManager

from catalog.app import all_migrations, create_app
from catalog.settings import CatalogSettings
from mpe_kit import migrations
from mpe_kit.auth import issue_token

SECRET = "test-secret-of-at-least-32-bytes-long!"


@pytest.fixture
async def catalog_settings(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]], topic_prefix: str
) -> CatalogSettings:
    dsn = await migrated_database("catalog", all_migrations())
    return CatalogSettings(
        database_url=dsn,
        jwt_secret=SECRET,  # type: ignore[arg-type]
        topic_prefix=topic_prefix,
        kafka_bootstrap="127.0.0.1:1",  # REST tests run without the relay
        log_json=False,
    )


@pytest.fixture
async def catalog(catalog_settings: CatalogSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the catalog API (no relay), authenticated as an editor."""
    app = create_app(catalog_settings, with_workers=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://catalog",
            headers={"Authorization": f"Bearer {token('editor')}"},
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def token(*roles: str, sub: str = "tester") -> str:
    """A staff token signed with the test secret."""
    return issue_token(SECRET, sub=sub, roles=list(roles))


def fixed_clock(day: date) -> Callable[[], date]:
    """A clock that always says `day` (Seoul)."""
    return lambda: day
