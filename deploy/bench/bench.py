"""`make bench`: the gateway's headline GraphQL queries under vegeta, at fixed arrival rates.

Starts a throwaway stack (Postgres, one Kafka broker, the four services), loads the demo dataset
through the write services' REST APIs, waits until the gateway has projected all of it, then
stops the write services. The gateway then runs as one uvicorn process pinned to core 0 and
vegeta on core 1, first with the response cache off (cold), then with default settings after
a priming request (warm). For each query it counts the SQL statements one execution runs
(pg_stat_statements), then climbs its ladder of rates until a rung saturates.

Everything lives in a temporary directory that is removed at the end; the results go to
deploy/bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench_stack import WRITE_SERVICES, Stack, say
from bench_vegeta import (
    GATEWAY_CPU,
    LOAD_CPU,
    MAX_IN_FLIGHT,
    TIMEOUT_S,
    VEGETA_VERSION,
    LoggedRequests,
    attack,
    drain,
    ensure_vegeta,
    graphql_target,
    measure,
)
from report import (
    Idle,
    Rung,
    Skipped,
    cpu_line,
    fallback_line,
    fallbacks,
    idle_line,
    rung_from,
    table,
    targets,
)

from mpe_devstack.jars import repo_root
from mpe_devstack.postgres import find_pg_bin
from mpe_devstack.proc_cpu import cpu_seconds
from mpe_devstack.signals import sigterm_unwinds

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Query:
    """A headline query: its name in the table and its GraphQL document."""

    name: str
    document: str


def load_queries(names: Sequence[str]) -> list[Query]:
    """The documents of deploy/bench/queries/, without their comment lines."""
    found = []
    for name in names:
        text = (HERE / "queries" / f"{name}.graphql").read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        found.append(Query(name, "\n".join(lines).strip() + "\n"))
    return found


# -- one query ------------------------------------------------------------------------------


def _request(stack: Stack, query: Query) -> httpx.Response:
    r = httpx.post(
        f"{stack.url('gateway')}/graphql",
        json={"query": query.document},
        headers={"X-API-Key": stack.key},
        timeout=30,
    )
    r.raise_for_status()
    return r


def reference_length(stack: Stack, query: Query) -> int:
    """Prime the query, then return the byte length of its answer, which must carry data, no errors."""
    first = _request(stack, query)
    second = _request(stack, query)
    body = second.json()
    if body.get("errors") or not body.get("data") or not all(body["data"].values()):
        raise RuntimeError(f"{query.name}: the gateway answered {second.text[:500]}")
    if first.json() != body:
        raise RuntimeError(f"{query.name}: two answers in a row differ")
    return len(second.content)


async def _statements(stack: Stack, query: Query) -> tuple[int, list[dict[str, Any]]]:
    conn = await asyncpg.connect(stack.pg.dsn("postgres"))
    try:
        await conn.execute("create extension if not exists pg_stat_statements")
        await conn.execute("select pg_stat_statements_reset()")
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                f"{stack.url('gateway')}/graphql",
                json={"query": query.document},
                headers={"X-API-Key": stack.key},
            )
            r.raise_for_status()
        await asyncio.sleep(0.3)
        rows = await conn.fetch(
            "select s.query, s.calls from pg_stat_statements s"
            " join pg_database d on d.oid = s.dbid where d.datname = 'gateway'"
        )
    finally:
        await conn.close()
    # Not the query's own work: the key lookup (cached a second per key, so it depends on
    # timing), the pool's reset of a returned connection, asyncpg's type introspection, and the
    # projector's bookkeeping beside it (source_positions, read for dataAsOf twice a second).
    skip = (
        "api_keys",
        "pg_advisory_unlock_all",
        "pg_catalog",
        "pg_type",
        "source_positions",
        "write_progress",
    )
    counted: list[dict[str, Any]] = [
        {"calls": int(row["calls"]), "query": " ".join(str(row["query"]).split())[:200]}
        for row in rows
        if not any(word in str(row["query"]) for word in skip)
    ]
    return sum(c["calls"] for c in counted), counted


def count_statements(stack: Stack, query: Query) -> tuple[int | None, list[dict[str, Any]]]:
    """The SQL statements the gateway runs on its database for one execution of the query."""
    if not stack.pg_stat_statements:
        return None, []
    return asyncio.run(_statements(stack, query))


def write_targets(stack: Stack, query: Query, path: Path) -> None:
    """vegeta's JSON target: one POST of the query with the bench's key."""
    target = graphql_target(f"{stack.url('gateway')}/graphql", query.document, {"X-API-Key": stack.key})
    path.write_text(target + "\n")


# -- the run --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What to run: queries, ladders and durations."""

    queries: list[Query]
    cold_rates: list[int]
    warm_rates: list[int]
    seconds: float
    warmup_seconds: float
    scale: int = 1
    pin_postgres: bool = True
    idle_seconds: float = 5


def idle_cpu(stack: Stack, seconds: float) -> Idle:
    """CPU the gateway and Postgres use with no request at all, over `seconds`: the background
    (the projector's polls, freshness reads, Postgres's own processes) every rung carries too."""
    pid = stack.procs["gateway"].pid
    gateway, postgres = cpu_seconds(pid), stack.postgres_cpu_seconds()
    time.sleep(seconds)
    return Idle(
        seconds=seconds,
        gateway_cpu_s=cpu_seconds(pid) - gateway,
        postgres_cpu_s=stack.postgres_cpu_seconds() - postgres,
    )


def run_ladders(
    stack: Stack, vegeta: Path, plan: Plan, work: Path
) -> tuple[list[Rung | Skipped], dict[str, Any]]:
    """Both gateways, every query, every rate until saturation; the rows and the raw details."""
    rows: list[Rung | Skipped] = []
    raw: dict[str, Any] = {"statements": {}, "reports": [], "fallbacks": {}, "idle": None}
    finished = LoggedRequests(stack.logs / "gateway.log")

    def count_fallbacks() -> None:
        # Read before each stop: a restarted gateway counts from zero.
        counts = fallbacks(httpx.get(f"http://127.0.0.1:{stack.gateway_ops_port}/metrics", timeout=10).text)
        for reason, n in counts.items():
            raw["fallbacks"][reason] = raw["fallbacks"].get(reason, 0) + n

    for cache, rates, extra in (
        ("cold", plan.cold_rates, {"RESPONSE_CACHE_SIZE": "0"}),
        ("warm", plan.warm_rates, {}),
    ):
        say(
            f"gateway with the response cache {'off' if extra else 'at its default'} ({cache}), on core {GATEWAY_CPU}"
        )
        stack.serve("gateway", cpu=GATEWAY_CPU, extra=extra)
        stack.wait_ready("gateway")
        try:
            if cache == "cold":
                idle = idle_cpu(stack, plan.idle_seconds)
                raw["idle"] = asdict(idle)
                say(idle_line(idle))
            for query in plan.queries:
                expected = reference_length(stack, query)
                statements, listed = count_statements(stack, query)
                raw["statements"][f"{query.name}/{cache}"] = listed
                say(f"{query.name} ({cache}): {expected} bytes, {statements} SQL statements")
                targets_file = work / f"{query.name}.json"
                write_targets(stack, query, targets_file)
                saturated = False
                for rate in rates:
                    if saturated:
                        rows.append(Skipped(query=query.name, cache=cache, statements=statements, rate=rate))
                        continue
                    results = work / f"{query.name}-{cache}-{rate}.bin"
                    attack(vegeta, targets_file, rate=rate, seconds=plan.warmup_seconds, out=Path(os.devnull))
                    pid = stack.procs["gateway"].pid
                    cpu_before, pg_before = cpu_seconds(pid), stack.postgres_cpu_seconds()
                    finished_before, busy_before = finished(), finished.busy
                    attack(vegeta, targets_file, rate=rate, seconds=plan.seconds, out=results)
                    cpu = cpu_seconds(pid) - cpu_before
                    pg_cpu = stack.postgres_cpu_seconds() - pg_before
                    done, busy = finished() - finished_before, finished.busy - busy_before
                    report, correct = measure(vegeta, results, expected)
                    results.unlink()
                    rung = rung_from(
                        report,
                        correct=correct,
                        gateway_cpu_s=cpu,
                        postgres_cpu_s=pg_cpu,
                        gateway_finished=done,
                        refused_busy=busy,
                        query=query.name,
                        cache=cache,
                        statements=statements,
                        rate=rate,
                    )
                    rows.append(rung)
                    raw["reports"].append({"rung": asdict(rung), "vegeta": report})
                    say(
                        f"{query.name} {cache} {rate} req/s: {rung.achieved_per_s:.0f} achieved, "
                        f"p50 {rung.p50_ms:.1f} ms, p99 {rung.p99_ms:.1f} ms, "
                        f"{100 * rung.correct_share:.2f} % correct, gateway core use {100 * rung.core_use:.0f} %, "
                        f"CPU ms/request {cpu_line(rung)}"
                    )
                    saturated = rung.saturated
                    if saturated:
                        # Hundreds of requests resolve side by side and may all finish late: no
                        # quiet spell says when they are done, so start afresh.
                        say("saturated: restarting the gateway for what follows")
                        count_fallbacks()
                        stack.stop("gateway")
                        stack.serve("gateway", cpu=GATEWAY_CPU, extra=extra)
                        stack.wait_ready("gateway")
                    elif not drain(finished, timeout=90):
                        raise RuntimeError("the gateway kept working long after a rung it kept up with")
            count_fallbacks()
            say(fallback_line(raw["fallbacks"]))
        finally:
            stack.stop("gateway")
    return rows, raw


def _run(argv: Sequence[str]) -> str:
    try:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, str]:
    """The facts that make a result comparable with another."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    root = repo_root()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": _run([str(find_pg_bin() / "postgres"), "--version"]),
        "vegeta": VEGETA_VERSION,
        "commit": _run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]),
        "load average at start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def render(
    rows: Sequence[Rung | Skipped],
    facts: dict[str, str],
    plan: Plan,
    fallback_counts: dict[str, int],
    command: str = "make bench",
    idle: Idle | None = None,
) -> str:
    """The results file: how it was run, on what, the table, the compile fallbacks and the targets."""
    data = (
        "Demo dataset"
        if plan.scale == 1
        else f"Demo dataset plus `make demo-scale`'s at {plan.scale}× (mpe_devstack.scale)"
    )
    postgres = (
        f"Postgres (postmaster and every backend) pinned to core {GATEWAY_CPU} with it"
        if plan.pin_postgres
        else "Postgres not pinned"
    )
    method = (
        f"{data}; one gateway process (`gateway serve`, one uvicorn worker) pinned to core "
        f"{GATEWAY_CPU}, {postgres}, vegeta pinned to core {LOAD_CPU}, over loopback; rate limit off. "
        f"Each rung: {plan.warmup_seconds:g} s of warm-up at its rate, then {plan.seconds:g} s measured "
        f"(open model: constant arrival rate, up to {MAX_IN_FLIGHT} requests in flight, {TIMEOUT_S} s "
        "timeout). Cold: `GATEWAY_RESPONSE_CACHE_SIZE=0`; warm: default settings after a priming "
        "request. Success: HTTP 200 with the reference answer's length. Achieved: successes per second. "
        "SQL statements: one execution, counted with pg_stat_statements (key lookup left out). Gateway CPU: "
        "the gateway process's user+system time during the measured seconds, per GraphQL request it worked "
        "on then (its access log: requests vegeta gave up on count too, those refused at once with 503 at "
        "`GATEWAY_MAX_IN_FLIGHT` do not and have their own column; on a saturated rung most finish later, "
        "so read it where the gateway kept up) and as a share of its core. Postgres CPU: the same for the "
        "postmaster and all its processes, per GraphQL request the gateway worked on; total: the two "
        "together. A ladder "
        "stops at the first rung that keeps up with less than 90 % of its rate or answers less than 99 % "
        "correctly."
    )
    lines = [
        f"# Gateway benchmark, {plan.scale}× data, {facts['date']}",
        "",
        f"Command: `{command}`",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items() if k != "date"),
        "",
        method,
        "",
        table(rows),
        "",
        *([idle_line(idle), ""] if idle else []),
        fallback_line(fallback_counts),
        "",
        "Targets (docs/measurements.md):",
        "",
        *targets(rows, query="technologies"),
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; the defaults are what `make bench` runs."""

    def rates(text: str) -> list[int]:
        values = [int(part) for part in text.split(",") if part.strip()]
        if not values or any(v <= 0 for v in values):
            raise argparse.ArgumentTypeError("give rates as positive integers, e.g. 50,100,200")
        return values

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--queries", default="technologies,program_overview,firm,spending", help="names in queries/"
    )
    p.add_argument("--cold-rates", type=rates, default=[10, 50, 100, 200, 400], help="req/s, comma-separated")
    p.add_argument("--warm-rates", type=rates, default=[500, 1000, 2000, 3000], help="req/s, comma-separated")
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per rung")
    p.add_argument("--warmup-seconds", type=float, default=2, help="warm-up seconds per rung")
    p.add_argument(
        "--scale",
        type=int,
        default=1,
        help="1: the demo; N > 1: the demo plus `make demo-scale SCALE=N`'s dataset (as `make bench SCALE=N`)",
    )
    p.add_argument(
        "--pin-postgres",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"pin Postgres to the gateway's core {GATEWAY_CPU} (default) while the rungs run",
    )
    p.add_argument("--out", type=Path, default=HERE / "results", help="directory for the results")
    args = p.parse_args(argv)
    unknown = [n for n in args.queries.split(",") if not (HERE / "queries" / f"{n}.graphql").is_file()]
    if unknown:
        p.error(f"no such query in {HERE / 'queries'}: {', '.join(unknown)}")
    if args.seconds <= 0 or args.warmup_seconds < 0:
        p.error("--seconds must be positive and --warmup-seconds not negative")
    if args.scale < 1:
        p.error("--scale must be a whole number, at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its results."""
    args = parse_args(argv)
    sigterm_unwinds()  # the stack's Postgres and Kafka go with it
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        say("the benchmark needs two cores and taskset (util-linux) to keep gateway and load apart")
        return 1
    plan = Plan(
        queries=load_queries(args.queries.split(",")),
        cold_rates=args.cold_rates,
        warm_rates=args.warm_rates,
        seconds=args.seconds,
        warmup_seconds=args.warmup_seconds,
        scale=args.scale,
        pin_postgres=args.pin_postgres,
    )
    vegeta = ensure_vegeta()
    facts = machine()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mpe-bench-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            stack.load_demo()
            if plan.scale > 1:
                stack.load_scale(plan.scale)
            for name in WRITE_SERVICES:
                stack.stop(name)  # idle from here on; the gateway needs only Postgres and Kafka
            stack.stop("gateway")
            stack.quiesce()
            if plan.pin_postgres:
                stack.pin_postgres(GATEWAY_CPU)
            rows, raw = run_ladders(stack, vegeta, plan, Path(tmp))
        except KeyboardInterrupt:
            say("interrupted: stopping")
            return 130
        finally:
            stack.close()
    command = "uv run --frozen python deploy/bench/bench.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    idle = Idle(**raw["idle"]) if raw["idle"] else None
    text = render(rows, facts, plan, raw["fallbacks"], command, idle)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = datetime.now(UTC).strftime("%Y-%m-%d-%H%M") + f"-{plan.scale}x"
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    details = {
        "machine": facts,
        "plan": {**asdict(plan), "queries": [asdict(q) for q in plan.queries]},
        **raw,
    }
    (args.out / f"{stem}.json").write_text(json.dumps(details, indent=1, ensure_ascii=False) + "\n")
    print()
    print(text)
    say(f"done in {time.monotonic() - started:.0f} s; results in {args.out / stem}.md (.json beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
