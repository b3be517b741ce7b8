"""Small TCP port helpers for the local launchers and their tests."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import time
from pathlib import Path

import httpx

# Blocks are picked below Linux's default ephemeral range (32768-60999), so an outgoing
# connection cannot grab a port between our probe and the server's bind.
_BLOCK_LOW = 20000
_BLOCK_HIGH = 32000


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on host that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _can_bind(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too, so a port left in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_slice() -> tuple[int, int]:
    """The ports this process draws blocks from, [low, high).

    Under pytest-xdist, worker k of n draws from the k-th of n equal slices of the range, so two
    workers never draw the same port: a drawn port stays unbound for seconds (while a JVM or
    Postgres starts), and a probe of it in another worker would find it free.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 0):
        return _BLOCK_LOW, _BLOCK_HIGH
    k, n = int(worker[2:]), int(count)
    size = (_BLOCK_HIGH - _BLOCK_LOW) // n
    return _BLOCK_LOW + (k % n) * size, _BLOCK_LOW + (k % n + 1) * size


def free_port_range(
    count: int, host: str = "127.0.0.1", attempts: int = 200, *, span: int | None = None
) -> int:
    """Return the first port of `count` consecutive free TCP ports on host.

    `span` (at least `count`) is how far above the first port the caller will use ports, all of
    them inside this process's slice (`port_slice`).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    low, high = port_slice()
    span = max(span or count, count)
    if span >= high - low:
        raise ValueError(f"{span} ports do not fit in this process's slice {low}-{high - 1}")
    rng = random.Random()  # noqa: S311 - port choice, not security
    for _ in range(attempts):
        first = rng.randrange(low, high - span)
        if all(_can_bind(host, first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no block of {count} free ports found on {host} in {low}-{high - 1}")


def free_port_apart(offset: int, count: int = 1, host: str = "127.0.0.1", attempts: int = 200) -> int:
    """The first of `count` consecutive free ports whose partners `offset` above are free too
    (services and their ops ports); `offset` must exceed `count`, so no port is another's partner."""
    if offset <= count:
        raise ValueError("offset must exceed count")
    for _ in range(attempts):
        first = free_port_range(count, host, span=offset + count)
        if all(_can_bind(host, p + offset) for p in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} free ports with free ports {offset} above them")


def port_is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """Return True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until host:port accepts connections; raise TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not port_is_listening(host, port):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g}s")
        time.sleep(0.1)


def wait_for_port_closed(host: str, port: int, timeout: float) -> None:
    """Block until host:port refuses connections; raise TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while port_is_listening(host, port):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} still listens after {timeout:g}s")
        time.sleep(0.1)


def wait_ready(
    url: str, *, name: str, log: str | Path, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60
) -> None:
    """Until `url`/readyz answers 200; a process that exits meanwhile, or the timeout, fails naming `log`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready after {timeout:g} s; see {log}")
