"""The pool hands connections back without asyncpg's reset query, and still loses no transaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mpe_kit import db

ROOT = Path(__file__).resolve().parents[3]


async def test_a_transaction_left_open_is_rolled_back_on_release(kit_db: str) -> None:
    pool = await db.create_pool(kit_db, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("create table pooled (n int)")
            await conn.execute("begin")
            await conn.execute("insert into pooled values (1)")
            assert conn.is_in_transaction()
        async with pool.acquire() as conn:  # the one connection again
            assert not conn.is_in_transaction()
            assert await conn.fetchval("select count(*) from pooled") == 0
    finally:
        await pool.close()


async def test_release_sends_no_reset_query(kit_db: str) -> None:
    # RESET ALL would undo a session setting; it survives the release, so no reset was sent
    # (and no borrower may rely on one: see the static check below).
    pool = await db.create_pool(kit_db, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert conn.get_reset_query() == ""
            await conn.execute("set application_name = 'left-behind'")
        async with pool.acquire() as conn:
            assert await conn.fetchval("show application_name") == "left-behind"
    finally:
        await pool.close()


# A statement that is `set x …` (not `set local`), or `set_config(…, false)`: session state a
# pooled connection would carry on to its next borrower.
SESSION_STATE = re.compile(
    r"""(execute|fetch\w*)\(\s*f?["']\s*set\s+(?!local\b)(?!transaction\b)\w|set_config\([^)]*,\s*false\)""",
    re.I,
)


@pytest.mark.unit
def test_no_source_sets_session_state() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for root in ("services", "shared")
        for path in (ROOT / root).glob("*/src/**/*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SESSION_STATE.search(line)
    ]
    assert not found, f"session-level SET on a connection that may be pooled: {found}"
    # The check itself finds what it is for.
    assert SESSION_STATE.search('await conn.execute("set search_path to x")')
    assert not SESSION_STATE.search('await conn.execute("set local search_path to x")')
    assert not SESSION_STATE.search('" set caught_up_at = excluded.caught_up_at"')
