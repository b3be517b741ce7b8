"""The throwaway Postgres launcher: a real server, as the postgres user, on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from mpe_devstack.ports import free_port, port_is_listening
from mpe_devstack.postgres import PostgresServer, find_pg_bin


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("pg") / "data", port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_find_pg_bin_has_the_server_tools() -> None:
    bin_dir = find_pg_bin()
    assert (bin_dir / "initdb").is_file()
    assert (bin_dir / "postgres").is_file()


def test_dsn_points_at_our_port(pg: PostgresServer) -> None:
    assert pg.dsn("svc_x") == f"postgresql://postgres@127.0.0.1:{pg.port}/svc_x"
    assert pg.port != 5432


async def test_create_database_and_query_with_asyncpg(pg: PostgresServer) -> None:
    pg.create_database("devstack_check")
    pg.create_database("devstack_check")  # idempotent
    conn = await asyncpg.connect(pg.dsn("devstack_check"))
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_database()") == "devstack_check"
        assert await conn.fetchval("select current_user") == "postgres"
        assert await conn.fetchval("show server_encoding") == "UTF8"
        assert await conn.fetchval("show lc_collate") == "C"
    finally:
        await conn.close()


async def test_drop_database_closes_connections(pg: PostgresServer) -> None:
    pg.create_database("devstack_drop me")
    conn = await asyncpg.connect(pg.dsn("devstack_drop me"))
    try:
        pg.drop_database("devstack_drop me")
    finally:
        await conn.close()
    assert not pg.database_exists("devstack_drop me")
    pg.drop_database("devstack_drop me")  # no error when already gone


def test_restart_keeps_the_cluster(pg: PostgresServer) -> None:
    pg.create_database("devstack_keep")
    pg.stop()
    assert not port_is_listening(pg.host, pg.port)
    pg.start()
    assert pg.database_exists("devstack_keep")


def test_long_paths_fall_back_to_a_short_socket_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "data"
    server = PostgresServer(deep, port=free_port())
    try:
        server.start()
        server.create_database("deep")
        assert server.database_exists("deep")
    finally:
        server.stop()
    assert not port_is_listening(server.host, server.port)


def test_stop_frees_the_port(pg: PostgresServer) -> None:
    assert port_is_listening(pg.host, pg.port)
    pg.stop()
    assert not port_is_listening(pg.host, pg.port)
    pg.stop()  # idempotent
