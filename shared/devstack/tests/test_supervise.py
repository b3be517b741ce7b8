"""The dev runner's supervisor, over real processes: restart with backoff, give up on a crash loop."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mpe_devstack.supervise import GaveUp, RestartPolicy, Supervised, Supervisor, exit_words

FAST = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, max_crashes=3, window_s=30)


@dataclass
class Proc:
    """A service that runs a Python snippet."""

    name: str
    code: str
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def ended(self) -> str | None:
        return exit_words(self.exit_code)

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", self.code])
        self.starts += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def supervise(procs: list[Proc], said: list[str], policy: RestartPolicy = FAST) -> Supervisor:
    for p in procs:
        p.start()

    def start(svc: Supervised) -> None:
        next(p for p in procs if p.name == svc.name).start()

    return Supervisor(list(procs), start=start, say=said.append, policy=policy)


def run_for(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.02)


def test_a_crashed_service_is_restarted_and_the_others_keep_running(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    # Crashes on its first start only, as a service that met a transient fault would.
    flaky = Proc(
        "firms",
        f"import pathlib, sys, time\nm = pathlib.Path({str(marker)!r})\n"
        "if not m.exists():\n    m.touch()\n    sys.exit(3)\ntime.sleep(60)",
    )
    steady = Proc("catalog", "import time; time.sleep(60)")
    said: list[str] = []
    supervisor = supervise([flaky, steady], said)
    try:
        run_for(supervisor, 1.5)
        assert flaky.starts == 2
        assert flaky.exit_code is None
        assert steady.starts == 1
        assert steady.exit_code is None
        assert said[0].startswith("firms exited with 3; restarting it in 0.05s (exit 1 of 3 allowed in 30s)")
        assert said[1] == "restarting firms"
        assert supervisor.restarting() == []
    finally:
        flaky.stop()
        steady.stop()


def test_a_service_that_keeps_crashing_makes_it_give_up_after_backing_off() -> None:
    crashing = Proc("budget", "import sys; sys.exit(1)")
    said: list[str] = []
    supervisor = supervise([crashing], said)
    with pytest.raises(GaveUp, match="budget exited with 1, its 4th exit in 30s; giving up"):
        run_for(supervisor, 10)
    assert crashing.starts == 4
    delays = [line.split(" in ")[1].split("s ")[0] for line in said if "restarting it" in line]
    assert delays == ["0.05", "0.1", "0.2"]  # doubling, up to the cap


def test_a_held_service_is_stopped_kept_stopped_and_started_once_released(tmp_path: Path) -> None:
    hold = tmp_path / "gateway"
    gateway = Proc("gateway", "import time; time.sleep(60)")
    catalog = Proc("catalog", "import time; time.sleep(60)")
    procs = [gateway, catalog]
    for p in procs:
        p.start()
    said: list[str] = []
    supervisor = Supervisor(
        list(procs),
        start=lambda svc: next(p for p in procs if p.name == svc.name).start(),
        say=said.append,
        policy=FAST,
        held=lambda name: (tmp_path / name).exists(),
        stop=lambda svc: next(p for p in procs if p.name == svc.name).stop(),
    )
    try:
        run_for(supervisor, 0.2)
        hold.touch()
        # Held well past every restart delay: not started again, not counted as a crash.
        run_for(supervisor, 1.0)
        assert gateway.ended == "was killed by SIGKILL"
        assert (gateway.starts, supervisor.held(), supervisor.restarting()) == (1, ["gateway"], [])
        assert said == ["holding gateway: stopping it, and keeping it stopped until released"]
        hold.unlink()
        run_for(supervisor, 0.3)
        assert (gateway.starts, gateway.exit_code, supervisor.held()) == (2, None, [])
        assert said[1:] == ["released gateway: starting it"]
        assert (catalog.starts, catalog.exit_code) == (1, None)
    finally:
        gateway.stop()
        catalog.stop()


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RestartPolicy()
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.unit
def test_exit_words_say_how_a_process_ended() -> None:
    assert exit_words(None) is None
    assert exit_words(0) == "exited with 0"
    assert exit_words(3) == "exited with 3"
    assert exit_words(-9) == "was killed by SIGKILL"
    assert exit_words(-15) == "was killed by SIGTERM"
    assert exit_words(-200) == "was killed by signal 200"
