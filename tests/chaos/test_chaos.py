"""The two-minute chaos run: three brokers, every service as real processes, every kind of fault.

`make chaos` runs the same scenario for ten minutes (shared/devstack/src/mpe_devstack/chaos/).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpe_devstack import chaos
from mpe_devstack.ports import free_port_range, port_is_listening


@pytest.fixture
def home() -> Iterator[Path]:
    """The run's directory, outside pytest's tmp root.

    Another pytest session on the machine resets /tmp/pytest-of-<user> to 0700, which would lock
    the postgres OS user out of its data directory half-way through the run.
    """
    path = Path(tempfile.mkdtemp(prefix="mpehub-chaos-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# Start-up (about a minute on a loaded machine), two minutes of faults, catch-up, verdict, stop.
@pytest.mark.timeout(600)
def test_nothing_lost_nothing_twice_under_faults(home: Path) -> None:
    """Writes, events and the read model survive each fault, and every process is gone after."""
    first_port = free_port_range(11)

    result = chaos.run(
        home, duration_s=120, per_minute=300, seed_value=13, catch_up_timeout_s=180, first_port=first_port
    )

    print(result.table())
    assert {f.kind for f in result.faults} == set(chaos.FAULTS)
    assert sum(1 for w in result.writes if w.status is not None and 200 <= w.status < 300) > 100
    assert result.unproven() == [], result.details()  # every service written to, no writer dead
    v = result.verdict
    assert (v.missing_writes, v.unsent, v.missing_events, v.mismatched_rows) == ([], [], [], []), (
        result.details()
    )
    assert v.duplicates == [], result.details()
    # The feed's seq is consecutive, also across a projector killed mid-batch and a Postgres
    # restart (the ten-minute run once found a gap there; docs/measurements.md).
    assert v.seq_gaps == [], result.details()
    assert v.ok, result.details()
    assert result.passed, result.details()
    assert result.catch_up_s is not None
    assert result.drain_s is not None
    assert v.messages >= v.events > 0
    assert not [p for p in range(first_port, first_port + 11) if port_is_listening("127.0.0.1", p)]
