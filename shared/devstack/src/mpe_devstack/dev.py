"""`mpe-dev`: the whole system on this machine, in the foreground, until Ctrl-C or SIGTERM.

Starts Postgres and Kafka as real processes, migrates and starts every service, loads the
demo dataset, writes dev credentials to .dev/credentials.env and prints the URLs. A service
that exits is restarted with backoff (mpe_devstack.supervise), and one whose file
`.dev/hold/<service>` exists is stopped and kept stopped until the file is removed. On Ctrl-C or
SIGTERM, or when one keeps crashing, it stops everything it started, services first, within the
20 s budget.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import BinaryIO, cast

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from mpe_devstack import demo
from mpe_devstack.jars import ensure_kafka_jars, repo_root
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import port_is_listening, wait_for_port_closed, wait_ready
from mpe_devstack.postgres import PostgresServer
from mpe_devstack.supervise import RestartPolicy, Supervised, Supervisor, exit_words
from mpe_kit.auth import issue_token

_ALL_SCOPES = "catalog:read,firms:read,firms:financials,budget:read"
# Every scope but the firms' financials: what most partner agencies get.
_BASIC_SCOPES = "catalog:read,firms:read,budget:read"


class DevSettings(BaseSettings):
    """Ports and places of the dev stack; MPE_DEV_* env vars, or the services' own port settings."""

    model_config = SettingsConfigDict(env_prefix="MPE_DEV_", extra="ignore")

    dir: Path | None = None
    pg_port: int = 54329
    kafka_port: int = 9092
    catalog_port: int = int(os.environ.get("CATALOG_PORT", "8001"))
    firms_port: int = int(os.environ.get("FIRMS_PORT", "8003"))
    budget_port: int = int(os.environ.get("BUDGET_PORT", "8002"))
    gateway_port: int = int(os.environ.get("GATEWAY_PORT", "8000"))
    load_demo: bool = True
    # A service that exits is restarted with backoff; past this many exits in the window the
    # runner stops everything (MPE_DEV_MAX_CRASHES, MPE_DEV_CRASH_WINDOW_S).
    max_crashes: int = 5
    crash_window_s: float = 120.0


class Shutdown(Exception):
    """SIGINT or SIGTERM arrived."""


# A service's ops listener is on its port plus this.
OPS_PORT_OFFSET = 1000


@dataclass
class Service:
    """A service process the dev stack runs."""

    name: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    # What only the migrations get: the owner's connection and the role to grant DML to.
    migrate_env: dict[str, str] = field(default_factory=dict)

    @property
    def ops_port(self) -> int:
        """Where it answers /healthz, /readyz and /metrics."""
        return self.port + OPS_PORT_OFFSET

    @property
    def url(self) -> str:
        """Where it answers HTTP."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ended(self) -> str | None:
        """None while it runs (or before it started); how it ended once it has."""
        return exit_words(None if self.proc is None else self.proc.poll())


@dataclass
class Broker:
    """The dev stack's one Kafka node, as the supervisor watches it."""

    cluster: KafkaCluster
    name: str = "Kafka"

    @property
    def ended(self) -> str | None:
        """None while the broker runs; how it ended once it has."""
        return exit_words(self.cluster.exit_code(self.cluster.node_ids[0]))

    def start(self) -> None:
        """Start it again and wait until it serves."""
        self.cluster.start_node(self.cluster.node_ids[0])


@dataclass
class Database:
    """The dev stack's Postgres, as the supervisor watches it (pg_ctl runs it detached, so its
    exit code is not ours to read)."""

    server: PostgresServer
    name: str = "Postgres"

    @property
    def ended(self) -> str | None:
        """None while the server runs; "stopped" once its process is gone."""
        return None if self.server.postmaster_pid() is not None else "stopped"

    def start(self) -> None:
        """Start it again (Postgres recovers from its WAL) and wait until it accepts connections."""
        self.server.start()


def _say(msg: str) -> None:
    print(f"[mpe-dev] {msg}", flush=True)


def _raise_shutdown(signum: int, _frame: FrameType | None) -> None:
    raise Shutdown(signal.Signals(signum).name)


# Ctrl-C, a process manager's stop, and the terminal closing: each stops everything. The
# services and Kafka run in sessions of their own, so a hang-up would not reach them.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """While stopping, a second Ctrl-C must not abandon the cleanup half-way."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _log(svc: Service, logs: Path) -> BinaryIO:
    return (logs / f"{svc.name}.log").open("ab")


def _migrate(svc: Service, logs: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [_bin(svc.name), "migrate"],
        env={**os.environ, **svc.env, **svc.migrate_env},
        stdout=_log(svc, logs),
        stderr=subprocess.STDOUT,
    )


def _start_service(svc: Service, logs: Path) -> None:
    svc.proc = subprocess.Popen(
        [_bin(svc.name), "serve"],
        env={**os.environ, **svc.env},
        stdout=_log(svc, logs),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(svc: Service, timeout: float = 60) -> None:
    wait_ready(svc.url, name=svc.name, log=f".dev/logs/{svc.name}.log", proc=svc.proc, timeout=timeout)


def _stop_service(svc: Service, timeout: float = 10) -> None:
    proc = svc.proc
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    # Its ops listener too: a process of the group may close it after the group's leader exited.
    for port in (svc.port, svc.ops_port):
        with contextlib.suppress(TimeoutError):
            wait_for_port_closed("127.0.0.1", port, timeout=3)


def _secret(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _partner_key(gateway: Service, path: Path, scopes: str) -> str:
    """Reuse the dev key if the gateway still takes it, else create one with the gateway's CLI."""
    if path.exists():
        old = path.read_text().strip()
        probe = httpx.post(
            f"{gateway.url}/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": old}, timeout=10
        )
        if probe.status_code == 200:
            return old
    out = subprocess.run(
        [_bin("gateway"), "keys", "create", "--agency", f"dev ({path.name})", "--scopes", scopes, "--json"],
        env={**os.environ, **gateway.env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    secret: str = json.loads(out)["key"]
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def dev_ports(settings: DevSettings) -> dict[str, int]:
    """Every port the dev stack listens on, keyed by what listens there and the setting that moves it."""
    ports = {
        "Postgres (MPE_DEV_PG_PORT)": settings.pg_port,
        "Kafka (MPE_DEV_KAFKA_PORT)": settings.kafka_port,
        "Kafka's controller (MPE_DEV_KAFKA_PORT + 1)": settings.kafka_port + 1,
    }
    for name in ("catalog", "firms", "budget", "gateway"):
        port: int = getattr(settings, f"{name}_port")
        ports[f"{name} (MPE_DEV_{name.upper()}_PORT)"] = port
        ports[f"{name}'s ops listener (MPE_DEV_{name.upper()}_PORT + {OPS_PORT_OFFSET})"] = (
            port + OPS_PORT_OFFSET
        )
    return ports


def port_problem(settings: DevSettings) -> str | None:
    """Why the stack cannot start on these ports (out of range, one port for two listeners, or
    already taken), or None when they are fine."""
    ports = dev_ports(settings)
    for what, port in ports.items():
        if not 1 <= port <= 65535:
            return f"{what} would be port {port}, outside 1-65535; change it with MPE_DEV_* settings"
    seen: dict[int, str] = {}
    for what, port in ports.items():
        if port in seen:
            return f"{seen[port]} and {what} would both be port {port}; change one with MPE_DEV_* settings"
        seen[port] = what
    for what, port in ports.items():
        if port_is_listening("127.0.0.1", port):
            return (
                f"port {port}, for {what}, is already in use; is another `make dev` running? "
                "(change it with MPE_DEV_* settings)"
            )
    return None


def run(settings: DevSettings) -> int:
    """Bring the stack up, wait for a signal, bring it down."""
    root = repo_root()
    home = settings.dir or root / ".dev"
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # the postgres OS user must reach its data dir below
    holds = home / "hold"
    holds.mkdir(exist_ok=True)
    for stale in sorted(holds.iterdir()):
        # A hold is for the run that saw it made: a new run starts every service.
        _say(f"removing {stale}, a hold left by an earlier run")
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_shutdown)

    problem = port_problem(settings)
    if problem:
        _say(problem)
        return 1

    pg = PostgresServer(home / "pg", port=settings.pg_port)
    kafka = KafkaCluster(home / "kafka", nodes=1, base_port=settings.kafka_port)
    secret = _secret(home / "jwt-secret")
    common = {"KAFKA_BOOTSTRAP": kafka.bootstrap, "JWT_SECRET": secret, "HOST": "127.0.0.1"}
    catalog = Service("catalog", settings.catalog_port, {f"CATALOG_{k}": v for k, v in common.items()})
    firms = Service("firms", settings.firms_port, {f"FIRMS_{k}": v for k, v in common.items()})
    budget = Service("budget", settings.budget_port, {f"BUDGET_{k}": v for k, v in common.items()})
    gateway = Service("gateway", settings.gateway_port, {f"GATEWAY_{k}": v for k, v in common.items()})
    services = [catalog, firms, budget, gateway]
    for svc in services:
        prefix = svc.name.upper()
        svc.env[f"{prefix}_PORT"] = str(svc.port)
        svc.env[f"{prefix}_OPS_PORT"] = str(svc.ops_port)
        # As in a cluster: the owner role migrates, the runtime role only reads and writes rows.
        svc.env[f"{prefix}_DATABASE_URL"] = pg.dsn(svc.name, user=f"{svc.name}_runtime")
        svc.migrate_env[f"{prefix}_DATABASE_RUNTIME_ROLE"] = f"{svc.name}_runtime"
    gateway.env["GATEWAY_GRAPHIQL"] = "true"
    gateway.env["GATEWAY_PORTAL_DIR"] = str(root / "services" / "gateway" / "portal" / "dist")
    gateway.env["GATEWAY_INTROSPECTION"] = "true"
    # One developer, one key: the partners' rate limit would only get in the way (make visibility).
    gateway.env["GATEWAY_RATE_LIMIT_PER_S"] = "0"
    firms.env["FIRMS_CATALOG_URL"] = catalog.url
    firms.env["FIRMS_SERVICE_TOKEN"] = issue_token(
        secret, sub="svc-firms", roles=["viewer"], ttl_s=365 * 24 * 3600
    )
    budget.env["BUDGET_CATALOG_URL"] = catalog.url
    budget.env["BUDGET_FIRMS_URL"] = firms.url
    budget.env["BUDGET_SERVICE_TOKEN"] = issue_token(
        secret, sub="svc-budget", roles=["viewer"], ttl_s=365 * 24 * 3600
    )
    # Often enough that the demo's first cohort expires moments after it is loaded.
    firms.env["FIRMS_EXPIRY_INTERVAL_S"] = "10"

    started = time.monotonic()
    try:
        _say("fetching Kafka (cached after the first run)")
        ensure_kafka_jars(log=_say)
        _say(f"starting Postgres on 127.0.0.1:{settings.pg_port}")
        pg.start()
        for svc in services:
            fresh = not pg.database_exists(svc.name)
            pg.create_database(svc.name)
            pg.ensure_role(svc.name)
            pg.ensure_role(f"{svc.name}_runtime")
            if fresh:
                pg.set_database_owner(svc.name, svc.name)
            # A .dev/ made before the roles existed keeps its superuser-owned tables.
            owner = pg.database_owner(svc.name)
            svc.migrate_env[f"{svc.name.upper()}_DATABASE_URL"] = pg.dsn(svc.name, user=owner)
        # Migrations need only Postgres: they run while Kafka starts.
        _say("migrating " + ", ".join(svc.name for svc in services))
        migrating = [(svc, _migrate(svc, logs)) for svc in services]
        _say(f"starting Kafka on {kafka.bootstrap}")
        kafka.start()
        for svc, proc in migrating:
            if proc.wait() != 0:
                raise RuntimeError(f"{svc.name} migrate failed; see {logs}/{svc.name}.log")
        for svc in services:
            _say(f"starting {svc.name} on {svc.url}")
            _start_service(svc, logs)
        for svc in services:
            _wait_ready(svc)
        token = issue_token(secret, sub="dev-staff", roles=["editor"], ttl_s=30 * 24 * 3600)
        key = _partner_key(gateway, home / "partner-key", _ALL_SCOPES)
        basic = _partner_key(gateway, home / "partner-key-basic", _BASIC_SCOPES)
        (home / "credentials.env").write_text(
            f"MPE_STAFF_TOKEN={token}\nMPE_PARTNER_KEY={key}\nMPE_PARTNER_KEY_BASIC={basic}\n"
        )
        if settings.load_demo:
            _say(f"demo technology list: {demo.load(catalog.url, token, log=_say)}")
            seen = demo.wait_visible(gateway.url, key, timeout_s=60)
            _say(f"gateway shows {seen} listed technologies")
            t0 = time.monotonic()
            _say(f"demo firms: {demo.load_firms(firms.url, token, log=_say)} ({time.monotonic() - t0:.1f}s)")
            t0 = time.monotonic()
            _say(
                f"demo budget: {demo.load_budget(budget.url, token, log=_say)} ({time.monotonic() - t0:.1f}s)"
            )
        _print_banner(services, kafka, pg, home, time.monotonic() - started)
        # A crashed service, broker or database is restarted with backoff; one that keeps
        # crashing stops everything.
        broker, database = Broker(kafka), Database(pg)
        hints: dict[str, Path] = {svc.name: logs / f"{svc.name}.log" for svc in services}
        hints |= {broker.name: kafka.log_file(kafka.node_ids[0]), database.name: pg.log_file}

        by_name = {svc.name: svc for svc in services}

        def restart(what: Supervised) -> None:
            if isinstance(what, Broker | Database):
                what.start()
            else:
                _start_service(cast("Service", what), logs)

        supervisor = Supervisor(
            [database, broker, *services],
            start=restart,
            say=_say,
            policy=RestartPolicy(max_crashes=settings.max_crashes, window_s=settings.crash_window_s),
            log_hint=lambda what: f"; see {hints[what.name]}",
            # Only a service can be held: the supervisor stops it as Ctrl-C would.
            held=lambda name: name in by_name and (holds / name).exists(),
            stop=lambda what: _stop_service(by_name[what.name]),
        )
        while True:
            supervisor.check()
            time.sleep(0.5)
    except Shutdown as sig:
        _say(f"{sig}: stopping")
        return 0
    except Exception as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        with _signals_deferred():
            t0 = time.monotonic()
            for svc in reversed(services):
                _stop_service(svc)
            kafka.stop(timeout=10)
            pg.stop()
            _say(f"stopped everything in {time.monotonic() - t0:.1f}s")


def _print_banner(
    services: list[Service], kafka: KafkaCluster, pg: PostgresServer, home: Path, took: float
) -> None:
    catalog, firms, budget, gateway = services
    lines = [
        f"ready in {took:.0f}s",
        f"  GraphQL:            {gateway.url}/graphql",
        f"  explorer:           {gateway.url}/explorer/  (GraphiQL, no internet needed)",
        f"  partner docs:       {gateway.url}/docs/  (reference, guides in English and Korean)",
        f"  catalog REST API:   {catalog.url}/v1  (OpenAPI docs: {catalog.url}/docs)",
        f"  firms REST API:     {firms.url}/v1  (OpenAPI docs: {firms.url}/docs)",
        f"  budget REST API:    {budget.url}/v1  (OpenAPI docs: {budget.url}/docs)",
        "  ops (/healthz, /readyz, /metrics): "
        + ", ".join(f"{svc.name} :{svc.ops_port}" for svc in services),
        f"  Kafka bootstrap:    {kafka.bootstrap}",
        f"  Postgres:           {pg.dsn('catalog')} (and /gateway)",
        f"  credentials:        {home / 'credentials.env'}  (MPE_STAFF_TOKEN, MPE_PARTNER_KEY, MPE_PARTNER_KEY_BASIC)",
        f"  service logs:       {home / 'logs'}/",
        f"  hold a service:     touch {home / 'hold'}/<service>  (stops it until the file is removed)",
        '  try: . .dev/credentials.env && curl -s localhost:8000/graphql -H "X-API-Key: $MPE_PARTNER_KEY" \\',
        "         -H 'content-type: application/json' -d '{\"query\": \"{ industries { code technologyCount } }\"}'",
        "Ctrl-C stops everything.",
    ]
    for line in lines:
        _say(line)


def main() -> None:
    """Entry point of `mpe-dev`."""
    sys.exit(run(DevSettings()))
