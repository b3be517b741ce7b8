"""`make dev` refuses ports it cannot use, before it starts anything, saying which and why.

CI once drew Kafka's port at random and got the budget service's ops port (its port + 1000):
Kafka started, then the budget service died at its bind with only "exited with 3".
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mpe_devstack.dev import OPS_PORT_OFFSET, DevSettings, dev_ports, port_problem
from mpe_devstack.testing import free_dev_ports, kill_leftovers

pytestmark = pytest.mark.unit


def _settings(**ports: int) -> DevSettings:
    return DevSettings(**{k.removeprefix("MPE_DEV_").lower(): v for k, v in ports.items()})


def test_free_dev_ports_are_distinct_and_the_stack_accepts_them() -> None:
    settings = _settings(**free_dev_ports())
    ports = list(dev_ports(settings).values())
    assert len(ports) == 11  # Postgres, Kafka and its controller, four services and their ops ports
    assert len(set(ports)) == len(ports)
    assert port_problem(settings) is None


def test_kafka_on_a_services_ops_port_is_refused_naming_both() -> None:
    ports = free_dev_ports()
    ports["MPE_DEV_KAFKA_PORT"] = ports["MPE_DEV_BUDGET_PORT"] + OPS_PORT_OFFSET
    problem = port_problem(_settings(**ports))
    assert problem is not None
    assert "Kafka (MPE_DEV_KAFKA_PORT)" in problem
    assert f"budget's ops listener (MPE_DEV_BUDGET_PORT + {OPS_PORT_OFFSET})" in problem
    assert str(ports["MPE_DEV_KAFKA_PORT"]) in problem


def test_two_services_on_one_port_are_refused() -> None:
    ports = free_dev_ports()
    ports["MPE_DEV_FIRMS_PORT"] = ports["MPE_DEV_CATALOG_PORT"]
    problem = port_problem(_settings(**ports))
    assert problem is not None
    assert "catalog (MPE_DEV_CATALOG_PORT) and firms (MPE_DEV_FIRMS_PORT)" in problem


def test_an_ops_port_past_65535_is_refused() -> None:
    ports = free_dev_ports()
    ports["MPE_DEV_GATEWAY_PORT"] = 65000
    problem = port_problem(_settings(**ports))
    assert problem is not None
    assert "gateway's ops listener" in problem
    assert "66000, outside 1-65535" in problem


def test_a_port_in_use_is_refused_naming_its_listener() -> None:
    ports = free_dev_ports()
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", ports["MPE_DEV_PG_PORT"]))
        held.listen()
        problem = port_problem(_settings(**ports))
    assert problem is not None
    assert f"port {ports['MPE_DEV_PG_PORT']}, for Postgres (MPE_DEV_PG_PORT), is already in use" in problem


def _wait_for_command_line(pid: int, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
        assert time.monotonic() < deadline, f"process {pid} never showed {text!r} in its command line"
        time.sleep(0.01)


def test_kill_leftovers_kills_what_runs_in_or_names_the_stack_and_nothing_else(tmp_path: Path) -> None:
    home = tmp_path / "dev"
    (home / "pg").mkdir(parents=True)
    # A broker names its properties under the stack in its command line.
    naming = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(home / "kafka")])
    inside = subprocess.Popen(["sleep", "60"], cwd=home / "pg")  # a Postgres backend's cwd
    other = subprocess.Popen(["sleep", "60"], cwd=tmp_path)
    try:
        # Popen returns once the child's exec has begun, a moment before the kernel sets its new
        # command line: until then /proc shows it empty (CI caught kill_leftovers in that moment).
        _wait_for_command_line(naming.pid, str(home / "kafka"))
        killed = kill_leftovers(home)
        assert sorted(killed) == sorted([naming.pid, inside.pid])
        assert naming.wait(5) == -9
        assert inside.wait(5) == -9
        assert other.poll() is None
    finally:
        for p in (naming, inside, other):
            p.kill()
            p.wait()
