"""Partner API keys: 256-bit random secrets, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from gateway import repository
from mpe_kit.db import Conn

SCOPES = ("catalog:read", "firms:read", "firms:financials", "budget:read")
PREFIX = "mpe_"


@dataclass(frozen=True)
class Partner:
    """The agency behind a valid key, and what it may read."""

    key_id: uuid.UUID
    agency: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class IssuedKey:
    """A new key; `secret` exists only here."""

    id: uuid.UUID
    agency: str
    scopes: list[str]
    secret: str


def hash_key(secret: str) -> bytes:
    """What is stored of a key: a fast hash suffices for a 256-bit random secret."""
    return hashlib.sha256(secret.encode()).digest()


async def create(conn: Conn, *, agency: str, scopes: list[str]) -> IssuedKey:
    """Create a key for an agency."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}")
    if not agency.strip():
        raise ValueError("name the agency")
    secret = PREFIX + secrets.token_urlsafe(32)
    key_id = uuid.uuid4()
    await repository.insert_key(
        conn, id=key_id, agency=agency.strip(), scopes=sorted(set(scopes)), key_hash=hash_key(secret)
    )
    return IssuedKey(key_id, agency.strip(), sorted(set(scopes)), secret)


async def authenticate(conn: Conn, secret: str) -> Partner | None:
    """The partner of a live key, or None."""
    row = await repository.key_by_hash(conn, hash_key(secret))
    if row is None:
        return None
    return Partner(row["id"], row["agency"], frozenset(row["scopes"]))
