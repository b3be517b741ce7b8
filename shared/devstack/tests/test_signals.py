"""SIGTERM unwinds through `finally`, as Ctrl-C does, once a tool asks for it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

CHILD = """
import sys, time
from pathlib import Path
from mpe_devstack.signals import sigterm_unwinds
if sys.argv[2] == "unwinds":
    sigterm_unwinds()
try:
    print("ready", flush=True)
    time.sleep(30)
except KeyboardInterrupt as exc:
    Path(sys.argv[1]).with_suffix(".why").write_text(str(exc))
    raise SystemExit(130)
finally:
    Path(sys.argv[1]).write_text("cleaned up")
"""


def _terminated(tmp_path: Path, mode: str) -> tuple[int, Path]:
    marker = tmp_path / f"{mode}.txt"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), mode], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    return child.wait(timeout=10), marker


def test_sigterm_runs_the_cleanup_of_a_tool_that_asked(tmp_path: Path) -> None:
    code, marker = _terminated(tmp_path, "unwinds")
    assert code == 130
    assert marker.read_text() == "cleaned up"
    assert marker.with_suffix(".why").read_text() == "SIGTERM"


def test_without_it_sigterm_skips_the_cleanup(tmp_path: Path) -> None:
    code, marker = _terminated(tmp_path, "default")
    assert code == -signal.SIGTERM
    assert not marker.exists()
