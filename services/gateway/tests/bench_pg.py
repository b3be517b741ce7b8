"""What the gateway's benchmark scripts share: a throwaway Postgres holding the read model's tables."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.app import all_migrations
from mpe_devstack.ports import free_port
from mpe_devstack.postgres import PostgresServer
from mpe_kit import migrations


@contextlib.asynccontextmanager
async def read_model(name: str = "bench") -> AsyncIterator[tuple[PostgresServer, str]]:
    """A Postgres in a temporary directory (fsync off) with the database `name` migrated as the
    gateway's: the server (for more databases) and that database's DSN. Stopped on the way out."""
    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(Path(tmp) / "pg", port=free_port(), settings={"fsync": "off"})
        server.start()
        try:
            server.create_database(name)
            dsn = server.dsn(name)
            await migrations.migrate(dsn, all_migrations())
            yield server, dsn
        finally:
            server.stop()
