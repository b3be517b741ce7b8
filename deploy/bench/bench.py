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
import base64
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
import httpx
from report import Rung, Skipped, count_correct, fallback_line, fallbacks, rung_from, table, targets

from mpe_devstack import demo
from mpe_devstack.jars import ensure_kafka_jars, repo_root
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port_range, wait_for_port_closed
from mpe_devstack.postgres import PostgresServer, find_pg_bin
from mpe_kit.auth import issue_token

HERE = Path(__file__).resolve().parent
VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.13.0"
TOOLS = Path.home() / ".cache" / "mpehub" / "bin"

GATEWAY_CPU = "0"
LOAD_CPU = "1"
# In-flight requests vegeta may have at once. Far above what a gateway that keeps up needs
# (rate x latency), and it keeps a saturated rung from queueing more work than the gateway can
# drain in seconds, or more connections than its open-file limit.
MAX_IN_FLIGHT = 500
TIMEOUT_S = 5

ALL_SCOPES = "catalog:read,firms:read,firms:financials,budget:read"
SERVICES = ("catalog", "firms", "budget", "gateway")


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


def say(message: str) -> None:
    """A progress line."""
    print(f"[bench] {message}", flush=True)


def ensure_vegeta() -> Path:
    """vegeta at the pinned version in ~/.cache/mpehub/bin, built with `go install` when missing."""
    binary = TOOLS / "vegeta"
    stamp = TOOLS / "vegeta.version"
    if binary.is_file() and stamp.is_file() and stamp.read_text().strip() == VEGETA_VERSION:
        return binary
    go = shutil.which("go")
    if go is None:
        raise SystemExit("make bench needs Go to build vegeta: install it (`apt-get install -y golang`)")
    TOOLS.mkdir(parents=True, exist_ok=True)
    say(f"building vegeta {VEGETA_VERSION} into {TOOLS} (once)")
    subprocess.run(
        [go, "install", f"{VEGETA_MODULE}@{VEGETA_VERSION}"],
        env={**os.environ, "GOBIN": str(TOOLS)},
        cwd=tempfile.gettempdir(),  # outside any Go module, so the pinned version is the one built
        check=True,
    )
    stamp.write_text(VEGETA_VERSION + "\n")
    return binary


def _service_free_env() -> dict[str, str]:
    # A GATEWAY_* or FIRMS_* setting in the caller's shell would change what is measured.
    prefixes = tuple(f"{name.upper()}_" for name in SERVICES)
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


class Stack:
    """Postgres, Kafka and the services, in one temporary directory, for one benchmark run."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.logs = home / "logs"
        self.logs.mkdir(parents=True)
        home.chmod(0o755)  # the postgres OS user must reach its data dir below
        self.pg_stat_statements = (find_pg_bin().parent / "lib" / "pg_stat_statements.so").is_file()
        settings = (
            # Utility statements are the pool's reset of a returned connection, not the query's work.
            {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track_utility": "off"}
            if self.pg_stat_statements
            else {}
        )
        self.pg = PostgresServer(home / "pg", port=free_port_range(1), settings=settings)
        self.kafka = KafkaCluster(home / "kafka", nodes=1, base_port=free_port_range(2))
        self.secret = secrets.token_urlsafe(32)
        self.ports = {name: free_port_range(1) for name in SERVICES}
        # The gateway's /metrics is on its ops port, never on the partner port.
        self.gateway_ops_port = free_port_range(1)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.key = ""

    def url(self, name: str) -> str:
        """Where a service answers HTTP."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The process environment of a service, as `make dev` sets it up."""
        prefix = name.upper()
        settings = {
            "HOST": "127.0.0.1",
            "PORT": str(self.ports[name]),
            "DATABASE_URL": self.pg.dsn(name),
            "KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "JWT_SECRET": self.secret,
        }
        viewer = issue_token(self.secret, sub=f"svc-{name}", roles=["viewer"], ttl_s=24 * 3600)
        if name == "firms":
            settings |= {"CATALOG_URL": self.url("catalog"), "SERVICE_TOKEN": viewer}
            # The demo's first cohort ran out in January 2026: expire it soon after loading.
            settings["EXPIRY_INTERVAL_S"] = "1"
        if name == "budget":
            settings |= {
                "CATALOG_URL": self.url("catalog"),
                "FIRMS_URL": self.url("firms"),
                "SERVICE_TOKEN": viewer,
            }
        if name == "gateway":
            settings["RATE_LIMIT_PER_S"] = "0"
            settings["OPS_PORT"] = str(self.gateway_ops_port)
        settings |= extra or {}
        return {**_service_free_env(), **{f"{prefix}_{k}": v for k, v in settings.items()}}

    def _bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def _log(self, name: str) -> BinaryIO:
        return (self.logs / f"{name}.log").open("ab")

    def start(self) -> None:
        """Postgres and Kafka, the databases migrated, the four services serving."""
        ensure_kafka_jars(log=say)
        say(f"starting Postgres on port {self.pg.port}")
        self.pg.start()
        for name in SERVICES:
            self.pg.create_database(name)
        migrating = [
            (name, subprocess.Popen([self._bin(name), "migrate"], env=self.env(name), stdout=self._log(name)))
            for name in SERVICES
        ]
        say(f"starting Kafka on {self.kafka.bootstrap}")
        self.kafka.start()
        for name, proc in migrating:
            if proc.wait() != 0:
                raise RuntimeError(f"{name} migrate failed; see {self.logs / name}.log")
        out = subprocess.run(
            [self._bin("gateway"), "keys", "create", "--agency", "bench", "--scopes", ALL_SCOPES, "--json"],
            env=self.env("gateway"),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.key = json.loads(out)["key"]
        for name in SERVICES:
            self.serve(name)
        for name in SERVICES:
            self.wait_ready(name)

    def serve(self, name: str, *, cpu: str | None = None, extra: dict[str, str] | None = None) -> None:
        """Start `<name> serve` (API and workers in one process), pinned to a core if asked."""
        argv = [self._bin(name), "serve"]
        if cpu is not None:
            argv = ["taskset", "-c", cpu, *argv]
        self.procs[name] = subprocess.Popen(
            argv,
            env=self.env(name, extra),
            stdout=self._log(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        """Until the service's /readyz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / name}.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready after {timeout:g} s; see {self.logs / name}.log")

    def stop(self, name: str) -> None:
        """SIGTERM a service's process group, SIGKILL after 15 s."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        with contextlib.suppress(TimeoutError):
            wait_for_port_closed("127.0.0.1", self.ports[name], timeout=5)

    def load_demo(self) -> None:
        """The demo dataset through the REST APIs, then wait until the gateway has all of it."""
        token = issue_token(self.secret, sub="bench", roles=["editor"], ttl_s=3600)
        say(f"demo technology list: {demo.load(self.url('catalog'), token, log=say)}")
        demo.wait_visible(self.url("gateway"), self.key, timeout_s=60)
        say(f"demo firms: {demo.load_firms(self.url('firms'), token, log=say)}")
        say(f"demo budget: {demo.load_budget(self.url('budget'), token, log=say)}")
        self.settle()

    def _quiet(self) -> bool:
        for name in ("catalog", "firms", "budget"):
            body = httpx.get(f"{self.url(name)}/readyz", timeout=5).json()
            if body.get("outbox", {}).get("pending", 1) != 0:
                return False
        body = httpx.get(f"{self.url('gateway')}/readyz", timeout=5).json()
        lags = [c["lag"] for c in body.get("consumers", {}).values()]
        lags += [t["lag"] for t in body.get("projection", {}).values()]
        return bool(lags) and not any(lags)

    def settle(self, timeout: float = 120) -> None:
        """Until every outbox is sent and the projector has no lag, for 3 s in a row."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        time.sleep(2)  # the firms' expiry task (every second) moves the demo's first cohort
        while time.monotonic() < deadline:
            if self._quiet():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3:
                    return
            else:
                quiet_since = None
            time.sleep(0.5)
        raise RuntimeError("the gateway did not catch up with the demo in time")

    def close(self) -> None:
        """Stop everything this stack started."""
        for name in reversed(list(self.procs)):
            self.stop(name)
        self.kafka.stop(timeout=10)
        self.pg.stop()


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
    body = json.dumps({"query": query.document}).encode()
    target = {
        "method": "POST",
        "url": f"{stack.url('gateway')}/graphql",
        "body": base64.b64encode(body).decode(),
        "header": {"Content-Type": ["application/json"], "X-API-Key": [stack.key]},
    }
    path.write_text(json.dumps(target) + "\n")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def attack(vegeta: Path, targets_file: Path, *, rate: int, seconds: float, out: Path) -> None:
    """vegeta on the load core at a constant arrival rate; results (without bodies) to `out`."""
    subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CPU,
            str(vegeta),
            "attack",
            "-format=json",
            f"-targets={targets_file}",
            f"-rate={rate}/1s",
            f"-duration={seconds}s",
            f"-timeout={TIMEOUT_S}s",
            f"-max-workers={MAX_IN_FLIGHT}",
            "-max-body=0",
            f"-output={out}",
        ],
        check=True,
    )


def measure(vegeta: Path, results: Path, expected_length: int) -> tuple[dict[str, Any], int]:
    """vegeta's JSON report of a results file, and how many of its answers were correct."""
    report = json.loads(
        subprocess.run(
            [str(vegeta), "report", "-type=json", str(results)], check=True, capture_output=True, text=True
        ).stdout
    )
    with subprocess.Popen(
        [str(vegeta), "encode", "--to", "json", str(results)], stdout=subprocess.PIPE, text=True
    ) as encoder:
        assert encoder.stdout is not None
        correct = count_correct(encoder.stdout, expected_length)
    if encoder.returncode != 0:
        raise RuntimeError(f"vegeta encode failed with {encoder.returncode}")
    return report, correct


class LoggedRequests:
    """GraphQL requests the gateway has finished so far, counted in its access log.

    Every finished request to /graphql writes one "graphql request" line, flushed at once;
    reading the file asks nothing of a gateway that may be swamped.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.count = 0

    def __call__(self) -> int:
        """The count up to the last whole line written."""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        whole = data.rfind(b"\n") + 1
        self.count += data[:whole].count(b'"graphql request"')
        self.offset += whole
        return self.count


def drain(finished: LoggedRequests, timeout: float) -> bool:
    """Wait until the gateway has finished no GraphQL request for 2 s: its backlog is gone.

    /healthz would answer quickly long before: the backlog waits for database connections, not
    for the event loop. Only after a rung the gateway kept up with: its backlog is then small.
    False if it is still busy after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = finished()
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= 2:
            return True
        time.sleep(0.25)
    return False


# -- the run --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What to run: queries, ladders and durations."""

    queries: list[Query]
    cold_rates: list[int]
    warm_rates: list[int]
    seconds: float
    warmup_seconds: float


def run_ladders(
    stack: Stack, vegeta: Path, plan: Plan, work: Path
) -> tuple[list[Rung | Skipped], dict[str, Any]]:
    """Both gateways, every query, every rate until saturation; the rows and the raw details."""
    rows: list[Rung | Skipped] = []
    raw: dict[str, Any] = {"statements": {}, "reports": [], "fallbacks": {}}
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
                    cpu_before, finished_before = cpu_seconds(pid), finished()
                    attack(vegeta, targets_file, rate=rate, seconds=plan.seconds, out=results)
                    cpu = cpu_seconds(pid) - cpu_before
                    done = finished() - finished_before
                    report, correct = measure(vegeta, results, expected)
                    results.unlink()
                    rung = rung_from(
                        report,
                        correct=correct,
                        gateway_cpu_s=cpu,
                        gateway_finished=done,
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
                        f"{100 * rung.correct_share:.2f} % correct, gateway core use {100 * rung.core_use:.0f} %"
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
    rows: Sequence[Rung | Skipped], facts: dict[str, str], plan: Plan, fallback_counts: dict[str, int]
) -> str:
    """The results file: how it was run, on what, the table, the compile fallbacks and the targets."""
    method = (
        f"Demo dataset; one gateway process (`gateway serve`, one uvicorn worker) pinned to core "
        f"{GATEWAY_CPU}, vegeta pinned to core {LOAD_CPU}, over loopback; rate limit off. "
        f"Each rung: {plan.warmup_seconds:g} s of warm-up at its rate, then {plan.seconds:g} s measured "
        f"(open model: constant arrival rate, up to {MAX_IN_FLIGHT} requests in flight, {TIMEOUT_S} s "
        "timeout). Cold: `GATEWAY_RESPONSE_CACHE_SIZE=0`; warm: default settings after a priming "
        "request. Success: HTTP 200 with the reference answer's length. Achieved: successes per second. "
        "SQL statements: one execution, counted with pg_stat_statements (key lookup left out). Gateway CPU: "
        "the gateway process's user+system time during the measured seconds, per GraphQL request it finished "
        "then (its access log: requests vegeta gave up on count too; on a saturated rung most finish later, "
        "so read it where the gateway kept up) and as a share of its core. A ladder "
        "stops at the first rung that keeps up with less than 90 % of its rate or answers less than 99 % "
        "correctly."
    )
    lines = [
        f"# Gateway benchmark, {facts['date']}",
        "",
        "Command: `make bench`",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items() if k != "date"),
        "",
        method,
        "",
        table(rows),
        "",
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
    p.add_argument("--out", type=Path, default=HERE / "results", help="directory for the results")
    args = p.parse_args(argv)
    unknown = [n for n in args.queries.split(",") if not (HERE / "queries" / f"{n}.graphql").is_file()]
    if unknown:
        p.error(f"no such query in {HERE / 'queries'}: {', '.join(unknown)}")
    if args.seconds <= 0 or args.warmup_seconds < 0:
        p.error("--seconds must be positive and --warmup-seconds not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its results."""
    args = parse_args(argv)
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        say("the benchmark needs two cores and taskset (util-linux) to keep gateway and load apart")
        return 1
    plan = Plan(
        queries=load_queries(args.queries.split(",")),
        cold_rates=args.cold_rates,
        warm_rates=args.warm_rates,
        seconds=args.seconds,
        warmup_seconds=args.warmup_seconds,
    )
    vegeta = ensure_vegeta()
    facts = machine()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mpe-bench-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            stack.load_demo()
            for name in ("catalog", "firms", "budget"):
                stack.stop(name)  # idle from here on; the gateway needs only Postgres and Kafka
            stack.stop("gateway")
            rows, raw = run_ladders(stack, vegeta, plan, Path(tmp))
        except KeyboardInterrupt:
            say("interrupted: stopping")
            return 130
        finally:
            stack.close()
    text = render(rows, facts, plan, raw["fallbacks"])
    args.out.mkdir(parents=True, exist_ok=True)
    stem = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
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
