"""Partner API keys: 256-bit random secrets, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway import store
from mpe_kit.db import Conn, Pool

SCOPES = ("catalog:read", "firms:read", "firms:financials", "budget:read")
PREFIX = "mpe_"


class UnknownKey(LookupError):
    """No key has this id, or it is revoked where a live key is needed."""


@dataclass(frozen=True)
class Partner:
    """The agency behind a valid key, and what it may read."""

    key_id: uuid.UUID
    agency: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class IssuedKey:
    """A new key or a new secret for a key; `secret` exists only here."""

    id: uuid.UUID
    agency: str
    scopes: list[str]
    secret: str


@dataclass(frozen=True)
class KeyInfo:
    """What is kept of a key, without its secret."""

    id: uuid.UUID
    agency: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


def hash_key(secret: str) -> bytes:
    """What is stored of a key: a fast hash suffices for a 256-bit random secret."""
    return hashlib.sha256(secret.encode()).digest()


def _new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def parse_scopes(text: str) -> list[str]:
    """Comma-separated scopes, checked against the known ones."""
    scopes = sorted({s.strip() for s in text.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError(f"name at least one scope: {', '.join(SCOPES)}")
    return scopes


async def create(conn: Conn, *, agency: str, scopes: list[str]) -> IssuedKey:
    """Create a key for an agency."""
    checked = parse_scopes(",".join(scopes))
    if not agency.strip():
        raise ValueError("name the agency")
    secret = _new_secret()
    key_id = uuid.uuid4()
    await store.keys.insert_key(
        conn, id=key_id, agency=agency.strip(), scopes=checked, key_hash=hash_key(secret)
    )
    return IssuedKey(key_id, agency.strip(), checked, secret)


async def rotate(conn: Conn, key_id: uuid.UUID) -> IssuedKey:
    """A new secret for a live key (same id, agency and scopes); the old one stops working."""
    secret = _new_secret()
    row = await store.keys.rotate_key(conn, key_id, hash_key(secret))
    if row is None:
        raise UnknownKey(await _why_not_live(conn, key_id))
    return IssuedKey(row["id"], row["agency"], list(row["scopes"]), secret)


async def revoke(conn: Conn, key_id: uuid.UUID) -> KeyInfo:
    """Revoke a live key; what is kept of it afterwards."""
    if not await store.keys.revoke_key(conn, key_id):
        raise UnknownKey(await _why_not_live(conn, key_id))
    row = await store.keys.key_by_id(conn, key_id)
    assert row is not None
    return _info(row)


async def _why_not_live(conn: Conn, key_id: uuid.UUID) -> str:
    row = await store.keys.key_by_id(conn, key_id)
    if row is None:
        return f"no key has the id {key_id}"
    return f"key {key_id} ({row['agency']}) was revoked on {row['revoked_at']:%Y-%m-%d %H:%M:%S %Z}"


async def list_keys(conn: Conn) -> list[KeyInfo]:
    """Every key, oldest first, without secrets."""
    return [_info(r) for r in await store.keys.list_keys(conn)]


def _info(row: asyncpg.Record) -> KeyInfo:
    return KeyInfo(row["id"], row["agency"], list(row["scopes"]), row["created_at"], row["revoked_at"])


async def authenticate(conn: Conn, secret: str) -> Partner | None:
    """The partner of a live key, or None."""
    return await _by_hash(conn, hash_key(secret))


async def _by_hash(conn: Conn, key_hash: bytes) -> Partner | None:
    row = await store.keys.key_by_hash(conn, key_hash)
    if row is None:
        return None
    return Partner(row["id"], row["agency"], frozenset(row["scopes"]))


class KeyCache:
    """Key lookups (found or not) remembered for `ttl_s` at most, by the key's hash.

    A lookup's age counts from before its query, so a key revoked or rotated out in the database
    stops working here within `ttl_s` whatever the timing; 0 turns the cache off.
    """

    def __init__(
        self, *, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[float, Partner | None]] = {}

    async def authenticate(self, pool: Pool, secret: str) -> Partner | None:
        """The partner of a live key, or None; from the cache while it is fresh."""
        key_hash = hash_key(secret)
        started = self._clock()
        hit = self._entries.get(key_hash)
        if hit is not None and hit[0] > started:
            return hit[1]
        async with pool.acquire() as conn:
            partner = await _by_hash(conn, key_hash)
        if self.ttl_s > 0:
            if len(self._entries) >= self.max_entries:
                self._evict(started)
            self._entries[key_hash] = (started + self.ttl_s, partner)
        return partner

    def _evict(self, now: float) -> None:
        self._entries = {h: e for h, e in self._entries.items() if e[0] > now}
        if len(self._entries) >= self.max_entries:
            # A flood of distinct unknown keys: forgetting everything costs one query per live key.
            self._entries.clear()
