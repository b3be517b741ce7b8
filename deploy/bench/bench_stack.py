"""The benchmark's throwaway stack: Postgres, one Kafka broker and the four services.

`Stack` starts them in a temporary directory on free ports (as `make dev` would), loads the
demo through the write services' REST APIs and, for a scale above 1, the dataset of
`make demo-scale` (mpe_devstack.scale) straight into the firms and budget databases, then waits
until the gateway has projected everything, saying how many events are left as it goes.
bench.py, ab.py and deploy/soak/soak.py build on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
import httpx

from mpe_devstack import demo, scale
from mpe_devstack.jars import ensure_kafka_jars
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port_range, wait_for_port_closed, wait_ready
from mpe_devstack.postgres import PostgresServer, find_pg_bin
from mpe_devstack.proc_cpu import pin_tree, tree_cpu_seconds
from mpe_kit.auth import issue_token

ALL_SCOPES = "catalog:read,firms:read,firms:financials,budget:read"
SERVICES = ("catalog", "firms", "budget", "gateway")
WRITE_SERVICES = ("catalog", "firms", "budget")

# How long the wait for the projector may take: a floor, plus the events at a rate well below
# what the projector does today (~190 events/s), so a slow but moving run is not cut short.
SETTLE_FLOOR_S = 120.0
SETTLE_EVENTS_PER_S = 50.0
# The events left not moving at all for this long while some are left: the pipeline is stuck.
# (Not "no new low": the projector's lag is the one it last measured, and it grows while the
# relays publish faster than it projects.)
STALL_S = 300.0


def say(message: str) -> None:
    """A progress line."""
    print(f"[bench] {message}", flush=True)


def settle_timeout(events: int) -> float:
    """Seconds the wait for the projector may take when `events` were added at once."""
    return SETTLE_FLOOR_S + events / SETTLE_EVENTS_PER_S


def events_left(
    write_ready: Sequence[Mapping[str, Any]], gateway_ready: Mapping[str, Any]
) -> tuple[int, int]:
    """Events not yet published (the write services' outboxes) and not yet projected (the gateway's lag).

    The gateway's /readyz reports its consumers' lag and the projector's own per topic; the
    larger sum is what the projector has left. A service that reports no outbox counts one
    pending, so an answer without the figure never reads as done.
    """
    pending = sum(int(body.get("outbox", {}).get("pending", 1)) for body in write_ready)
    consumers = sum(int(c["lag"]) for c in gateway_ready.get("consumers", {}).values())
    projection = sum(int(t["lag"]) for t in gateway_ready.get("projection", {}).values())
    return pending, max(consumers, projection)


def is_quiet(write_ready: Sequence[Mapping[str, Any]], gateway_ready: Mapping[str, Any]) -> bool:
    """Every outbox sent and the gateway reporting lags, all of them zero."""
    reported = bool(gateway_ready.get("consumers") or gateway_ready.get("projection"))
    return reported and events_left(write_ready, gateway_ready) == (0, 0)


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
        # Every port from one block, so no two listeners draw the same one: Postgres, Kafka and
        # its controller, the services, then the gateway's ops port (where its /metrics is,
        # never on the partner port).
        ports = iter(range(first := free_port_range(4 + len(SERVICES)), first + 4 + len(SERVICES)))
        self.pg = PostgresServer(home / "pg", port=next(ports), settings=settings)
        self.kafka = KafkaCluster(home / "kafka", nodes=1, base_port=next(ports))
        next(ports)  # the controller's
        self.secret = secrets.token_urlsafe(32)
        self.ports = {name: next(ports) for name in SERVICES}
        self.gateway_ops_port = next(ports)
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
        wait_ready(
            self.url(name), name=name, log=self.logs / f"{name}.log", proc=self.procs[name], timeout=timeout
        )

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

    def load_scale(self, factor: int) -> int:
        """`make demo-scale`'s dataset at `factor`× into the firms and budget databases (their
        rows and outboxes, as mpe_devstack.scale writes them), then wait until the gateway has
        projected it; the number of events it added. The demo must be loaded first."""
        started = time.monotonic()
        data, counts = asyncio.run(
            scale.load(factor, firms_dsn=self.pg.dsn("firms"), budget_dsn=self.pg.dsn("budget"))
        )
        sizes = {table: len(rows) for part in (data.firms, data.budget) for table, rows in part.rows.items()}
        events = sum(counts.values())
        say(
            f"scale {factor}x: {', '.join(f'{n:,} {t}' for t, n in sizes.items())}; {events:,} events"
            f" in the outboxes ({time.monotonic() - started:.0f} s)"
        )
        self.settle(timeout=settle_timeout(events))
        return events

    def _readyz(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        writes = [httpx.get(f"{self.url(n)}/readyz", timeout=5).json() for n in WRITE_SERVICES]
        return writes, httpx.get(f"{self.url('gateway')}/readyz", timeout=5).json()

    def settle(self, timeout: float = SETTLE_FLOOR_S, *, every_s: float = 10) -> None:
        """Until every outbox is sent and the projector has no lag, for 3 s in a row.

        Says how many events are left every `every_s` seconds; gives up after `timeout` seconds,
        or when the events left have not changed for STALL_S seconds.
        """
        started = time.monotonic()
        quiet_since: float | None = None
        said = started
        reading, moved_at = (-1, -1), started
        time.sleep(2)  # the firms' expiry task (every second) moves the demo's first cohort
        while (now := time.monotonic()) - started < timeout:
            try:
                writes, gateway = self._readyz()
            except (httpx.HTTPError, ValueError):  # a busy service: ask again
                time.sleep(1)
                continue
            pending, lag = events_left(writes, gateway)
            if (pending, lag) != reading:
                reading, moved_at = (pending, lag), now
            elif now - moved_at > STALL_S:
                raise RuntimeError(
                    f"nothing moved for {STALL_S:.0f} s: {pending:,} events unpublished, {lag:,} to project"
                )
            if now - said >= every_s and pending + lag:
                say(
                    f"events left: {pending:,} in the outboxes, {lag:,} for the projector ({now - started:.0f} s)"
                )
                said = now
            if is_quiet(writes, gateway):
                quiet_since = quiet_since or now
                if now - quiet_since >= 3:
                    return
            else:
                quiet_since = None
            time.sleep(0.5)
        raise RuntimeError(f"the gateway did not catch up in {timeout:.0f} s")

    def postmaster_pid(self) -> int:
        """The pid of the Postgres server's main process (its backends are its children)."""
        return int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])

    def postgres_cpu_seconds(self) -> float:
        """CPU time the postmaster and all its backends and workers have used so far."""
        return tree_cpu_seconds(self.postmaster_pid())

    def pin_postgres(self, cpu: str) -> None:
        """Pin Postgres (the postmaster, its current processes, and so every later backend) to `cpu`."""
        pin_tree(self.postmaster_pid(), cpu)

    def loaded_and_still(self, scale: int, cpu: str) -> None:
        """Start the stack, load the demo (and `make demo-scale`'s data at `scale` > 1), then
        stop every service, quiesce the databases and pin Postgres to `cpu`: ready for a
        gateway, or another server, to be served on its read model alone."""
        self.start()
        self.load_demo()
        if scale > 1:
            self.load_scale(scale)
        for name in SERVICES:
            self.stop(name)
        self.quiesce()
        self.pin_postgres(cpu)

    def quiesce(self) -> None:
        """VACUUM (ANALYZE) every service's database, then CHECKPOINT: after a large load,
        autovacuum and the checkpointer would otherwise work during the rungs, on Postgres's CPU."""

        async def run() -> None:
            for name in SERVICES:
                conn = await asyncpg.connect(self.pg.dsn(name))
                try:
                    await conn.execute("vacuum (analyze)")
                finally:
                    await conn.close()
            conn = await asyncpg.connect(self.pg.dsn("postgres"))
            try:
                await conn.execute("checkpoint")
            finally:
                await conn.close()

        started = time.monotonic()
        asyncio.run(run())
        say(f"vacuumed, analysed and checkpointed every database ({time.monotonic() - started:.0f} s)")

    def close(self) -> None:
        """Stop everything this stack started."""
        for name in reversed(list(self.procs)):
            self.stop(name)
        self.kafka.stop(timeout=10)
        self.pg.stop()
