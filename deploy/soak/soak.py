"""`make soak`: the whole system under steady writes and reads for twenty minutes; does anything grow?

Starts a throwaway stack as `make bench` does (Postgres, one Kafka broker), but with each service
run as in production (deploy/k8s): an `api` process and a `worker` process (the relay; the
gateway's is the projector), on free ports in a temporary directory, and loads the demo dataset. Then, for the warm-up and the
measured minutes without a pause: REST writes to catalog, firms and budget at a fixed rate and
mix (soak_load.py), with visibility probes; the three headline GraphQL queries in turn at a fixed
rate with vegeta (open model); every few seconds each process's memory, the gateway projector's
lag and the write services' outbox backlog. At the end: the processes' logs are searched for
errors, and a Markdown report, the samples as JSON and a PNG plot are written (soak_report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(1, str(ROOT / "deploy" / "bench"))  # bench's stack, queries, vegeta and CPU sampling

import bench  # noqa: E402
import bench_stack  # noqa: E402
import bench_vegeta  # noqa: E402
import soak_report  # noqa: E402
from soak_load import WRITE_SERVICES, Load  # noqa: E402

from gateway.settings import GatewaySettings  # noqa: E402
from mpe_devstack.ports import free_port_range  # noqa: E402
from mpe_devstack.proc_cpu import children, cpu_seconds, machine_busy_seconds  # noqa: E402
from mpe_devstack.signals import sigterm_unwinds  # noqa: E402
from mpe_kit.auth import issue_token  # noqa: E402

HEADLINE = ("technologies", "program_overview", "firm")
ERROR_LEVELS = frozenset({"error", "critical", "exception", "fatal"})


def say(message: str) -> None:
    """A progress line."""
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SoakStack(bench_stack.Stack):
    """bench's stack, with each service run as in production: an `api` process and a `worker` process.

    The services keep their own settings, except the gateway's rate limit (off) and the ops
    ports (each worker's /metrics; the gateway worker's holds the projector's lag).
    """

    def __init__(self, home: Path, gateway_settings: dict[str, str] | None = None) -> None:
        super().__init__(home)
        self.gateway_settings = gateway_settings or {}
        for name in bench_stack.SERVICES:
            self.ports[f"{name}-worker"] = free_port_range(1)

    def env(self, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """As bench sets it up, without its fast firm-expiry tick (a soak wants the default), with
        the gateway settings asked for (`--gateway-setting`)."""
        env = super().env(name, extra)
        env.pop("FIRMS_EXPIRY_INTERVAL_S", None)
        if name == "gateway":
            env |= {f"GATEWAY_{k}": v for k, v in self.gateway_settings.items()}
        return env

    def serve(self, name: str, *, cpu: str | None = None, extra: dict[str, str] | None = None) -> None:
        """Start `<name> api` (stopped as `name`) and `<name> worker` (stopped as `<name>-worker`)."""
        for command, key in (("api", name), ("worker", f"{name}-worker")):
            env = self.env(name, extra)
            if command == "worker":
                env[f"{name.upper()}_OPS_PORT"] = str(self.ports[key])
            self.procs[key] = subprocess.Popen(
                [self._bin(name), command],
                env=env,
                stdout=self._log(key),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def metrics_url(self, name: str) -> str:
        """A worker's /metrics."""
        return f"http://127.0.0.1:{self.ports[name + '-worker']}/metrics"


# -- what is sampled -------------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _service_pids(stack: SoakStack) -> list[tuple[str, int]]:
    """Each running service process with its label (`catalog api`, `catalog worker` …)."""
    found = []
    for service in (*WRITE_SERVICES, "gateway"):
        for name, label in ((service, f"{service} api"), (f"{service}-worker", f"{service} worker")):
            proc = stack.procs.get(name)
            if proc is not None and proc.poll() is None:
                found.append((label, proc.pid))
    return found


def _kafka_pid(stack: SoakStack) -> int:
    """The broker's JVM, from the pid file its launcher writes."""
    return int((stack.kafka.node_dir(1) / "kafka.pid").read_text().split()[0])


def memory(stack: SoakStack) -> dict[str, int]:
    """KiB per process: each service's and Kafka's RSS; Postgres as the PSS of all its processes.

    PSS for Postgres because its backends share the buffer pool: their RSS would count the
    shared pages once per backend and grow as each one touches more of them.
    """
    kb: dict[str, int] = {}
    for label, pid in _service_pids(stack):
        with contextlib.suppress(OSError):
            kb[label] = _status_kb(pid, "VmRSS")
    with contextlib.suppress(OSError, ValueError):
        kb["kafka"] = _status_kb(_kafka_pid(stack), "VmRSS")
    with contextlib.suppress(OSError, ValueError):
        postmaster = stack.postmaster_pid()
        total = 0
        for pid in (postmaster, *children(postmaster)):
            with contextlib.suppress(OSError):
                total += _pss_kb(pid)
        kb["postgres (PSS)"] = total
    return kb


def cpu_times(stack: SoakStack, vegeta_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far: each process of the stack, the load generators, the whole machine.

    Labelled as `memory` labels them; Postgres counts the postmaster and all its processes. The
    load generators share the machine: this script (the REST writers and the probes) and vegeta
    (the reads). `machine` is every CPU's busy time, so what the labelled processes leave of it
    is everything else on the machine, other sessions included.
    """
    found: dict[str, float] = {}
    for label, pid in _service_pids(stack):
        with contextlib.suppress(OSError):
            found[label] = cpu_seconds(pid)
    with contextlib.suppress(OSError, ValueError):
        found["kafka"] = cpu_seconds(_kafka_pid(stack))
    with contextlib.suppress(OSError, ValueError):
        found["postgres"] = stack.postgres_cpu_seconds()
    found["load: writers and probes (soak.py)"] = time.process_time()
    if vegeta_pid is not None:
        with contextlib.suppress(OSError):
            found["load: reads (vegeta)"] = cpu_seconds(vegeta_pid)
    found["machine"] = machine_busy_seconds()
    return found


def metric_sum(text: str, name: str, label_filter: str = "") -> float:
    """The sum of a Prometheus series' samples (those whose labels contain label_filter)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and label_filter in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def outcomes(text: str) -> dict[str, float]:
    """The gateway's GraphQL requests by outcome, from its /metrics."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("mpe_gateway_requests_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            found[outcome] = found.get(outcome, 0.0) + float(line.rsplit(" ", 1)[1])
    return found


async def sampler(
    stack: SoakStack, t0: float, every: float, raw: dict[str, Any], stop: asyncio.Event
) -> None:
    """Every `every` seconds: memory, the projector's lag and the outboxes' backlog."""
    metrics_url = stack.metrics_url("gateway")
    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set():
            t = time.monotonic() - t0
            for name, kb in memory(stack).items():
                raw["rss"].append({"t": t, "proc": name, "kb": kb})
            outbox: dict[str, int | None] = {}
            for name in WRITE_SERVICES:
                try:
                    body = (await client.get(f"{stack.url(name)}/readyz")).json()
                    outbox[name] = body.get("outbox", {}).get("pending")
                except (httpx.HTTPError, ValueError):
                    outbox[name] = None
            try:
                lag: float | None = metric_sum((await client.get(metrics_url)).text, "mpe_consumer_lag")
            except httpx.HTTPError:
                lag = None
            if lag is not None:
                raw["lag"].append({"t": t, "lag": lag, "outbox": outbox})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


def log_errors(logs: Path) -> dict[str, dict[str, int]]:
    """Per log file, its lines at level error or above and its tracebacks, counted by kind.

    A kind is the record's event and the last line of its exception (e.g. `unhandled error:
    starlette.requests.ClientDisconnect`); for a line that is not JSON, the line itself.
    """
    found: dict[str, dict[str, int]] = {}
    for path in sorted(logs.glob("*.log")):
        kinds: Counter[str] = Counter()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                if str(record.get("level", "")).lower() in ERROR_LEVELS:
                    exception = str(record.get("exception") or "").strip().splitlines()
                    kinds[f"{record.get('event')}" + (f": {exception[-1][:160]}" if exception else "")] += 1
            elif "Traceback" in line or " ERROR" in line or "CRITICAL" in line:
                kinds[line.strip()[:200]] += 1
        found[path.stem] = dict(kinds.most_common())
    return found


def answered_by(log: Path) -> dict[str, int]:
    """The gateway API's GraphQL requests answered 200, by the stage that answered (its access log).

    `cache` and `shared` ran nothing; `compiled` and `strawberry` executed the operation.
    """
    stages: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if (
                isinstance(record, dict)
                and record.get("event") == "graphql request"
                and record.get("status") == 200
                and record.get("outcome") != "rejected"  # e.g. WRITE_NOT_YET_VISIBLE: nothing answered it
            ):
                stages[str(record.get("answered_by"))] += 1
    return dict(stages.most_common())


# -- the reads ------------------------------------------------------------------------------


def write_targets(stack: SoakStack, path: Path) -> None:
    """vegeta's targets: the three headline queries, which it sends in turn."""
    url, key = f"{stack.url('gateway')}/graphql", {"X-API-Key": stack.key}
    lines = [bench_vegeta.graphql_target(url, q.document, key) for q in bench.load_queries(HEADLINE)]
    path.write_text("\n".join(lines) + "\n")


def _timestamp(text: str) -> float:
    """Seconds since the epoch of vegeta's RFC 3339 time, whose nanoseconds Python 3.11 cannot parse."""
    text = text.replace("Z", "+00:00")
    match = re.fullmatch(r"(.*T[0-9:]+)(?:\.(\d+))?([+-]\d\d:\d\d)", text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    whole, fraction, zone = match.groups()
    return datetime.fromisoformat(whole + zone).timestamp() + float(f"0.{fraction or 0}")


def read_results(vegeta: Path, results: Path, wall_start: float) -> list[dict[str, Any]]:
    """Each read vegeta made: t (s from the run's start, when it was sent), HTTP code (0: none), ms."""
    reads = []
    with subprocess.Popen(
        [str(vegeta), "encode", "--to", "json", str(results)], stdout=subprocess.PIPE, text=True
    ) as encoder:
        assert encoder.stdout is not None
        for line in encoder.stdout:
            r = json.loads(line)
            sent = _timestamp(r["timestamp"])
            reads.append({"t": sent - wall_start, "code": r["code"] or None, "ms": r["latency"] / 1e6})
    return reads


# -- the run --------------------------------------------------------------------------------


async def drive(stack: SoakStack, args: argparse.Namespace, vegeta: Path, work: Path) -> dict[str, Any]:
    """Warm-up and run under load; the raw samples."""
    token = issue_token(stack.secret, sub="soak", roles=["editor"], ttl_s=24 * 3600)
    raw: dict[str, Any] = {"rss": [], "lag": [], "exited": {}, "duration_s": args.minutes * 60}
    targets, results = work / "targets.json", work / "reads.bin"
    write_targets(stack, targets)
    total_s = args.warmup_seconds + args.minutes * 60
    t0 = time.monotonic() + args.warmup_seconds
    wall_start = time.time() + args.warmup_seconds
    load = Load(
        urls={s: stack.url(s) for s in WRITE_SERVICES},
        gateway_url=stack.url("gateway"),
        gateway_dsn=stack.pg.dsn("gateway"),
        token=token,
        key=stack.key,
        writes_per_s=args.writes_per_s,
        probe_every=args.probe_every,
        t0=t0,
    )
    await load.seed()
    say(f"load on: {args.warmup_seconds:g} s of warm-up, then {args.minutes:g} minutes measured")
    reader = await asyncio.create_subprocess_exec(
        str(vegeta),
        "attack",
        "-format=json",
        f"-targets={targets}",
        f"-rate={args.reads_per_s}/1s",
        f"-duration={total_s}s",
        "-timeout=10s",
        "-max-workers=500",
        "-max-body=0",
        f"-output={results}",
    )
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler(stack, t0, args.sample_seconds, raw, stop))
    writing = asyncio.create_task(load.run(stop))
    api_metrics = f"http://127.0.0.1:{stack.gateway_ops_port}/metrics"  # the GraphQL requests' counters
    end = t0 + args.minutes * 60
    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        before = outcomes((await client.get(api_metrics)).text)
        cpu_before, cpu_t0 = cpu_times(stack, reader.pid), time.monotonic()
        say("warm-up over: measuring")
        while (left := end - time.monotonic()) > 0:
            if writing.done():
                raise RuntimeError(f"the writers stopped early: {writing.exception()!r}")
            for name, proc in stack.procs.items():
                if proc.poll() is not None and name not in raw["exited"]:
                    raw["exited"][name] = proc.returncode
                    say(f"{name} exited with {proc.returncode}")
            await asyncio.sleep(min(left, 30))
            if left > 30:
                say(
                    f"{(time.monotonic() - t0) / 60:.1f} of {args.minutes:g} minutes; {len(load.writes):,} writes"
                )
        after = outcomes((await client.get(api_metrics)).text)
        cpu_after, cpu_t1 = cpu_times(stack, reader.pid), time.monotonic()
    stop.set()
    await writing
    await sampling
    await reader.wait()
    raw["graphql_outcomes"] = {k: after[k] - before.get(k, 0.0) for k in after}
    raw["cpu"] = {
        "wall_s": cpu_t1 - cpu_t0,
        "cores": os.cpu_count() or 1,
        # A process that exited or restarted meanwhile has no figure: its counter started anew.
        "seconds": {k: cpu_after[k] - v for k, v in cpu_before.items() if cpu_after.get(k, -1.0) >= v},
    }
    raw["writes"] = [asdict(w) for w in load.writes]
    raw["probes"] = [asdict(p) for p in load.probes]
    raw["write_failures"] = load.failures
    raw["probe_busy_answers"] = load.busy_answers
    raw["reads"] = read_results(vegeta, results, wall_start)
    raw["offered"] = {
        "writes_per_s": args.writes_per_s,
        "reads_per_s": args.reads_per_s,
        "warmup_s": args.warmup_seconds,
    }
    return raw


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; the defaults are what `make soak` runs."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("SOAK_MINUTES") or 20),
        help="measured minutes after the warm-up (default: $SOAK_MINUTES or 20)",
    )
    p.add_argument("--warmup-seconds", type=float, default=60, help="load before the measured minutes")
    p.add_argument("--writes-per-s", type=float, default=100, help="REST writes offered per second")
    p.add_argument("--reads-per-s", type=int, default=300, help="GraphQL reads offered per second")
    p.add_argument("--sample-seconds", type=float, default=5, help="seconds between memory and lag samples")
    p.add_argument("--probe-every", type=int, default=5, help="probe visibility after every n-th round")
    p.add_argument("--out", type=Path, default=HERE / "results", help="directory for the results")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "soak.png", help="where the PNG goes")
    p.add_argument("--keep-logs", type=Path, help="copy the processes' logs here before the stack goes")
    p.add_argument(
        "--gateway-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a gateway setting for this run, without its GATEWAY_ prefix (MAX_IN_FLIGHT=0); repeatable",
    )
    args = p.parse_args(argv)
    if args.minutes <= 0 or args.warmup_seconds < 0 or args.writes_per_s <= 0 or args.reads_per_s <= 0:
        p.error("--minutes, --writes-per-s and --reads-per-s must be positive, --warmup-seconds not negative")
    if args.sample_seconds <= 0 or args.probe_every <= 0:
        p.error("--sample-seconds and --probe-every must be positive")
    settings: dict[str, str] = {}
    known = {field.upper() for field in GatewaySettings.model_fields}
    for item in args.gateway_setting:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            p.error(f"--gateway-setting takes NAME=VALUE, the name in capitals without GATEWAY_: {item!r}")
        if name not in known:
            # The gateway would ignore it, and the report would still name it.
            p.error(f"--gateway-setting: the gateway has no setting GATEWAY_{name}")
        settings[name] = value
    args.gateway_setting = settings
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak and write its results."""
    args = parse_args(argv)
    sigterm_unwinds()  # the stack's Postgres and Kafka go with it
    vegeta = bench_vegeta.ensure_vegeta()
    facts = bench.machine()
    facts["load generators"] = (
        "vegeta (reads) and the soak's asyncio aiohttp writers, unpinned, on the same machine"
    )
    if args.gateway_setting:
        facts["gateway settings"] = ", ".join(f"GATEWAY_{k}={v}" for k, v in args.gateway_setting.items())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mpe-soak-") as tmp:
        stack = SoakStack(Path(tmp) / "stack", args.gateway_setting)
        try:
            stack.start()
            stack.load_demo()
            raw = asyncio.run(drive(stack, args, vegeta, Path(tmp)))
            raw["log_errors"] = log_errors(stack.logs)
            raw["answered_by"] = answered_by(stack.logs / "gateway.log")
            if args.keep_logs:
                shutil.copytree(stack.logs, args.keep_logs, dirs_exist_ok=True)
            facts["load average at end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        except KeyboardInterrupt:
            say("interrupted: stopping")
            return 130
        finally:
            stack.close()
    summary = soak_report.summarise(raw)
    args.out.mkdir(parents=True, exist_ok=True)
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    soak_report.plot(raw, summary, args.plot)
    stem = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    command = (
        "make soak"
        if argv is None and len(sys.argv) == 1
        else "python deploy/soak/soak.py " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    plot_link = os.path.relpath(args.plot, args.out)
    text = soak_report.render(summary, facts, command, plot_link)
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    series = {"rss": raw["rss"], "lag": raw["lag"]}
    details = {"machine": facts, "summary": summary, "series": series}
    (args.out / f"{stem}.json").write_text(json.dumps(details, indent=1, ensure_ascii=False) + "\n")
    print()
    print(text)
    say(
        f"done in {time.monotonic() - started:.0f} s; results in {args.out / stem}.md (.json beside it), plot {args.plot}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
