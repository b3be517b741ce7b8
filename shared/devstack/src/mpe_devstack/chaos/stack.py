"""The chaos stack: Postgres, a three-broker cluster, and every service's processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mpe_devstack.chaos.common import WRITE_SERVICES, _bin, _say
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port, free_port_range, wait_for_port_closed, wait_ready
from mpe_devstack.postgres import PostgresServer
from mpe_kit.auth import issue_token

# -- processes --------------------------------------------------------------------------------


@dataclass
class Proc:
    """One service process (`<service> api|worker`) the harness owns and may kill and restart."""

    name: str
    service: str
    command: str
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it in its own process group, appending to its log."""
        handle: BinaryIO
        with self.log.open("ab") as handle:
            self.popen = subprocess.Popen(
                [_bin(self.service), self.command],
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        """The pid while it runs."""
        if self.popen is None or self.popen.poll() is not None:
            return None
        return self.popen.pid

    def kill(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 15) -> None:
        """Signal its group and wait for it; SIGKILL if a gentler signal is not enough."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def _socket_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets process pid holds (from /proc, no extra dependency)."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[9] in inodes:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


# -- the stack --------------------------------------------------------------------------------


class Stack:
    """Postgres, three brokers and every service process; stop() ends all of them."""

    def __init__(self, home: Path, *, first_port: int | None = None) -> None:
        self.home = home
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        # Either eleven consecutive ports from first_port (a port block of one's own), or free ones.
        block = iter(range(first_port, first_port + 5)) if first_port else None
        self.pg = PostgresServer(
            home / "pg",
            port=next(block) if block else free_port(),
            settings={"max_connections": "300", "fsync": "off", "full_page_writes": "off"},
        )
        kafka_base = first_port + 5 if first_port else free_port_range(6)
        self.kafka = KafkaCluster(home / "kafka", nodes=3, base_port=kafka_base, heap="384m")
        self.secret = uuid.uuid4().hex
        self.ports = {name: next(block) if block else free_port() for name in (*WRITE_SERVICES, "gateway")}
        self.procs: list[Proc] = []
        self.paused: set[int] = set()
        self.last_leader_killed = 0
        self.token = issue_token(self.secret, sub="chaos-staff", roles=["editor"], ttl_s=24 * 3600)

    def url(self, service: str) -> str:
        """Where a service's API answers."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        """A service's environment, as mpe-dev sets it, with topics replicated three times."""
        prefix = service.upper()
        env = {
            f"{prefix}_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            f"{prefix}_JWT_SECRET": self.secret,
            f"{prefix}_HOST": "127.0.0.1",
            f"{prefix}_PORT": str(self.ports[service]),
            f"{prefix}_DATABASE_URL": self.pg.dsn(service),
            f"{prefix}_TOPIC_REPLICATION": "3",
            f"{prefix}_LOG_JSON": "true",
        }
        if service in ("firms", "budget"):
            env[f"{prefix}_CATALOG_URL"] = self.url("catalog")
            env[f"{prefix}_SERVICE_TOKEN"] = issue_token(
                self.secret, sub=f"svc-{service}", roles=["viewer"], ttl_s=24 * 3600
            )
        if service == "budget":
            env["BUDGET_FIRMS_URL"] = self.url("firms")
        if service == "gateway":
            env["GATEWAY_RATE_LIMIT_PER_S"] = "0"
        return env

    def start(self) -> None:
        """Start the servers, migrate, start every process and wait until the APIs are ready."""
        _say(f"starting Postgres on {self.pg.port} and three brokers at {self.kafka.bootstrap}")
        self.pg.start()
        services = [*WRITE_SERVICES, "gateway"]
        for svc in services:
            self.pg.create_database(svc)
        for svc in services:
            subprocess.run(
                [_bin(svc), "migrate"],
                env={**os.environ, **self.env(svc)},
                check=True,
                capture_output=True,
            )
        self.kafka.start(timeout=180)
        for svc in services:
            self.procs.append(Proc(f"{svc}-api", svc, "api", self.env(svc), self.logs / f"{svc}-api.log"))
        for svc in WRITE_SERVICES:
            for i in (1, 2):
                name = f"{svc}-worker-{i}"
                self.procs.append(Proc(name, svc, "worker", self.env(svc), self.logs / f"{name}.log"))
        self.procs.append(
            Proc(
                "gateway-projector",
                "gateway",
                "worker",
                self.env("gateway"),
                self.logs / "gateway-projector.log",
            )
        )
        for proc in self.procs:
            proc.start()
        for svc in services:
            self.wait_ready(svc)

    def wait_ready(self, service: str, timeout: float = 120) -> None:
        """Block until a service's API answers /readyz with 200."""
        wait_ready(self.url(service), name=service, log=self.logs, timeout=timeout)

    def proc(self, name: str) -> Proc:
        """The process called name."""
        return next(p for p in self.procs if p.name == name)

    def supervise(self) -> None:
        """Restart a service process that died, as a process manager would."""
        for proc in self.procs:
            if proc.popen is not None and proc.popen.poll() is not None:
                _say(f"{proc.name} exited with {proc.popen.returncode}: restarting it")
                proc.start()

    def stop(self) -> None:
        """Stop everything this stack started: services first, then the brokers, then Postgres."""
        for node_id in list(self.paused):
            self.kafka.resume_node(node_id)
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.kill(signal.SIGTERM, timeout=15)
        for svc in ("gateway", *WRITE_SERVICES):
            with contextlib.suppress(TimeoutError):
                wait_for_port_closed("127.0.0.1", self.ports[svc], timeout=5)
        with contextlib.suppress(Exception):
            self.kafka.stop(timeout=20)
        with contextlib.suppress(Exception):
            self.pg.stop()


@contextlib.contextmanager
def running_stack(home: Path, first_port: int | None = None) -> Iterator[Stack]:
    """A started stack, stopped on the way out whatever happened."""
    stack = Stack(home, first_port=first_port)
    try:
        stack.start()
        yield stack
    finally:
        _say("stopping everything")
        stack.stop()
