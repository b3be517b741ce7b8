"""Least privilege: the owner migrates, the runtime role may change rows and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg
import pytest

from mpe_devstack.postgres import PostgresServer
from mpe_kit import migrations


async def test_runtime_role_gets_dml_but_no_ddl(
    pg: PostgresServer, new_database: Callable[[str], str]
) -> None:
    dsn = new_database("roles")
    role = f"rt_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f"create role {role} login password 'runtime-pw'")
    finally:
        await admin.close()

    await migrations.migrate(dsn, migrations.kit_migrations(), runtime_role=role)

    runtime_dsn = dsn.replace("postgres@", f"{role}:runtime-pw@", 1)
    assert runtime_dsn != dsn
    conn = await asyncpg.connect(runtime_dsn)
    try:
        await conn.execute(
            "insert into inbox (consumer, event_id, topic) values ('c', $1, 't')", uuid.uuid4()
        )
        assert await conn.fetchval("select count(*) from inbox") == 1
        await conn.execute("delete from inbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("create table sneaky (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("drop table inbox")
    finally:
        await conn.close()


async def test_a_runtime_role_that_does_not_exist_is_named_and_the_migrations_stay(
    pg: PostgresServer, new_database: Callable[[str], str]
) -> None:
    # Found by a review: a traceback (UndefinedObjectError) that did not say the files had run.
    dsn = new_database("roles")
    with pytest.raises(
        migrations.MigrationError, match=r"migration\(s\) applied, but the runtime role 'rt_typo'"
    ):
        await migrations.migrate(dsn, migrations.kit_migrations(), runtime_role="rt_typo")
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("select count(*) from schema_migrations") == len(
            migrations.kit_migrations()
        )
    finally:
        await conn.close()
