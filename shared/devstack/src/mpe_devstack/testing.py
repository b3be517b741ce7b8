"""pytest fixtures: one real Postgres and one real Kafka broker per test session.

Each test gets its own databases and its own topic prefix, so tests never see each other's
rows or events while sharing the two servers (which take seconds to start).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port, free_port_range
from mpe_devstack.postgres import PostgresServer


@pytest.fixture(scope="session")
def stack_dir() -> Path:
    """A directory for the session's servers, readable by the postgres OS user."""
    path = Path(tempfile.mkdtemp(prefix="mpehub-test-"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def pg(stack_dir: Path) -> Iterator[PostgresServer]:
    """A throwaway Postgres cluster for the session."""
    server = PostgresServer(stack_dir / "pg", port=free_port(), settings={"max_connections": "300"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka(stack_dir: Path) -> Iterator[KafkaCluster]:
    """A one-node KRaft broker for the session."""
    cluster = KafkaCluster(stack_dir / "kafka", nodes=1, base_port=free_port_range(2))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def new_database(pg: PostgresServer) -> Iterator[Callable[[str], str]]:
    """Make empty databases for this test; returns their DSNs; drops them afterwards."""
    made: list[str] = []

    def make(purpose: str) -> str:
        name = f"{purpose}_{uuid.uuid4().hex[:10]}"
        pg.create_database(name)
        made.append(name)
        return pg.dsn(name)

    yield make
    if os.environ.get("MPE_KEEP_TEST_DBS") != "1":
        for name in made:
            pg.drop_database(name)


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}."
