"""Partners' API keys."""

from __future__ import annotations

import uuid

import asyncpg

from mpe_kit.db import Conn

# API keys


async def insert_key(conn: Conn, *, id: uuid.UUID, agency: str, scopes: list[str], key_hash: bytes) -> None:
    """Store a new key's hash."""
    await conn.execute(
        "insert into api_keys (id, agency, scopes, key_hash) values ($1, $2, $3, $4)",
        id,
        agency,
        scopes,
        key_hash,
    )


async def key_by_hash(conn: Conn, key_hash: bytes) -> asyncpg.Record | None:
    """The live key with this hash."""
    return await conn.fetchrow(
        "select id, agency, scopes from api_keys where key_hash = $1 and revoked_at is null", key_hash
    )


async def list_keys(conn: Conn) -> list[asyncpg.Record]:
    """Every key, without secrets."""
    return await conn.fetch(
        "select id, agency, scopes, created_at, revoked_at from api_keys order by created_at"
    )


async def revoke_key(conn: Conn, id: uuid.UUID) -> bool:
    """Revoke a key; False if there is no live key with that id."""
    row = await conn.fetchrow(
        "update api_keys set revoked_at = now() where id = $1 and revoked_at is null returning id", id
    )
    return row is not None


async def key_by_id(conn: Conn, id: uuid.UUID) -> asyncpg.Record | None:
    """A key by id, live or revoked, without its hash."""
    return await conn.fetchrow(
        "select id, agency, scopes, created_at, revoked_at from api_keys where id = $1", id
    )


async def rotate_key(conn: Conn, id: uuid.UUID, key_hash: bytes) -> asyncpg.Record | None:
    """Replace a live key's hash; None if there is no live key with that id."""
    return await conn.fetchrow(
        "update api_keys set key_hash = $2 where id = $1 and revoked_at is null returning id, agency, scopes",
        id,
        key_hash,
    )
