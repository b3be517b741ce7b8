"""Waiting for a launched service to be ready: it answers, it dies, or time runs out."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mpe_devstack.ports import free_port, free_port_apart, free_port_range, port_slice, wait_ready

pytestmark = pytest.mark.unit


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def ready_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_service_answering_readyz_is_ready(ready_server: str) -> None:
    wait_ready(ready_server, name="svc", log="svc.log", timeout=5)


def test_a_process_that_exits_fails_at_once_naming_its_log() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(RuntimeError, match=r"svc exited with 3; see logs/svc.log"):
        wait_ready(f"http://127.0.0.1:{free_port()}", name="svc", log="logs/svc.log", proc=proc, timeout=30)


def test_nothing_listening_times_out() -> None:
    with pytest.raises(RuntimeError, match=r"svc not ready after 0.5 s; see svc.log"):
        wait_ready(f"http://127.0.0.1:{free_port()}", name="svc", log="svc.log", timeout=0.5)


def test_a_port_apart_leaves_its_partner_free_too() -> None:
    first = free_port_apart(1000, count=4)
    for p in [*range(first, first + 4), *range(first + 1000, first + 1004)]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))  # raises if either is taken


def test_each_xdist_worker_draws_from_its_own_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by a review: workers drew from one range, and a port one drew stays unbound for
    # seconds while Kafka or Postgres starts, so another could draw it too.
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    slices = []
    for k in range(3):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{k}")
        low, high = port_slice()
        slices.append((low, high))
        for _ in range(20):
            first = free_port_apart(1000, count=7)
            # The block and its ops partners (+1000) stay inside this worker's slice.
            assert low <= first
            assert first + 1000 + 7 <= high
            block = free_port_range(11)
            assert low <= block
            assert block + 11 <= high
    assert [s[1] for s in slices[:-1]] == [s[0] for s in slices[1:]]  # adjacent, not overlapping


def test_without_xdist_the_whole_range_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert port_slice() == (20000, 32000)
