"""docs/consumer-guide.md keeps in step with the registry: every topic, its partitions and every event type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mpe_events.registry import EVENT_TYPES
from mpe_events.topics import TOPICS, compaction_lag_ms

pytestmark = pytest.mark.unit

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "consumer-guide.md"


def test_the_guide_lists_every_topic_with_its_partitions_and_event_types() -> None:
    text = GUIDE.read_text()
    rows = {
        m[0]: m for m in re.findall(r"^\| `([a-z._]+)` \| (\w+) \| (\d+) \| [^|]+ \| (.+) \|$", text, re.M)
    }
    assert set(rows) == set(TOPICS)
    for name, spec in TOPICS.items():
        _, publisher, partitions, types = rows[name]
        assert (publisher, int(partitions)) == (spec.publisher, spec.partitions)
        listed = set(re.findall(r"`([a-z0-9._]+)`", types))
        assert listed == {t for t, e in EVENT_TYPES.items() if e.topic.name == name}


def test_the_guide_states_the_compaction_lag_in_force() -> None:
    days = {compaction_lag_ms(spec) // (24 * 60 * 60 * 1000) for spec in TOPICS.values()}
    assert days == {7}
    assert "**`min.compaction.lag.ms` = 7 days**" in GUIDE.read_text()
