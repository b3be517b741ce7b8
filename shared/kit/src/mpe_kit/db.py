"""The asyncpg pool, with JSON codecs so jsonb columns read and write Python objects."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Pool = asyncpg.Pool
# What a repository function takes: a bare connection or one borrowed from a pool.
Conn = asyncpg.Connection | PoolConnectionProxy

# Postgres rolled the transaction back so that a concurrent one could go on (a deadlock, SQLSTATE
# 40P01, or a serialization failure, 40001): it wrote nothing, and running it again may succeed.
ROLLED_BACK_FOR_ANOTHER: tuple[type[BaseException], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)

# The database connection is gone, or cannot be made right now (a restart, a terminated backend).
_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, and the connection closing mid-query
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    ConnectionError,  # refused or reset while the pool connects
    # What asyncpg raises when an idle pooled connection was terminated by the server: it
    # read the server's farewell while idle and cannot start the next query.
    asyncpg.InternalClientError,
)


def is_connection_lost(exc: BaseException) -> bool:
    """Whether an error means the database connection is gone (or cannot be made right now)."""
    if isinstance(exc, _LOST):
        return True
    # asyncpg's own words for a pooled connection that was closed under it.
    return isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)


def statement_timed_out(error: BaseException) -> bool:
    """Whether Postgres stopped a statement at the connection's `statement_timeout`."""
    return isinstance(error, asyncpg.QueryCanceledError) and "statement timeout" in str(error)


async def without_statement_timeout(conn: Conn) -> None:
    """Lift the connection's `statement_timeout` until this transaction ends (work that must finish)."""
    await conn.execute("set local statement_timeout = 0")


async def _init(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ,
            encoder=lambda v: json.dumps(v, ensure_ascii=False, default=str),
            decoder=json.loads,
            schema="pg_catalog",
        )


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection with the JSON codecs installed."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    await _init(conn)
    return conn


class PooledConnection(asyncpg.Connection):
    """A pooled connection, handed back without asyncpg's reset query.

    On release asyncpg would send `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, a
    round trip that cost a cold GraphQL answer about 0.2 ms of Postgres CPU and 0.1 ms of the
    gateway's (docs/measurements.md). Nothing this project runs on a pooled connection leaves
    session state behind: every SET is `set local`, every lock a transaction's, every cursor
    inside a transaction; LISTEN and session advisory locks (relay leadership, the change hub,
    migrations) have connections of their own. A transaction left open is still rolled back on
    release: asyncpg does that whatever the reset query is.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    statement_cache_size: int = 100,
    server_settings: dict[str, str] | None = None,
) -> Pool:
    """A pool whose connections carry the JSON codecs (statement cache 0 behind PgBouncer).

    Its connections hold no session state between borrowers (see `PooledConnection`).
    `server_settings` are Postgres settings sent when each connection opens (a service's
    `db_server_settings()`), so they hold for the connection's life and every plan made on it.
    """
    pool: Any = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init,
        statement_cache_size=statement_cache_size,
        connection_class=PooledConnection,
        server_settings=server_settings,
    )
    assert pool is not None
    return pool  # type: ignore[no-any-return]
