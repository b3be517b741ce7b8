"""`make chaos`: the whole system on a three-broker cluster, under steady writes and scheduled faults.

Starts one Postgres (a database per service), a three-node KRaft cluster (replication 3,
min.insync.replicas 2), each write service as one API process plus two worker processes (two
relay instances: one leader, one standby), and the gateway as an API process plus a projector
process. Three writer threads post through the REST APIs; a fault thread injects faults in
turn; at the end the verdict compares every database and prints a table. Every process it
started is stopped on the way out, whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mpe_devstack.chaos.common import FAULT_GAP_S, FAULTS, WRITE_SERVICES, _say
from mpe_devstack.chaos.faults import Fault, inject
from mpe_devstack.chaos.stack import running_stack
from mpe_devstack.chaos.verdict import Verdict, _outbox_ids, judge, wait_caught_up
from mpe_devstack.chaos.writes import Ledger, Write, seed, writer
from mpe_devstack.signals import sigterm_unwinds

# -- the run ----------------------------------------------------------------------------------


@dataclass
class Result:
    """A run's outcome: the faults, the writes, the verdict and the catch-up time."""

    faults: list[Fault]
    writes: list[Write]
    verdict: Verdict
    catch_up_s: float | None
    # Seconds from the writers' stop until every outbox event was in the gateway's inbox.
    drain_s: float | None = None
    # The writers' asked pace, all services together, to set the pace they made against.
    asked_per_minute: float | None = None
    # Writers that stopped on an error, by service.
    writers_died: dict[str, str] = field(default_factory=dict)

    def table(self) -> str:
        """The short table the run prints."""
        answered = sum(1 for w in self.writes if w.status is not None and 200 <= w.status < 300)
        kinds = ", ".join(f"{k} {sum(1 for f in self.faults if f.kind == k)}" for k in FAULTS)
        catch_up = f"{self.catch_up_s:.1f} s" if self.catch_up_s is not None else "did not catch up"
        rows = [
            ("faults injected", f"{len(self.faults)} ({kinds})"),
            ("writes", f"{len(self.writes)} ({answered} answered 2xx, {self._refused()})"),
            ("writes a minute", self._pace()),
            ("events", f"{self.verdict.events} ({self.verdict.messages} messages on Kafka)"),
            ("lost", str(self.verdict.lost)),
            ("duplicated", str(len(self.verdict.duplicates))),
            (
                "feed seq gaps",
                f"{len(self.verdict.seq_gaps)} ({len(self.verdict.explained_gaps)} at a rolled-back batch)",
            ),
            ("catch-up after the last fault", catch_up),
            (
                "drained after the writes stopped",
                f"{self.drain_s:.1f} s" if self.drain_s is not None else "no",
            ),
            ("verdict", "PASS" if self.passed else "FAIL"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k.ljust(width)}  {val}" for k, val in rows)

    def unproven(self) -> list[str]:
        """Why the run proves nothing, whatever the verdict: a service never written to (or its
        writer dead), a fault kind never injected."""
        found = [f"the {svc} writer stopped: {err}" for svc, err in sorted(self.writers_died.items())]
        for svc in WRITE_SERVICES:
            if not any(
                w.service == svc and w.status is not None and 200 <= w.status < 300 for w in self.writes
            ):
                found.append(f"no write to {svc} was answered 2xx")
        found += [
            f"no {kind} fault was injected" for kind in FAULTS if all(f.kind != kind for f in self.faults)
        ]
        return found

    @property
    def passed(self) -> bool:
        """Nothing lost or twice, no gap, the gateway caught up, and the run tested something."""
        return (
            self.verdict.ok
            and self.catch_up_s is not None
            and self.drain_s is not None
            and not self.unproven()
        )

    def _pace(self) -> str:
        """Writes a minute from the first write sent to the last, and the pace asked."""
        span = max((w.at for w in self.writes), default=0.0) - min((w.at for w in self.writes), default=0.0)
        made = f"{len(self.writes) * 60 / span:.0f}" if span > 0 else "-"
        return made if self.asked_per_minute is None else f"{made} (asked {self.asked_per_minute:.0f})"

    def _refused(self) -> str:
        """The other answers, by kind: refusals during an outage are expected, and never counted as lost."""
        kinds = {"4xx": 0, "5xx": 0, "no answer": 0}
        for w in self.writes:
            if w.status is None:
                kinds["no answer"] += 1
            elif w.status >= 500:
                kinds["5xx"] += 1
            elif w.status >= 400:
                kinds["4xx"] += 1
        return ", ".join(f"{n} {k}" for k, n in kinds.items())

    def details(self, limit: int = 20) -> str:
        """The first few findings of each kind, for a failed run."""
        out: list[str] = [f"not a test: {why}" for why in self.unproven()]
        v = self.verdict
        for name, items in (
            ("write answered 2xx but not in its database", v.missing_writes),
            ("outbox event never sent", v.unsent),
            ("event not in the gateway's inbox", v.missing_events),
            ("read model differs from the source", v.mismatched_rows),
            ("applied twice", v.duplicates),
            ("feed seq gap", v.seq_gaps),
        ):
            if items:
                out.append(f"{name}: {len(items)}")
                out += [f"    {item}" for item in items[:limit]]
        return "\n".join(out)


def run(
    home: Path,
    *,
    duration_s: float,
    per_minute: float,
    seed_value: int,
    catch_up_timeout_s: float,
    first_port: int | None = None,
) -> Result:
    """Run the whole scenario in home and return its result."""
    rng = random.Random(seed_value)  # noqa: S311 - it picks fault targets, not secrets
    with running_stack(home, first_port) as stack:
        seed(stack)
        ledger = Ledger()
        stop = threading.Event()
        threads = [
            threading.Thread(target=writer, args=(stack, svc, ledger, stop, per_minute / 3), daemon=True)
            for svc in WRITE_SERVICES
        ]
        for t in threads:
            t.start()
        faults: list[Fault] = []
        started = time.monotonic()
        # A quiet start, the faults in turn (every kind at least once), then a quiet end.
        end_of_faults = started + duration_s * 0.85
        time.sleep(min(10.0, duration_s * 0.1))
        try:
            while True:
                stack.supervise()
                faults.append(inject(stack, FAULTS[len(faults) % len(FAULTS)], rng))
                stack.supervise()
                if time.monotonic() >= end_of_faults and len(faults) >= len(FAULTS):
                    break
                time.sleep(FAULT_GAP_S)
            # Catch-up: from the last fault's recovery until the gateway holds every event written
            # by then, while the writes go on.
            last = faults[-1].recovered
            written = asyncio.run(_outbox_ids(stack))
            waited = wait_caught_up(stack, catch_up_timeout_s, written)
            catch_up = None if waited is None else time.monotonic() - last
            while time.monotonic() < started + duration_s:
                stack.supervise()
                time.sleep(1)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        drained = wait_caught_up(stack, catch_up_timeout_s)
        # The projector may still be committing the batch that holds the last event: a moment more.
        time.sleep(2)
        # The evidence, kept beside the logs: every write with its answer, every fault with its times.
        (home / "writes.json").write_text(json.dumps([vars(w) for w in ledger.writes]))
        (home / "faults.json").write_text(json.dumps([vars(f) for f in faults]))
        verdict = asyncio.run(judge(stack, ledger.writes, faults))
        return Result(faults, ledger.writes, verdict, catch_up, drained, per_minute, dict(ledger.died))


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m mpe_devstack.chaos`."""
    parser = argparse.ArgumentParser(
        prog="python -m mpe_devstack.chaos", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--duration", type=float, default=600, help="seconds of writes and faults (default 600)"
    )
    parser.add_argument("--rate", type=float, default=300, help="writes a minute, all services together")
    parser.add_argument("--seed", type=int, default=13, help="seed of the fault targets' choice")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the run's data and logs go (default: a new temp dir)"
    )
    parser.add_argument(
        "--ports",
        type=int,
        default=None,
        help="first of eleven consecutive ports to use (default: free ones)",
    )
    args = parser.parse_args(argv)
    # SIGTERM (make's, a CI's timeout) must unwind through the stack's cleanup like Ctrl-C does.
    sigterm_unwinds()
    home = args.dir or Path(tempfile.mkdtemp(prefix="mpehub-chaos-"))
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    _say(f"data and logs in {home}")
    result = run(
        home,
        duration_s=args.duration,
        per_minute=args.rate,
        seed_value=args.seed,
        catch_up_timeout_s=180,
        first_port=args.ports,
    )
    print(result.table(), flush=True)
    details = result.details()
    if details:
        print(details, flush=True)
    sys.exit(0 if result.passed else 1)
