"""pytest fixtures: one real Postgres and one real Kafka broker per test session.

Each test gets its own databases and its own topic prefix, so tests never see each other's
rows or events while sharing the two servers (which take seconds to start).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn

from mpe_devstack.dev import OPS_PORT_OFFSET
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port, free_port_apart, free_port_range
from mpe_devstack.postgres import PostgresServer
from mpe_kit import migrations

# The session fixtures that start a server: a test marked `unit` may not need them, even through
# another fixture.
SERVER_FIXTURES = frozenset({"pg", "kafka"})


def free_dev_ports() -> dict[str, int]:
    """MPE_DEV_* port settings for a whole `mpe-dev` stack, on free ports no two listeners share.

    One block of seven: the four services (each with its ops port, 1000 above, free too), then
    Postgres, then Kafka and its controller. Separate draws could hand Kafka a service's ops port.
    """
    first = free_port_apart(OPS_PORT_OFFSET, count=7)
    return {
        "MPE_DEV_CATALOG_PORT": first,
        "MPE_DEV_FIRMS_PORT": first + 1,
        "MPE_DEV_BUDGET_PORT": first + 2,
        "MPE_DEV_GATEWAY_PORT": first + 3,
        "MPE_DEV_PG_PORT": first + 4,
        "MPE_DEV_KAFKA_PORT": first + 5,
    }


@contextlib.asynccontextmanager
async def uvicorn_serving(app: object, *, start_timeout_s: float = 20, **options: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in this event loop; yield its `http://127.0.0.1:<port>`.

    The socket is bound here, on a port the kernel picks, and handed to uvicorn: no other test
    (another xdist worker) can take the port between choosing it and binding it, and a failed
    bind cannot end the worker from inside uvicorn. `options` go to `uvicorn.Config`.
    """
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY on the connections it accepts only for a
    # socket whose proto says TCP, and without it each small answer waited 40 ms on a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **{"log_config": None, **options})  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(start_timeout_s):
            while not server.started:
                if task.done():
                    await task  # its error, or the exit uvicorn took instead of starting
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


def kill_leftovers(home: Path) -> list[int]:
    """SIGKILL every process of a stack under `home` that outlived its launcher: the Kafka JVM
    and Postgres run in sessions of their own, so killing the launcher's group leaves them.

    They are found by `home` in their command line (the broker's properties, the server's data
    directory) or as their working directory (Postgres's backends). Returns the pids killed.
    """
    root = str(home.resolve())
    killed = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit() or int(proc_dir.name) == os.getpid():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(proc_dir / "cwd")
        except OSError:
            continue
        if root in cmdline or cwd == root or cwd.startswith(root + "/"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc_dir.name), signal.SIGKILL)
                killed.append(int(proc_dir.name))
    return killed


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse, in every lane, a test marked `unit` whose fixtures start Postgres or Kafka."""
    wrong = [
        item.nodeid
        for item in items
        if item.get_closest_marker("unit") is not None
        and SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
    ]
    if wrong:
        raise pytest.UsageError(
            "marked `unit` but needs Postgres or Kafka (remove the marker): " + ", ".join(wrong)
        )


@pytest.fixture(scope="session")
def stack_dir() -> Iterator[Path]:
    """A directory for the session's servers, readable by the postgres OS user; removed with
    everything in it once they have stopped (their fixtures are torn down first)."""
    path = Path(tempfile.mkdtemp(prefix="mpehub-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg(stack_dir: Path) -> Iterator[PostgresServer]:
    """A throwaway Postgres cluster for the session."""
    # A throwaway cluster need not survive a power cut: skipping fsync makes CREATE DATABASE and
    # commits several times faster, which is most of a test's setup.
    durability_off = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    server = PostgresServer(
        stack_dir / "pg", port=free_port(), settings={"max_connections": "300", **durability_off}
    )
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


@pytest.fixture(scope="session")
def _templates() -> dict[str, str]:
    """Migrated template databases of this session, by purpose and migration checksums."""
    return {}


@pytest.fixture
async def migrated_database(
    pg: PostgresServer, _templates: dict[str, str]
) -> AsyncIterator[Callable[[str, list[migrations.Migration]], Awaitable[str]]]:
    """Make databases with these migrations applied, copied from a template migrated once a session.

    Copying a template takes milliseconds where migrating takes a good part of a second, and
    most tests want a fresh, migrated database of their own.
    """
    made: list[str] = []
    admin: asyncpg.Connection = await asyncpg.connect(pg.dsn("postgres"))

    async def make(purpose: str, wanted: list[migrations.Migration]) -> str:
        digest = hashlib.sha256("".join(m.checksum for m in wanted).encode()).hexdigest()[:10]
        key = f"{purpose}:{digest}"
        if key not in _templates:
            template = f"tmpl_{purpose}_{digest}"
            await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{template}"')
            await migrations.migrate(pg.dsn(template), wanted)
            _templates[key] = template
        name = f"{purpose}_{uuid.uuid4().hex[:10]}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates[key]}" STRATEGY FILE_COPY')
        made.append(name)
        return pg.dsn(name)

    try:
        yield make
    finally:
        if os.environ.get("MPE_KEEP_TEST_DBS") != "1":
            for name in made:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
