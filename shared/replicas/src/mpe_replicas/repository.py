"""The technology replica's SQL: the only place that reads or writes `technology_replica`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from mpe_kit.db import Conn


@dataclass(frozen=True)
class ReplicaTechnology:
    """What a consuming service needs to know of a technology."""

    code: str
    status: str
    listed_on: date
    retired_on: date | None
    version: int


async def upsert(conn: Conn, t: ReplicaTechnology) -> None:
    """Store the technology unless a newer version is already there."""
    await conn.execute(
        "insert into technology_replica (code, status, listed_on, retired_on, version) values ($1, $2, $3, $4, $5)"
        " on conflict (code) do update set status = excluded.status, listed_on = excluded.listed_on,"
        " retired_on = excluded.retired_on, version = excluded.version, updated_at = now()"
        " where technology_replica.version < excluded.version",
        t.code,
        t.status,
        t.listed_on,
        t.retired_on,
        t.version,
    )


async def by_codes(conn: Conn, codes: Sequence[str]) -> dict[str, ReplicaTechnology]:
    """The replica's rows for these codes, by code."""
    rows = await conn.fetch(
        "select code, status, listed_on, retired_on, version from technology_replica where code = any($1::text[])",
        list(codes),
    )
    return {r["code"]: ReplicaTechnology(**dict(r)) for r in rows}
