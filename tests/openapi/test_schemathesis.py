"""schemathesis, with all its checks, against each write service's own OpenAPI document.

Each service runs behind a real HTTP server on a fresh database (no Kafka: the relay is not
started), firms and budget beside the services they read through to, and the schemathesis CLI
fuzzes every operation with a bounded number of examples.
It fails on a 5xx, on an answer the document does not describe (status, content type,
headers, body), on valid input refused and on invalid input accepted; and, checked beside it
in the server, on a request answered 4xx that changed any table of the service's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from budget.app import all_migrations as budget_migrations
from budget.app import create_app as budget_app
from budget.settings import BudgetSettings
from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from firms.app import all_migrations as firms_migrations
from firms.app import create_app as firms_app
from firms.settings import FirmsSettings
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import migrations
from mpe_kit.auth import issue_token

CONFIG = Path(__file__).with_name("schemathesis.toml")
SECRET = "schemathesis-secret-of-32-bytes-or-more"
# Examples per operation: enough to walk each operation's schema, bounded so that the three
# services take about a minute together. `make fuzz` is the longer run: FUZZ_EXAMPLES examples
# and, with FUZZ_SEED=random, a seed of schemathesis's own choosing (printed in its report).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SEED = os.environ.get("FUZZ_SEED", "20261206")

Migrate = Callable[[str, list[migrations.Migration]], Awaitable[str]]

# About 35 s a service alone at 12 examples; `make test` runs three workers on two cores, so
# allow for that. A longer run gets time in proportion.
pytestmark = pytest.mark.timeout(max(360, 30 * EXAMPLES))


@contextlib.asynccontextmanager
async def _app(service: str, migrate: Migrate) -> AsyncIterator[tuple[FastAPI, str]]:
    """The service's app and its database's DSN; for firms and budget, the services they read
    through to run beside it on fresh databases of their own, so a code or a BRN that is not
    there gets its real answer (404, so a 422) as in a deployment."""
    common: dict[str, Any] = {
        "jwt_secret": SECRET,
        "kafka_bootstrap": "127.0.0.1:1",
        "log_json": False,
        "log_level": "WARNING",
    }
    catalog_dsn = await migrate("catalog", catalog_migrations())
    catalog = catalog_app(CatalogSettings(database_url=catalog_dsn, **common), with_workers=False)
    if service == "catalog":
        yield catalog, catalog_dsn
        return
    reader = {**common, "service_token": issue_token(SECRET, sub=f"svc-{service}", roles=["viewer"])}
    async with contextlib.AsyncExitStack() as owners:
        catalog_url = await owners.enter_async_context(serving(catalog))
        firms_dsn = await migrate("firms", firms_migrations())
        firms_settings = FirmsSettings(database_url=firms_dsn, catalog_url=catalog_url, **reader)
        firms = firms_app(firms_settings, with_workers=False)
        if service == "firms":
            yield firms, firms_dsn
            return
        firms_url = await owners.enter_async_context(serving(firms))
        dsn = await migrate("budget", budget_migrations())
        budget = BudgetSettings(database_url=dsn, catalog_url=catalog_url, firms_url=firms_url, **reader)
        yield budget_app(budget, with_workers=False), dsn


# Not state but the answers given: a payment's refusal is kept under its Idempotency-Key, so that
# the same request with the same key is refused the same way (budget's disburse).
ANSWERS_KEPT = frozenset({"idempotency_keys"})


class RefusalsChangeNothing:
    """ASGI middleware: every request answered 4xx must leave the service's database as it was.

    Around each request that may write (any method but GET, HEAD, OPTIONS) it takes a digest of
    every table (the outbox among them), and compares after a 4xx. Such requests go through one at a
    time, so nothing else writes in between. Every other request asks for Korean
    (`Accept-Language: ko`), so that the answers in Korean are fuzzed as well; `korean` counts
    the problems answered in Korean.
    """

    def __init__(self, app: FastAPI, dsn: str) -> None:
        self.app, self.dsn = app, dsn
        self.refused = 0
        self.korean = 0
        self.english_left: list[str] = []  # problems to a request for Korean with English in them
        self._requests = 0
        self.changed: list[str] = []
        self._one_at_a_time = asyncio.Lock()

    async def _digest(self) -> dict[str, str]:
        conn = await asyncpg.connect(self.dsn)
        try:
            tables = await conn.fetch(
                "select quote_ident(table_name) as t from information_schema.tables"
                " where table_schema = 'public' and table_type = 'BASE TABLE'"
            )
            tables = [r for r in tables if r["t"] not in ANSWERS_KEPT]
            return {
                r["t"]: await conn.fetchval(
                    f"select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from {r['t']} x"
                )
                for r in tables
            }
        finally:
            await conn.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asks_korean = False
        if scope["type"] == "http":
            self._requests += 1
            if asks_korean := self._requests % 2 == 0:
                scope = {**scope, "headers": [*scope.get("headers", ()), (b"accept-language", b"ko")]}
        status = 0
        english = False

        async def noting(message: Message) -> None:
            nonlocal status, english
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = {k.lower(): v for k, v in message.get("headers", ())}
                if headers.get(b"content-language") == b"ko":
                    self.korean += 1
                problem = headers.get(b"content-type", b"").startswith(b"application/problem+json")
                english = asks_korean and problem and headers.get(b"content-language") != b"ko"
            elif message["type"] == "http.response.body" and english:
                body = bytes(message.get("body", b"")).decode(errors="replace")[:300]
                self.english_left.append(f"{scope['method']} {scope['path']} -> {status}: {body}")
            await send(message)

        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, noting)
            return

        # One write at a time: schemathesis may overlap requests, and another request's commit
        # inside this one's window would look like this one's change.
        async with self._one_at_a_time:
            before = await self._digest()
            await self.app(scope, receive, noting)
            if 400 <= status < 500:
                self.refused += 1
                after = await self._digest()
                if after != before:
                    tables = sorted(t for t in after if after[t] != before.get(t))
                    self.changed.append(
                        f"{scope['method']} {scope['path']} -> {status} changed {', '.join(tables)}"
                    )


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    async with uvicorn_serving(app, lifespan="on") as url:
        yield url


@pytest.mark.parametrize("service", ["catalog", "firms", "budget"])
async def test_schemathesis_finds_no_server_error_and_no_mismatch(
    service: str, migrated_database: Migrate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = issue_token(SECRET, sub="schemathesis", roles=["editor"])
    async with (
        _app(service, migrated_database) as (app, dsn),
        serving(guard := RefusalsChangeNothing(app, dsn)) as url,
    ):
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
            *(() if SEED == "random" else ("--seed", SEED)),
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
    # schemathesis's own count of test cases ("993 generated, 993 passed, 20 skipped") and its
    # seed, to the terminal even when pytest captures output (`make fuzz` shows them).
    counts = [
        line.strip() for line in report.splitlines() if "generated," in line or line.startswith("Seed:")
    ]
    with capsys.disabled():
        print(
            f"\n{service}: {'; '.join(counts)};"
            f" {guard.refused} writes refused with a 4xx, each checked to change no table;"
            f" {guard.korean} problems answered in Korean"
        )
    assert proc.returncode == 0, report
    # Refused writes were sent (the guard had something to check), and none changed anything.
    assert guard.refused > 0
    assert guard.changed == []
    assert guard.korean > 0  # the Korean answers were fuzzed too
    assert guard.english_left == []
