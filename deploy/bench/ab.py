"""Two or more builds of the gateway, served in turn on one loaded stack: their CPU per cold request.

    uv run --frozen python deploy/bench/ab.py --gateway old=/path/to/worktree-a \
        --gateway new=/path/to/worktree-b --rounds 5 --rate 100 --seconds 15 [--scale 100]

`make bench` builds a stack per run, so two runs differ in more than the code: the time of day,
what else the machine runs, the demo loaded. Here one stack (this checkout's services and demo,
as `bench.py` sets it up) serves each named gateway in turn, cold (`RESPONSE_CACHE_SIZE=0`),
pinned to core 0 as `bench.py` pins it (Postgres with it), with query 1 at one rate; the
order alternates each round (a b, b a, a b …). Each run counts the CPU per request of the
gateway and of Postgres (the postmaster and all its processes). With `--scale N` the stack
holds `make demo-scale SCALE=N`'s data too, as `make bench SCALE=N` loads it. Each worktree needs its own `.venv` (`uv sync --frozen` in it) and a
gateway whose migrations match this checkout's, as the database is migrated once.

Prints one line per run and writes them all to `--out`/<UTC date-time>-ab.json. Read the median
of each build's runs and the ratio within each round: on a shared machine a single run's CPU
per request moves by a fifth either way. The CPU is per request the gateway worked on: those it
refused at once as busy (503 at `GATEWAY_MAX_IN_FLIGHT`, outcome `busy` in its access log) are
left out. A build from before that cap logs no such outcome, so on a rung it cannot keep up with
its figure is per request finished, 503s or not: compare builds on a rate both keep up with.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench
import bench_stack
import bench_vegeta

from mpe_devstack import proc_cpu
from mpe_devstack.signals import sigterm_unwinds

QUERY = "technologies"


class SwitchingStack(bench_stack.Stack):
    """bench.py's stack, whose gateway may come from another worktree's virtual environment."""

    gateway_venv: Path | None = None

    def _bin(self, name: str) -> str:
        if name == "gateway" and self.gateway_venv is not None:
            return str(self.gateway_venv / name)
        return super()._bin(name)


def _reference(stack: bench_stack.Stack, query: bench.Query) -> int:
    # Right after a start the projector may still apply the demo's last events: retry a while.
    for _ in range(30):
        try:
            length: int = bench.reference_length(stack, query)
            return length
        except RuntimeError as exc:
            bench_stack.say(f"not steady yet ({exc}); retrying")
            time.sleep(1)
    length = bench.reference_length(stack, query)
    return length


def run_one(
    stack: bench_stack.Stack, vegeta: Path, query: bench.Query, work: Path, *, rate: int, seconds: float
) -> dict[str, Any]:
    """One cold gateway, warmed up for 2 s, then measured; stopped again."""
    finished = bench_vegeta.LoggedRequests(stack.logs / "gateway.log")
    stack.serve("gateway", cpu=bench_vegeta.GATEWAY_CPU, extra={"RESPONSE_CACHE_SIZE": "0"})
    try:
        stack.wait_ready("gateway")
        expected = _reference(stack, query)
        targets = work / "targets.json"
        bench.write_targets(stack, query, targets)
        bench_vegeta.attack(vegeta, targets, rate=rate, seconds=2, out=Path(os.devnull))
        pid = stack.procs["gateway"].pid
        load = Path("/proc/loadavg").read_text().split()[0]
        cpu_before, pg_before, finished_before, busy_before = (
            proc_cpu.cpu_seconds(pid),
            stack.postgres_cpu_seconds(),
            finished(),
            finished.busy,
        )
        results = work / "results.bin"
        bench_vegeta.attack(vegeta, targets, rate=rate, seconds=seconds, out=results)
        cpu = proc_cpu.cpu_seconds(pid) - cpu_before
        pg = stack.postgres_cpu_seconds() - pg_before
        done = finished() - finished_before
        busy = finished.busy - busy_before
        worked = done - busy
        report, correct = bench_vegeta.measure(vegeta, results, expected)
        bench_vegeta.drain(finished, timeout=60)
    finally:
        stack.stop("gateway")
    return {
        "load": float(load),
        # Per request worked on: a busy refusal (503 at GATEWAY_MAX_IN_FLIGHT) costs next to nothing.
        # None when none was: such a run has no figure and stays out of the medians.
        "cpu_ms_per_request": 1000 * cpu / worked if worked > 0 else None,
        "postgres_cpu_ms_per_request": 1000 * pg / worked if worked > 0 else None,
        "finished": done,
        "refused_busy": busy,
        "correct": correct,
        "p50_ms": report["latencies"]["50th"] / 1e6,
        "p99_ms": report["latencies"]["99th"] / 1e6,
    }


def cpu_medians(runs: Sequence[dict[str, Any]]) -> dict[str, float] | None:
    """The medians of runs with a CPU figure (ms a request: the server's, Postgres's, and each
    run's sum, whose median need not equal the sum of the two), their p99, and how many; None
    when no run has a figure."""
    measured = [r for r in runs if r["cpu_ms_per_request"] is not None]
    if not measured:
        return None
    own = [r["cpu_ms_per_request"] for r in measured]
    pg = [r["postgres_cpu_ms_per_request"] for r in measured]
    return {
        "server": statistics.median(own),
        "postgres": statistics.median(pg),
        "together": statistics.median(a + b for a, b in zip(own, pg, strict=True)),
        "p99_ms": statistics.median(r["p99_ms"] for r in measured),
        "runs": len(measured),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--gateway", action="append", required=True, help="label=worktree, at least two")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--rate", type=int, default=100, help="req/s")
    p.add_argument("--seconds", type=float, default=15, help="measured seconds per run")
    p.add_argument("--scale", type=int, default=1, help="1: the demo; N > 1: plus make demo-scale's data")
    p.add_argument("--out", type=Path, default=bench.HERE / "results")
    args = p.parse_args(argv)
    args.builds = dict(g.split("=", 1) for g in args.gateway)
    if len(args.builds) < 2:
        p.error("name at least two gateways")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_unwinds()  # the stack's Postgres and Kafka go with it
    vegeta = bench_vegeta.ensure_vegeta()
    query = bench.load_queries([QUERY])[0]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mpe-ab-") as tmp:
        stack = SwitchingStack(Path(tmp))
        try:
            stack.loaded_and_still(args.scale, bench_vegeta.GATEWAY_CPU)
            for r in range(args.rounds):
                labels = list(args.builds) if r % 2 == 0 else list(reversed(args.builds))
                for label in labels:
                    stack.gateway_venv = Path(args.builds[label]) / ".venv" / "bin"
                    run = {"round": r, "gateway": label} | run_one(
                        stack, vegeta, query, Path(tmp), rate=args.rate, seconds=args.seconds
                    )
                    runs.append(run)
                    bench_stack.say(json.dumps(run))
        finally:
            stack.close()
    for label in args.builds:
        m = cpu_medians([r for r in runs if r["gateway"] == label])
        if m is None:
            bench_stack.say(f"{label}: no run had a request worked on")
            continue
        bench_stack.say(
            f"{label}: medians over {m['runs']:.0f} runs, ms of CPU a request: gateway {m['server']:.2f},"
            f" Postgres {m['postgres']:.2f}, together {m['together']:.2f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.now(UTC):%Y-%m-%d-%H%M}-ab.json"
    path.write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs}, indent=1) + "\n"
    )
    bench_stack.say(f"results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
