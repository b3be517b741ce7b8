"""Keep the dev stack's services running: restart one that exits, with backoff, and say so.

One crashed process (a service, Kafka or Postgres) no longer takes down the whole `make dev`:
it is started again after a delay that doubles with each crash (1 s, 2 s, 4 s … up to 30 s).
Only one that keeps crashing (more than `max_crashes` times within `window_s`) makes the runner
give up and stop everything, since restarting it again would only hide the fault.

A service can also be held: while `held(name)` says so, the supervisor stops it and does not
start it again; once the hold is lifted it starts it. `make dev` holds a service while the file
`.dev/hold/<service>` exists, for work that needs it stopped (`consumer reset` refuses a
consumer group that has members).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Supervised(Protocol):
    """A process the dev runner keeps running."""

    name: str

    @property
    def ended(self) -> str | None:
        """None while it runs; once it has stopped, how (`exit_words`, or "is gone")."""


def exit_words(code: int | None) -> str | None:
    """A child's `poll()` in words: None while it runs, "exited with 1", "was killed by SIGKILL"."""
    if code is None:
        return None
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with {code}"


@dataclass(frozen=True)
class RestartPolicy:
    """How soon to restart, and when to stop trying."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_crashes: int = 5
    window_s: float = 120.0

    def delay(self, crashes: int) -> float:
        """The wait before restarting after the `crashes`-th crash in the window."""
        return float(min(self.first_delay_s * 2 ** (crashes - 1), self.max_delay_s))


class GaveUp(RuntimeError):
    """A service crashed too often in too short a time."""


@dataclass
class _State:
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None
    holding: bool = False


class Supervisor:
    """Call `check` periodically: it notices exits, schedules restarts and performs them."""

    def __init__(
        self,
        services: list[Supervised],
        *,
        start: Callable[[Supervised], None],
        say: Callable[[str], None],
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_hint: Callable[[Supervised], str] = lambda _s: "",
        held: Callable[[str], bool] = lambda _name: False,
        stop: Callable[[Supervised], None] = lambda _s: None,
    ) -> None:
        self._services = services
        self._start = start
        self._held = held
        self._stop = stop
        self._say = say
        self._policy = policy or RestartPolicy()
        self._clock = clock
        self._hint = log_hint
        self._states = {s.name: _State() for s in services}

    def restarting(self) -> list[str]:
        """The services waiting to be restarted."""
        return [name for name, st in self._states.items() if st.restart_at is not None]

    def held(self) -> list[str]:
        """The services stopped and kept stopped by a hold."""
        return [name for name, st in self._states.items() if st.holding]

    def check(self) -> None:
        """Stop what is held, start what was released, restart what is due; notice what exited;
        GaveUp when a service keeps crashing."""
        now = self._clock()
        p = self._policy
        for svc in self._services:
            st = self._states[svc.name]
            if self._held(svc.name):
                if not st.holding:
                    st.holding, st.restart_at = True, None
                    self._say(f"holding {svc.name}: stopping it, and keeping it stopped until released")
                    self._stop(svc)
                continue
            if st.holding:
                st.holding = False
                self._say(f"released {svc.name}: starting it")
                self._start(svc)
                continue
            if st.restart_at is not None:
                if now >= st.restart_at:
                    st.restart_at = None
                    self._say(f"restarting {svc.name}")
                    self._start(svc)
                continue
            how = svc.ended
            if how is None:
                continue
            st.crashes = [t for t in st.crashes if now - t < p.window_s] + [now]
            n = len(st.crashes)
            if n > p.max_crashes:
                raise GaveUp(
                    f"{svc.name} {how}, its {n}th exit in {p.window_s:g}s; giving up{self._hint(svc)}"
                )
            delay = p.delay(n)
            st.restart_at = now + delay
            self._say(
                f"{svc.name} {how}; restarting it in {delay:g}s"
                f" (exit {n} of {p.max_crashes} allowed in {p.window_s:g}s){self._hint(svc)}"
            )
