"""Inbox pruning: rows older than the retention go, newer ones and other consumers' stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from mpe_events.registry import INDUSTRY_CREATED
from mpe_kit import db, inbox
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.status import RuntimeStatus


async def test_prune_drops_only_the_consumers_rows_older_than_the_retention(kit_db: str) -> None:
    conn = await db.connect(kit_db)
    try:
        for consumer, age_days in [("a", 40), ("a", 36), ("a", 1), ("b", 40)]:
            await conn.execute(
                "insert into inbox (consumer, event_id, topic, applied_at)"
                " values ($1, $2, 'mpe.catalog.industry', now() - make_interval(days => $3))",
                consumer,
                uuid.uuid4(),
                age_days,
            )
        assert await inbox.prune(conn, consumer="a", older_than=timedelta(days=35)) == 2
        left = await conn.fetch(
            "select consumer, applied_at > now() - interval '2 days' as recent from inbox"
        )
    finally:
        await conn.close()
    assert sorted((r["consumer"], r["recent"]) for r in left) == [("a", True), ("b", False)]


@pytest.mark.unit
def test_a_retention_not_above_the_compaction_lag_is_refused() -> None:
    with pytest.raises(ValueError, match="must exceed the topics' compaction lag"):
        ConsumerRunner(
            name="c",
            pool=None,  # type: ignore[arg-type]
            bootstrap="127.0.0.1:1",
            handlers={INDUSTRY_CREATED.type: lambda _c, _e: None},  # type: ignore[arg-type, return-value]
            status=RuntimeStatus(),
            inbox_retention=timedelta(days=7),
        )
