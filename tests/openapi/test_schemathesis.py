"""schemathesis, with all its checks, against each write service's own OpenAPI document.

Each service runs behind a real HTTP server on a fresh database (no Kafka: the relay is not
started), and the schemathesis CLI fuzzes every operation with a bounded number of examples.
It fails on a 5xx, on an answer the document does not describe (status, content type,
headers, body), on valid input refused and on invalid input accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from budget.app import all_migrations as budget_migrations
from budget.app import create_app as budget_app
from budget.settings import BudgetSettings
from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from firms.app import all_migrations as firms_migrations
from firms.app import create_app as firms_app
from firms.settings import FirmsSettings
from mpe_devstack.ports import free_port
from mpe_kit import migrations
from mpe_kit.auth import issue_token

CONFIG = Path(__file__).with_name("schemathesis.toml")
SECRET = "schemathesis-secret-of-32-bytes-or-more"
# Examples per operation: enough to walk each operation's schema, bounded so that the three
# services take about a minute together.
EXAMPLES = 12

Migrate = Callable[[str, list[migrations.Migration]], Awaitable[str]]

# About 35 s a service alone; `make test` runs three workers on two cores, so allow for that.
pytestmark = pytest.mark.timeout(360)


async def _app(service: str, migrate: Migrate) -> FastAPI:
    common = {
        "jwt_secret": SECRET,
        "kafka_bootstrap": "127.0.0.1:1",
        "log_json": False,
        "log_level": "WARNING",
    }
    # Nothing listens there: a replica miss answers "unreachable" (503, documented) at once.
    nowhere = f"http://127.0.0.1:{free_port()}"
    if service == "catalog":
        return catalog_app(
            CatalogSettings(database_url=await migrate("catalog", catalog_migrations()), **common),  # type: ignore[arg-type]
            with_workers=False,
        )
    if service == "firms":
        return firms_app(
            FirmsSettings(
                database_url=await migrate("firms", firms_migrations()), catalog_url=nowhere, **common
            ),  # type: ignore[arg-type]
            with_workers=False,
        )
    return budget_app(
        BudgetSettings(
            database_url=await migrate("budget", budget_migrations()),
            catalog_url=nowhere,
            firms_url=nowhere,
            **common,  # type: ignore[arg-type]
        ),
        with_workers=False,
    )


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("service", ["catalog", "firms", "budget"])
async def test_schemathesis_finds_no_server_error_and_no_mismatch(
    service: str, migrated_database: Migrate, tmp_path: Path
) -> None:
    app = await _app(service, migrated_database)
    token = issue_token(SECRET, sub="schemathesis", roles=["editor"])
    async with serving(app) as url:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(CONFIG),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "20261206",
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--no-color",
            "--header",
            f"Authorization: Bearer {token}",
            "--report-dir",
            str(tmp_path),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report
