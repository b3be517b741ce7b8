"""The two-minute chaos run: three brokers, every service as real processes, every kind of fault.

`make chaos` runs the same scenario for ten minutes (shared/devstack/src/mpe_devstack/chaos.py).
"""

from __future__ import annotations

from pathlib import Path

from mpe_devstack import chaos
from mpe_devstack.ports import free_port_range, port_is_listening


def test_nothing_lost_nothing_twice_under_faults(tmp_path: Path) -> None:
    """Writes, events and the read model survive each fault, and every process is gone after."""
    home = tmp_path / "chaos"
    home.mkdir()
    home.chmod(0o755)
    first_port = free_port_range(11)

    result = chaos.run(
        home, duration_s=120, per_minute=300, seed_value=13, catch_up_timeout_s=180, first_port=first_port
    )

    print(result.table())
    assert {f.kind for f in result.faults} == set(chaos.FAULTS)
    assert sum(1 for w in result.writes if w.status is not None and 200 <= w.status < 300) > 100
    assert result.verdict.ok, result.details()
    assert result.catch_up_s is not None
    assert result.verdict.events > 0
    assert not [p for p in range(first_port, first_port + 11) if port_is_listening("127.0.0.1", p)]
