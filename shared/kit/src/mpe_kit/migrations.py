"""Plain-SQL migrations, applied in order under an advisory lock.

Why not Alembic or yoyo: both sit on a synchronous driver (SQLAlchemy, psycopg) that the
services do not otherwise use, and our migrations are plain SQL files. What we need is small:
apply numbered files once each, in one transaction each, never twice when several instances
start together (the advisory lock), and refuse to run when an applied file was edited (the
checksum).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from mpe_kit.db import Conn
from mpe_kit.logging import get_logger

log = get_logger("mpe.migrations")

_LOCK_KEY = 0x6D70_6501  # any constant: all services' runners in one database share it
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migration history and the files disagree."""


@dataclass(frozen=True)
class Migration:
    """One SQL file of one namespace."""

    namespace: str
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """`namespace/NNNN_name`, as ops find the file."""
        return f"{self.namespace}/{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text, to notice edits of applied files."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(namespace: str, directory: Path) -> list[Migration]:
    """The migrations in a directory, in version order."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path}: migration files are named NNNN_snake_name.sql")
        found.append(Migration(namespace, int(m[1]), m[2], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two migrations share a version number")
    return found


def kit_migrations() -> list[Migration]:
    """The platform's own tables: outbox and inbox."""
    return load("kit", Path(str(resources.files("mpe_kit") / "sql")))


_CREATE = """
create table if not exists schema_migrations (
    namespace text not null,
    version int not null,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now(),
    primary key (namespace, version)
)
"""


async def _applied(conn: Conn) -> dict[tuple[str, int], str]:
    exists = await conn.fetchval("select to_regclass('schema_migrations') is not null")
    if not exists:
        return {}
    rows = await conn.fetch("select namespace, version, checksum from schema_migrations")
    return {(r["namespace"], r["version"]): r["checksum"] for r in rows}


def _check(applied: dict[tuple[str, int], str], migrations: list[Migration]) -> list[Migration]:
    pending = []
    for m in migrations:
        checksum = applied.get((m.namespace, m.version))
        if checksum is None:
            pending.append(m)
        elif checksum != m.checksum:
            raise MigrationError(f"migration {m.label} was edited after it was applied")
    return pending


async def pending(conn: Conn, migrations: list[Migration]) -> list[Migration]:
    """The migrations not applied yet (for readiness)."""
    return _check(await _applied(conn), migrations)


# How long one try of a file waits for a lock, and how many tries it gets. A DDL statement that
# waits for a table's lock makes every later reader of that table wait behind it: while the old
# release still serves, a short wait given up and tried again stalls nobody for long.
LOCK_TIMEOUT_S = 5.0
LOCK_TRIES = 6


def _described(exc: asyncpg.PostgresError) -> str:
    """A Postgres error with its detail and hint (which rows, what to do), as ops need it."""
    text = f"{type(exc).__name__}: {exc}"
    for part in ("detail", "hint"):
        value = getattr(exc, part, None)
        if value:
            text += f" ({part.upper()}: {value})"
    return text


async def _apply(conn: Conn, m: Migration, *, lock_timeout_s: float, tries: int) -> None:
    """One file in one transaction, tried again when it could not get its locks in time."""
    for attempt in range(1, tries + 1):
        try:
            async with conn.transaction():
                await conn.execute(f"set local lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
                await conn.execute(m.sql)
                await conn.execute(
                    "insert into schema_migrations (namespace, version, name, checksum) values ($1, $2, $3, $4)",
                    m.namespace,
                    m.version,
                    m.name,
                    m.checksum,
                )
            return
        except asyncpg.LockNotAvailableError as exc:
            if attempt == tries:
                raise MigrationError(
                    f"migration {m.label} could not take its locks in {tries} tries of"
                    f" {lock_timeout_s:g} s: a long transaction holds a table it changes; it was"
                    " rolled back (what came before it stays applied), run migrate again once that"
                    f" transaction ends ({_described(exc)})"
                ) from exc
            delay = min(2.0 ** (attempt - 1), 30.0)
            log.warning("migration waits for a lock", migration=m.label, attempt=attempt, retry_in_s=delay)
            await asyncio.sleep(delay)
        except asyncpg.PostgresError as exc:
            if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.AdminShutdownError):
                raise
            raise MigrationError(
                f"migration {m.label} failed and was rolled back (what came before it stays applied):"
                f" {_described(exc)}"
            ) from exc


async def migrate(
    dsn: str,
    migrations: list[Migration],
    *,
    runtime_role: str | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
    lock_tries: int = LOCK_TRIES,
) -> list[Migration]:
    """Apply what is pending, one transaction per file; return what was applied.

    Each file waits at most `lock_timeout_s` for a lock, and is tried `lock_tries` times. With
    `runtime_role`, that role is then granted DML (and no DDL) on every table and sequence.
    """
    conn: Conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(_CREATE)
            todo = _check(await _applied(conn), migrations)
            for m in todo:
                await _apply(conn, m, lock_timeout_s=lock_timeout_s, tries=lock_tries)
                log.info("migration applied", namespace=m.namespace, version=m.version, name=m.name)
            if runtime_role is not None:
                try:
                    await grant_runtime(conn, runtime_role)
                except asyncpg.UndefinedObjectError as exc:
                    raise MigrationError(
                        f"{len(todo)} migration(s) applied, but the runtime role {runtime_role!r} does"
                        " not exist, so nothing was granted to it: create the role (or fix"
                        " DATABASE_RUNTIME_ROLE) and run migrate again"
                    ) from exc
            return todo
        finally:
            await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


async def grant_runtime(conn: Conn, role: str) -> None:
    """Let `role` read and write rows of every table and use every sequence; nothing more.

    Run by the owner after each migration run, so tables added later are covered too. LISTEN,
    NOTIFY and advisory locks need no grant.
    """
    quoted = await conn.fetchval("select quote_ident($1)", role)
    async with conn.transaction():
        await conn.execute(f"grant usage on schema public to {quoted}")
        await conn.execute(f"grant select, insert, update, delete on all tables in schema public to {quoted}")
        await conn.execute(f"grant usage, select, update on all sequences in schema public to {quoted}")
    log.info("runtime role granted", role=role)
