"""The built image runs: its catalog answers /healthz and /readyz against a real Postgres.

Run by `make images-test` after `make images`, not by `make test`: building the images takes
minutes (a Debian base with mmdebstrap, then every service's locked dependencies), more than
the test suite may spend. `make test` checks the Dockerfile offline (tests/compose).

No container runtime works on these machines (crun cannot set rlimits in this sandbox), so the
image's root filesystem is mounted read-only (`podman image mount`) and its entrypoint runs
there under chroot, as the image's unprivileged user, on the host's network.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from catalog.app import all_migrations
from mpe_devstack.ports import free_port
from mpe_kit import migrations

IMAGE = f"localhost/mpehub/catalog:{os.environ.get('MPE_IMAGE_TAG', 'dev')}"


def _podman(*args: str) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def rootfs() -> Iterator[Path]:
    assert subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode == 0, (
        f"{IMAGE} is not built: run `make images` first"
    )
    path = Path(_podman("image", "mount", IMAGE))
    try:
        yield path
    finally:
        _podman("image", "unmount", IMAGE)


def test_image_carries_labels_a_venv_and_the_migrations(rootfs: Path) -> None:
    (info,) = json.loads(_podman("image", "inspect", IMAGE))
    labels = info["Labels"]
    assert labels["org.opencontainers.image.title"] == "mpehub catalog"
    assert len(labels["org.opencontainers.image.revision"]) == 40
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert info["Config"]["User"] == "10001:10001"
    assert info["Config"]["Cmd"] == ["mpe-service", "serve"]
    assert (rootfs / "app" / "bin" / "catalog").exists()
    # Installed as a wheel, with its migrations as package data; no sources, no uv.
    (site,) = (rootfs / "app" / "lib").glob("python3*/site-packages")
    assert list((site / "catalog" / "migrations").glob("*.sql"))
    assert not list(site.glob("*.pth")) or all("/src" not in p.read_text() for p in site.glob("*.pth"))
    assert not (rootfs / "src").exists()
    assert not (rootfs / "opt" / "uv").exists()


async def test_the_catalog_answers_healthz_from_the_image(
    rootfs: Path, migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]]
) -> None:
    dsn = await migrated_database("catalog", all_migrations())
    port, ops_port = free_port(), free_port()
    env = {
        "PATH": "/app/bin:/usr/bin:/bin",
        "CATALOG_DATABASE_URL": dsn,
        "CATALOG_PORT": str(port),
        "CATALOG_OPS_PORT": str(ops_port),
        "CATALOG_JWT_SECRET": "image-test-secret",
    }
    # The API alone: no Kafka needed for health and readiness. Read-only root, non-root user.
    proc = await asyncio.create_subprocess_exec(
        shutil.which("chroot") or "/usr/sbin/chroot",
        "--userspec=10001:10001",
        str(rootfs),
        "catalog",
        "api",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            health = await _until_answered(client, f"http://127.0.0.1:{ops_port}/healthz", proc)
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}
            ready = await client.get(f"http://127.0.0.1:{ops_port}/readyz")
            assert ready.status_code == 200, ready.text
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    finally:
        proc.terminate()
        output, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert b"Application startup complete" in output


async def _until_answered(
    client: httpx.AsyncClient, url: str, proc: asyncio.subprocess.Process
) -> httpx.Response:
    async with asyncio.timeout(60):
        while True:
            assert proc.returncode is None, "the image's catalog exited"
            try:
                return await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.3)
