"""SIGTERM unwinds like Ctrl-C, for the tools that start servers of their own and must stop them.

Python's default for SIGTERM ends the process at once: no `finally` runs, and the Postgres and
Kafka that `make soak`, `make bench` or `make chaos` started outlive it. make, a CI's timeout
and `kill` all send SIGTERM.
"""

from __future__ import annotations

import signal


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def sigterm_unwinds() -> None:
    """From now on SIGTERM raises KeyboardInterrupt in the main thread, so cleanup runs."""
    signal.signal(signal.SIGTERM, _interrupt)
