"""Apache Kafka in KRaft mode from Maven Central jars, as plain JVM processes (no Docker).

Ports: node i (1-based) has its PLAINTEXT broker listener on base_port + 2*(i-1) and its
CONTROLLER listener one above. base_port defaults to 9092 for one node (9092/9093) and to
19092 for several (19092/19093, 19094/19095, 19096/19097), so the dev broker and a fault-test
cluster can run side by side. Every node is a combined broker+controller; with three nodes
the controller quorum is 2 of 3.

Layout under base_dir: cluster.id (shared by all nodes), and node-<i>/ holding
server.properties, data/ (the formatted log dir), server.log (log4j2) and console.log (the
JVM's own stdout/stderr, normally empty).
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from mpe_devstack.jars import _java, ensure_kafka_jars, repo_root
from mpe_devstack.lanes import refuse_servers_in_unit_lane
from mpe_devstack.ports import port_is_listening, wait_for_port_closed

DEFAULT_BASE_PORT = 9092
DEFAULT_MULTI_NODE_BASE_PORT = 19092

_LOG4J2 = Path("deploy/kafka/log4j2.properties")


# -- a minimal Kafka protocol probe ----------------------------------------------------------


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def metadata_broker_ids(host: str, port: int, timeout: float = 2.0) -> set[int] | None:
    """Ask one broker for cluster metadata; return the live broker ids, or None if it cannot answer."""
    # Metadata v4: the oldest version Kafka 4 still serves (KIP-896), and non-flexible, so it
    # needs no tagged-field handling. Asking for an empty topic list returns brokers only.
    client_id = b"mpe-devstack"
    request = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            data = _recv_exact(sock, size)
    except (OSError, ConnectionError):
        return None
    try:
        # correlation id, throttle_time_ms, brokers array length
        _, _, count = struct.unpack_from(">iii", data, 0)
        offset = 12
        ids: set[int] = set()
        for _ in range(count):
            (node_id, host_len) = struct.unpack_from(">ih", data, offset)
            offset += 6 + host_len + 4  # host bytes, then the int32 port
            (rack_len,) = struct.unpack_from(">h", data, offset)
            offset += 2 + max(rack_len, 0)
            ids.add(node_id)
    except struct.error:
        return None
    return ids


# -- the cluster ------------------------------------------------------------------------------


def _random_cluster_id() -> str:
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # Kafka's own generator avoids a leading '-', which CLI parsers take for an option.
        if not cluster_id.startswith("-"):
            return cluster_id


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"--- {path}: missing ---"
    return f"--- tail of {path} ---\n" + "\n".join(text.splitlines()[-lines:])


class KafkaCluster:
    """One or more combined broker+controller Kafka nodes on this host."""

    def __init__(
        self,
        base_dir: Path,
        *,
        nodes: int = 1,
        base_port: int | None = None,
        heap: str = "512m",
        host: str = "127.0.0.1",
        config: Mapping[str, str] | None = None,
        scram_users: Mapping[str, str] | None = None,
        sasl_port: int | None = None,
        sasl_keystore: Path | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("nodes must be at least 1")
        self.base_dir = Path(base_dir).absolute()
        self.nodes = nodes
        if base_port is None:
            base_port = DEFAULT_BASE_PORT if nodes == 1 else DEFAULT_MULTI_NODE_BASE_PORT
        self.base_port = base_port
        self.heap = heap
        self.host = host
        self.config = dict(config or {})
        # A SASL_PLAINTEXT listener with SCRAM-SHA-512 users (name -> password), added to the
        # storage at format time: how Strimzi's listeners authenticate, on one local node.
        self.scram_users = dict(scram_users or {})
        if self.scram_users and (sasl_port is None or nodes != 1):
            raise ValueError("SCRAM users need one node and a sasl_port")
        self.sasl_port = sasl_port
        # With a PEM keystore (private key and certificate in one file) the SCRAM listener is
        # SASL_SSL, as on a Strimzi listener with `tls: true`.
        self.sasl_keystore = sasl_keystore
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._libs: Path | None = None

    # -- topology -----------------------------------------------------------------------

    @property
    def node_ids(self) -> list[int]:
        """The node ids, 1..nodes."""
        return list(range(1, self.nodes + 1))

    def broker_port(self, node_id: int) -> int:
        """The PLAINTEXT (client) port of node node_id."""
        self._check_node(node_id)
        return self.base_port + 2 * (node_id - 1)

    def controller_port(self, node_id: int) -> int:
        """The CONTROLLER (KRaft quorum) port of node node_id."""
        return self.broker_port(node_id) + 1

    @property
    def bootstrap(self) -> str:
        """Comma-separated host:port of every broker, for bootstrap_servers."""
        return ",".join(f"{self.host}:{self.broker_port(i)}" for i in self.node_ids)

    def node_dir(self, node_id: int) -> Path:
        """The directory holding node node_id's config, data and logs."""
        self._check_node(node_id)
        return self.base_dir / f"node-{node_id}"

    def log_file(self, node_id: int) -> Path:
        """Node node_id's broker log (log4j2)."""
        return self.node_dir(node_id) / "server.log"

    def _check_node(self, node_id: int) -> None:
        if not 1 <= node_id <= self.nodes:
            raise ValueError(f"node_id must be in 1..{self.nodes}, got {node_id}")

    def server_properties(self, node_id: int) -> dict[str, str]:
        """The broker configuration of node node_id."""
        replication = min(self.nodes, 3)
        min_isr = max(1, replication - 1)
        voters = ",".join(f"{i}@{self.host}:{self.controller_port(i)}" for i in self.node_ids)
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node_id),
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.broker_port(node_id)},"
                f"CONTROLLER://{self.host}:{self.controller_port(node_id)}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.broker_port(node_id)}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.node_dir(node_id) / "data"),
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "default.replication.factor": str(replication),
            "min.insync.replicas": str(min_isr),
            "offsets.topic.replication.factor": str(replication),
            "transaction.state.log.replication.factor": str(replication),
            "transaction.state.log.min.isr": str(min_isr),
            "share.coordinator.state.topic.replication.factor": str(replication),
            "share.coordinator.state.topic.min.isr": str(min_isr),
        }
        if self.sasl_port is not None:
            sasl = f"SASL://{self.host}:{self.sasl_port}"
            props["listeners"] += f",{sasl}"
            props["advertised.listeners"] += f",{sasl}"
            protocol = "SASL_SSL" if self.sasl_keystore is not None else "SASL_PLAINTEXT"
            props["listener.security.protocol.map"] += f",SASL:{protocol}"
            if self.sasl_keystore is not None:
                props["listener.name.sasl.ssl.keystore.type"] = "PEM"
                props["listener.name.sasl.ssl.keystore.location"] = str(self.sasl_keystore)
            props["sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
            props["listener.name.sasl.scram-sha-512.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
        if self.nodes > 1:
            # Default 9s; shorter makes a killed node's partitions fail over sooner in tests.
            props["broker.session.timeout.ms"] = "6000"
        props.update(self.config)
        return props

    def _write_properties(self, node_id: int) -> Path:
        path = self.node_dir(node_id) / "server.properties"
        lines = [f"{key}={value}" for key, value in self.server_properties(node_id).items()]
        path.write_text("# Written by mpe_devstack.kafka on every start.\n" + "\n".join(lines) + "\n")
        return path

    def _cluster_id(self) -> str:
        path = self.base_dir / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        cluster_id = _random_cluster_id()
        path.write_text(cluster_id + "\n")
        return cluster_id

    # -- JVMs ---------------------------------------------------------------------------

    def _jvm_args(self, node_id: int, heap: str) -> list[str]:
        assert self._libs is not None
        args = [
            _java(),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
        ]
        if self.nodes > 1:
            # Three JVMs JIT-compiling at once on two cores: C1 only halves start-up time.
            args.append("-XX:TieredStopAtLevel=1")
        args += [
            f"-Dlog4j2.configurationFile={repo_root() / _LOG4J2}",
            f"-Dkafka.logs.dir={self.node_dir(node_id)}",
            "-cp",
            f"{self._libs}/*",
        ]
        return args

    def _prepare(self) -> None:
        self._libs = ensure_kafka_jars()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = self._cluster_id()
        formats: list[tuple[int, subprocess.Popen[str]]] = []
        for node_id in self.node_ids:
            self.node_dir(node_id).mkdir(parents=True, exist_ok=True)
            properties = self._write_properties(node_id)
            if (self.node_dir(node_id) / "data" / "meta.properties").is_file():
                continue
            # Static controller.quorum.voters, so no --standalone; the same cluster id on all.
            argv = [
                *self._jvm_args(node_id, "256m"),
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
                cluster_id,
                "-c",
                str(properties),
            ]
            for user, password in self.scram_users.items():
                argv += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            formats.append((node_id, proc))
        for node_id, proc in formats:
            output, _ = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"formatting node {node_id}'s storage failed:\n{output}\n" + _tail(self.log_file(node_id))
                )

    def _kill_stale(self, node_id: int) -> None:
        # A launcher that died leaves its JVM holding the ports and the log dir lock: kill
        # it, but only if the pid still runs a broker with exactly this node's config.
        pid_file = self.node_dir(node_id) / "kafka.pid"
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        properties = str(self.node_dir(node_id) / "server.properties").encode()
        if b"kafka.Kafka" in cmdline and properties in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        pid_file.unlink(missing_ok=True)

    def _launch(self, node_id: int) -> None:
        self._kill_stale(node_id)
        for port in (self.broker_port(node_id), self.controller_port(node_id)):
            if port_is_listening(self.host, port):
                raise RuntimeError(f"port {self.host}:{port} for Kafka node {node_id} is already in use")
        node_dir = self.node_dir(node_id)
        argv = [
            *self._jvm_args(node_id, self.heap),
            "kafka.Kafka",
            str(node_dir / "server.properties"),
        ]
        with (node_dir / "console.log").open("ab") as console:
            proc = subprocess.Popen(
                argv,
                cwd=node_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                # Own process group: a Ctrl-C meant for the launcher does not hit the brokers
                # half-way, and stop() can signal the whole group.
                start_new_session=True,
            )
        self._procs[node_id] = proc
        (node_dir / "kafka.pid").write_text(f"{proc.pid}\n")

    def _running(self) -> set[int]:
        return {node_id for node_id, proc in self._procs.items() if proc.poll() is None}

    def _failure(self, message: str, node_ids: set[int]) -> RuntimeError:
        tails = "\n".join(
            _tail(self.log_file(i)) + "\n" + _tail(self.node_dir(i) / "console.log", 10)
            for i in sorted(node_ids)
        )
        return RuntimeError(f"{message}\n{tails}")

    def _wait_ready(self, node_ids: set[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(node_ids)
        while pending:
            for node_id in sorted(pending):
                proc = self._procs[node_id]
                if proc.poll() is not None:
                    raise self._failure(
                        f"Kafka node {node_id} exited with code {proc.returncode} during start-up",
                        {node_id},
                    )
                # Ready once the broker serves metadata listing every node we run: then
                # all of them are registered and unfenced, so topics can use them.
                seen = metadata_broker_ids(self.host, self.broker_port(node_id))
                if seen is not None and self._running() <= seen:
                    pending.discard(node_id)
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise self._failure(f"Kafka node(s) {sorted(pending)} not ready after {timeout:g}s", pending)
            time.sleep(0.2)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 120) -> None:
        """Fetch jars, format storage on first use, start every node and wait until all serve."""
        refuse_servers_in_unit_lane("Kafka")
        self._prepare()
        try:
            for node_id in self.node_ids:
                if node_id not in self._running():
                    self._launch(node_id)
            self._wait_ready(set(self.node_ids), timeout)
        except BaseException:
            self.stop()
            raise

    def start_node(self, node_id: int, timeout: float = 120) -> None:
        """(Re)start one node, e.g. after kill_node, and wait until it serves metadata."""
        self._check_node(node_id)
        if node_id in self._running():
            return
        if self._libs is None:
            self._prepare()
        self._launch(node_id)
        try:
            self._wait_ready({node_id}, timeout)
        except BaseException:
            self._signal(node_id, signal.SIGKILL)
            self._reap(node_id, 10)
            raise

    def exit_code(self, node_id: int) -> int | None:
        """None while the node runs (or was never started here), its `poll()` once it has exited."""
        proc = self._procs.get(node_id)
        return None if proc is None else proc.poll()

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node, as a crash would, and wait until it is gone."""
        self._check_node(node_id)
        self._signal(node_id, signal.SIGKILL)
        self._reap(node_id, 10)
        for port in (self.broker_port(node_id), self.controller_port(node_id)):
            wait_for_port_closed(self.host, port, timeout=10)

    def stop_node(self, node_id: int, timeout: float = 30) -> None:
        """SIGTERM one node (a clean shutdown), SIGKILL it if still there after timeout."""
        self._check_node(node_id)
        self._signal(node_id, signal.SIGTERM)
        if not self._reap(node_id, timeout):
            self._signal(node_id, signal.SIGKILL)
            self._reap(node_id, 10)
        for port in (self.broker_port(node_id), self.controller_port(node_id)):
            wait_for_port_closed(self.host, port, timeout=10)

    def pause_node(self, node_id: int) -> None:
        """SIGSTOP one node: it keeps its sockets open but answers nothing, like a long GC pause."""
        self._check_node(node_id)
        self._signal(node_id, signal.SIGSTOP)

    def resume_node(self, node_id: int) -> None:
        """SIGCONT a node paused with pause_node."""
        self._check_node(node_id)
        self._signal(node_id, signal.SIGCONT)

    def _signal(self, node_id: int, sig: signal.Signals) -> None:
        proc = self._procs.get(node_id)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def _reap(self, node_id: int, timeout: float) -> bool:
        proc = self._procs.get(node_id)
        if proc is None:
            return True
        try:
            proc.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return False
        del self._procs[node_id]
        (self.node_dir(node_id) / "kafka.pid").unlink(missing_ok=True)
        return True

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM every node, SIGKILL what is left after timeout; no process or port remains."""
        node_ids = list(self._procs)
        for node_id in node_ids:
            self._signal(node_id, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node_id in node_ids:
            if not self._reap(node_id, deadline - time.monotonic()):
                self._signal(node_id, signal.SIGKILL)
                self._reap(node_id, 10)
        for node_id in node_ids:
            for port in (self.broker_port(node_id), self.controller_port(node_id)):
                wait_for_port_closed(self.host, port, timeout=10)

    def __enter__(self) -> KafkaCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
