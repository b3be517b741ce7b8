"""`make bench-pipeline`: what the pipeline costs at the size of the data a running `make dev` holds.

Run it on a `make dev` stack (the demo: 1×), then after `make demo-scale SCALE=10` (10×) and so
on; each run appends one row per measure to deploy/bench/results/pipeline-<label>.json and .md.

- projector: the gateway's own projector (ConsumerRunner with the projector's handlers) under a
  fresh group, replaying every topic from offset 0 into an empty, migrated database; events/s.
- rebuild: `gateway rebuild` on the stack's gateway database (readers switched); events/s.
- write -> visible: PATCH /v1/firms/{brn} at a fixed rate (vegeta, open loop, each write to another
  firm); the clock runs from the write's commit (its outbox row's time) to the projector's
  commit of that firm's version (the change log's applied_at), both on the Postgres server's
  clock. p50 and p99.
- headline queries: the four of `make bench` (HEADLINE, in deploy/bench/queries; not `floor`) at
  200 requests/s for a few seconds (vegeta), cold (a
  second gateway API process on the same database with its response cache off) and warm (the
  stack's gateway); p50 and p99.
- export: /export/<entity>.ndjson rows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench_vegeta import attack, ensure_vegeta, measure, summary

from gateway.projector import freshness
from gateway.projector.handlers import HANDLERS, apply_batch
from gateway.projector.rebuild import rebuild
from mpe_devstack.dev import DevSettings
from mpe_kit import db, migrations
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.service import event_loop
from mpe_kit.status import RuntimeStatus

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "deploy" / "bench" / "results"
QUERIES = ROOT / "deploy" / "bench" / "queries"
# The partners' headline queries, `make bench`'s default; queries/ also holds `floor`, a baseline.
HEADLINE = ("firm", "program_overview", "spending", "technologies")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


class Stack:
    """Where the running `make dev` answers (MPE_DEV_* settings) and its credentials."""

    def __init__(self) -> None:
        s = DevSettings()
        self.settings = s
        home = s.dir or ROOT / ".dev"
        pairs = (
            line.split("=", 1) for line in (home / "credentials.env").read_text().splitlines() if "=" in line
        )
        creds = {k.strip(): v.strip() for k, v in pairs}
        self.token, self.key = creds["MPE_STAFF_TOKEN"], creds["MPE_PARTNER_KEY"]
        self.bootstrap = f"127.0.0.1:{s.kafka_port}"
        self.firms = f"http://127.0.0.1:{s.firms_port}"
        self.gateway = f"http://127.0.0.1:{s.gateway_port}"

    def dsn(self, database: str, user: str | None = None) -> str:
        return f"postgresql://{user or database}@127.0.0.1:{self.settings.pg_port}/{database}"


async def projector_replay(stack: Stack) -> dict[str, Any]:
    """The live projector's code under a fresh group into an empty database, to the end of the log."""
    from gateway.app import all_migrations

    name = f"bench_replay_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.dsn("postgres", "postgres"))
    await admin.execute(f"create database {name}")
    try:
        dsn = stack.dsn(name, "postgres")
        await migrations.migrate(dsn, all_migrations())
        pool = await db.create_pool(dsn, min_size=1, max_size=2)
        runner = ConsumerRunner(
            name=name,
            pool=pool,
            bootstrap=stack.bootstrap,
            handlers=HANDLERS,
            batch_handler=apply_batch,
            status=RuntimeStatus(),
            on_batch=freshness.on_batch,
        )
        total = await _log_end(stack)
        stop = asyncio.Event()
        started = time.monotonic()
        task = asyncio.create_task(runner.run(stop))
        done = 0
        while time.monotonic() - started < 3600:
            await asyncio.sleep(0.2)
            async with pool.acquire() as c:
                done = int(await c.fetchval("select coalesce(sum(next_offset), 0) from source_positions"))
            print(f"  projector replay: {done:,}/{total:,}", file=sys.stderr, end="\r")
            if done >= total:
                break
        seconds = time.monotonic() - started
        stop.set()
        await task
        await pool.close()
        return {"events": done, "seconds": round(seconds, 1), "events_per_s": round(done / seconds)}
    finally:
        await admin.execute(f"drop database if exists {name} with (force)")
        await admin.close()


async def _log_end(stack: Stack) -> int:
    from aiokafka import AIOKafkaConsumer

    from mpe_events.registry import EVENT_TYPES
    from mpe_kit import dlq

    topics = sorted({EVENT_TYPES[t].topic.name for t in HANDLERS})
    tps = await dlq.partitions(stack.bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def rebuild_run(stack: Stack) -> dict[str, Any]:
    """`gateway rebuild` on the stack's database, readers switched; the replaced schema dropped."""
    dsn = stack.dsn("gateway")
    result = await rebuild(
        dsn=dsn,
        bootstrap=stack.bootstrap,
        consumer_name="gateway-projector",
        runtime_role="gateway_runtime",
    )
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"drop schema {result.replaced} cascade")
    await conn.close()
    p = result.progress
    # The switch's one transaction (its catch-up with the live projector, the carried keys and
    # change log, the renames) holds the live projector's batches back while it runs.
    switch_s = p.phases["switch"] - p.phases["caught up"]
    return {
        "events": p.read,
        "seconds": round(p.seconds, 1),
        "events_per_s": round(p.rate),
        "switch_seconds": round(switch_s, 3),
    }


async def write_visible(stack: Stack, rate: int, seconds: float) -> dict[str, Any]:
    """Open-loop PATCHes of distinct firms at `rate`/s (vegeta); ms from the write's commit to the read model's.

    Both ends are read from the one Postgres server's clock: the firms outbox row's `time`
    (stamped in the write's transaction, just before its commit and its answer) and the gateway
    change log's `applied_at` (stamped in the projector's transaction). Each firm is written
    once per step (a second write would need the first one's ETag), so a step sends at most as
    many writes as there are firms; an acknowledged write is the firm's next version.
    """
    gw = await asyncpg.connect(stack.dsn("gateway"))
    firms = await gw.fetch("select brn, version from firms order by random() limit $1", int(rate * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        targets, results = Path(tmp) / "targets.json", Path(tmp) / "results.bin"
        with targets.open("w") as f:
            for n, row in enumerate(firms):
                body = json.dumps({"region": f"벤치 {n % 7}"}, ensure_ascii=False).encode()
                target = {
                    "method": "PATCH",
                    "url": f"{stack.firms}/v1/firms/{row['brn']}",
                    "body": base64.b64encode(body).decode(),
                    "header": {
                        "Authorization": [f"Bearer {stack.token}"],
                        "If-Match": [f'"{row["version"]}"'],
                        "Content-Type": ["application/json"],
                    },
                }
                f.write(json.dumps(target) + "\n")
        vegeta = ensure_vegeta()
        await asyncio.to_thread(attack, vegeta, targets, rate=rate, seconds=len(firms) / rate, out=results)
        report = await asyncio.to_thread(summary, vegeta, results)
    await asyncio.sleep(5)
    brns = [r["brn"] for r in firms]
    next_version = {r["brn"]: r["version"] + 1 for r in firms}
    applied = await gw.fetch(
        "select entity_key, version, extract(epoch from applied_at) as t from changes"
        " where entity_type = 'firm' and entity_key = any($1::text[])",
        brns,
    )
    await gw.close()
    fs = await asyncpg.connect(stack.dsn("firms"))
    written = await fs.fetch(
        "select subject, (payload ->> 'version')::int as version, extract(epoch from time) as t from outbox"
        " where topic = 'mpe.firms.firm' and subject = any($1::text[])",
        brns,
    )
    await fs.close()
    seen = {(r["entity_key"], r["version"]): float(r["t"]) for r in applied}
    at = {
        (r["subject"], r["version"]): float(r["t"])
        for r in written
        if next_version[r["subject"]] == r["version"]
    }
    ms = [(seen[k] - t) * 1000 for k, t in at.items() if k in seen]
    acked = int(report["status_codes"].get("200", 0))
    return {
        "rate": rate,
        # Acknowledged writes per second over the attack (vegeta's throughput).
        "achieved_rate": round(report["throughput"]),
        "writes": acked,
        "errors": int(report["requests"]) - acked,
        "status_codes": _statuses(report),
        # Committed: the firm's next version is in the outbox (a write vegeta gave up on may be too).
        "committed": len(at),
        "not_seen": len(at) - len(ms),
        "ack_p99_ms": round(report["latencies"]["99th"] / 1e6, 1),
        "p50_ms": round(_pct(ms, 0.5), 1),
        "p99_ms": round(_pct(ms, 0.99), 1),
    }


async def _load(url: str, key: str, body: dict[str, Any], rate: int, seconds: float) -> dict[str, Any]:
    """One query at `rate`/s for `seconds` (vegeta); an answer counts if it is the priming answer's length."""
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        primed = await client.post("/graphql", json=body)
    if primed.status_code != 200 or "errors" in primed.json():
        raise RuntimeError(f"the query fails on {url}: {primed.text[:300]}")
    with tempfile.TemporaryDirectory() as tmp:
        targets, results = Path(tmp) / "targets.json", Path(tmp) / "results.bin"
        target = {
            "method": "POST",
            "url": f"{url}/graphql",
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "header": {"X-API-Key": [key], "Content-Type": ["application/json"]},
        }
        targets.write_text(json.dumps(target) + "\n")
        vegeta = ensure_vegeta()
        await asyncio.to_thread(attack, vegeta, targets, rate=rate, seconds=seconds, out=results)
        report, correct = await asyncio.to_thread(measure, vegeta, results, len(primed.content))
    latencies = report["latencies"]
    return {
        "p50_ms": round(latencies["50th"] / 1e6, 1),
        "p99_ms": round(latencies["99th"] / 1e6, 1),
        "achieved_rate": round(report["throughput"]),
        "errors": int(report["requests"]) - correct,
        "status_codes": _statuses(report),
    }


def _statuses(report: dict[str, Any]) -> dict[str, int]:
    """vegeta's answers by HTTP status, in order; "0" is its status for no answer (a timeout, say)."""
    return {code: int(n) for code, n in sorted(report.get("status_codes", {}).items())}


def _errors(m: dict[str, Any]) -> str:
    """'3 errors', with the statuses of the answers that were not a correct 200 (503: busy)."""
    codes: dict[str, int] = m.get("status_codes", {})
    others = [
        f"{'no answer' if code == '0' else code} ×{n}" for code, n in codes.items() if code != "200" and n
    ]
    if codes:
        # A query's error may also be a 200 whose length differs from the priming answer's.
        wrong = m["errors"] - sum(n for code, n in codes.items() if code != "200")
        if wrong > 0:
            others.append(f"200 of another length ×{wrong}")
    noun = "error" if m["errors"] == 1 else "errors"
    return f"{m['errors']} {noun}" + (f": {', '.join(others)}" if others else "")


def _cold_gateway(stack: Stack, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": stack.dsn("gateway", "gateway_runtime"),
        "GATEWAY_KAFKA_BOOTSTRAP": stack.bootstrap,
        "GATEWAY_PORT": str(port),
        "GATEWAY_OPS_PORT": str(port + 1),
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_RESPONSE_CACHE_SIZE": "0",
        "GATEWAY_RATE_LIMIT_PER_S": "0",
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gateway"), "api"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the cold gateway did not start")


async def queries(stack: Stack, cold_port: int, rate: int, seconds: float) -> dict[str, Any]:
    """Each headline query, cold and warm."""
    proc = _cold_gateway(stack, cold_port)
    out: dict[str, Any] = {}
    try:
        for name in HEADLINE:
            body = {"query": (QUERIES / f"{name}.graphql").read_text()}
            out[name] = {
                "cold": await _load(f"http://127.0.0.1:{cold_port}", stack.key, body, rate, seconds),
                "warm": await _load(stack.gateway, stack.key, body, rate, seconds),
            }
    finally:
        proc.terminate()
        proc.wait(10)
    return out


async def exports(stack: Stack, entities: list[str]) -> dict[str, Any]:
    """Rows per second of each bulk export, read to the end."""
    out = {}
    async with httpx.AsyncClient(
        base_url=stack.gateway, headers={"X-API-Key": stack.key}, timeout=600
    ) as client:
        for entity in entities:
            started, rows = time.perf_counter(), 0
            async with client.stream("GET", f"/export/{entity}.ndjson") as r:
                r.raise_for_status()
                async for line in r.aiter_lines():
                    rows += bool(line.strip())
            seconds = time.perf_counter() - started
            out[entity] = {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}
    return out


def _markdown(label: str, r: dict[str, Any]) -> str:
    lines = [f"# Pipeline at {label}", "", f"{r['when']}, {r['machine']}", ""]
    lines += ["| measure | value |", "|---|---:|"]
    lines.append(f"| events in the topics | {r['events']:,} |")
    for key in ("projector", "rebuild"):
        if key in r:
            lines.append(f"| {key} | {r[key]['events_per_s']:,} events/s ({r[key]['seconds']} s) |")
    if "switch_seconds" in r.get("rebuild", {}):
        lines.append(
            f"| rebuild's switch (the live projector held back) | {r['rebuild']['switch_seconds']} s |"
        )
    for v in r.get("write_visible", []):
        lines.append(
            f"| write → visible at {v['rate']}/s ({v['writes']} writes, {v['achieved_rate']}/s acknowledged,"
            f" acknowledgement p99 {v['ack_p99_ms']} ms)"
            f" | p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms ({_errors(v)}; {v['not_seen']} not seen) |"
        )
    for name, q in r.get("queries", {}).items():
        for mode in ("cold", "warm"):
            m = q[mode]
            lines.append(
                f"| {name} {mode} ({m['achieved_rate']}/s answered) | p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms"
                f" ({_errors(m)}) |"
            )
    for name, e in r.get("exports", {}).items():
        lines.append(f"| export {name} | {e['rows_per_s']:,} rows/s ({e['rows']:,} rows) |")
    if r.get("queries"):
        lines += [
            "",
            "A query's p50 and p99 are over every request, those refused at once with 503 included;"
            " 'answered' counts the 200s.",
        ]
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stack = Stack()
    out: dict[str, Any] = {
        "label": args.label,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "events": await _log_end(stack),
    }
    steps = set(args.steps.split(","))
    if "projector" in steps:
        out["projector"] = await projector_replay(stack)
    if "rebuild" in steps:
        out["rebuild"] = await rebuild_run(stack)
    if "visible" in steps:
        out["write_visible"] = [await write_visible(stack, rate, args.seconds) for rate in args.rates]
    if "queries" in steps:
        out["queries"] = await queries(stack, args.cold_port, args.query_rate, args.seconds)
    if "export" in steps:
        out["exports"] = await exports(stack, ["firms", "projects"])
    return out


def main() -> None:
    """Measure, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="What the stack holds, e.g. 1x, 10x, 100x.")
    parser.add_argument("--steps", default="projector,rebuild,visible,queries,export")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200, 500])
    parser.add_argument("--query-rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="Length of each load step.")
    parser.add_argument("--cold-port", type=int, default=int(os.environ.get("BENCH_COLD_PORT", "18190")))
    args = parser.parse_args()
    # As the services' processes run (uvloop, the start-up heap frozen out of the collector).
    with event_loop() as runner:
        result = runner.run(run(args))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stamp}-pipeline-{args.label}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False)
    )
    text = _markdown(args.label, result)
    (RESULTS / f"{stamp}-pipeline-{args.label}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
