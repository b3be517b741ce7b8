"""vegeta, and the gateway's side of a rung: the attack, its report, the requests the gateway finished.

The gateway is pinned to GATEWAY_CPU and vegeta to LOAD_CPU (taskset); bench.py, ab.py and the
soak use these.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_stack import say
from report import count_correct

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


def graphql_target(url: str, document: str, headers: dict[str, str] | None = None) -> str:
    """One line of vegeta's JSON targets: a POST of the GraphQL document to `url`."""
    body = json.dumps({"query": document}).encode()
    header = {"Content-Type": ["application/json"]} | {k: [v] for k, v in (headers or {}).items()}
    return json.dumps(
        {"method": "POST", "url": url, "body": base64.b64encode(body).decode(), "header": header}
    )


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


def summary(vegeta: Path, results: Path) -> dict[str, Any]:
    """vegeta's JSON report of a results file: rates, latencies, status codes."""
    done = subprocess.run(
        [str(vegeta), "report", "-type=json", str(results)], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def measure(vegeta: Path, results: Path, expected_length: int) -> tuple[dict[str, Any], int]:
    """vegeta's JSON report of a results file, and how many of its answers were correct."""
    report = summary(vegeta, results)
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
    reading the file asks nothing of a gateway that may be swamped. `busy` counts those of them
    it refused at once with 503 because it was at `GATEWAY_MAX_IN_FLIGHT` (outcome "busy").
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.count = 0
        self.busy = 0

    def __call__(self) -> int:
        """The count up to the last whole line written (`busy` is brought up to the same line)."""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        whole = data.rfind(b"\n") + 1
        for line in data[:whole].splitlines():
            if b'"graphql request"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # not an access-log line: the gateway's stderr shares the file
            if isinstance(record, dict) and record.get("event") == "graphql request":
                self.count += 1
                self.busy += record.get("outcome") == "busy"
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
