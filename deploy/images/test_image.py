"""The built images run: the catalog answers /healthz and /readyz against a real Postgres, and
the gateway serves the partner portal it was built with.

Run by `make images-test` after `make images`, not by `make test`: building the images takes
minutes (a Debian base with mmdebstrap, then every service's locked dependencies), more than
the test suite may spend. `make test` checks the Dockerfile offline (tests/compose).

No container runtime works on these machines (crun cannot set rlimits in this sandbox), so the
image's root filesystem is mounted read-only (`podman image mount`) and its entrypoint runs
there under chroot, as the image's unprivileged user, on the host's network, with the image's
own environment (its `ENV` lines) plus the test's settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.app import all_migrations as catalog_migrations
from gateway.app import all_migrations as gateway_migrations
from mpe_devstack.ports import free_port
from mpe_kit import migrations

TAG = os.environ.get("MPE_IMAGE_TAG", "dev")
ROOT = Path(__file__).resolve().parents[2]
MigratedDatabase = Callable[[str, list[migrations.Migration]], Awaitable[str]]


def _podman(*args: str) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class Image:
    """A built image: its configuration, and its root filesystem mounted (read-only) at `root`."""

    def __init__(self, service: str, root: Path) -> None:
        self.name = f"localhost/mpehub/{service}:{TAG}"
        (self.info,) = json.loads(_podman("image", "inspect", self.name))
        self.config: dict[str, Any] = self.info["Config"]
        self.root = root

    def env(self, settings: dict[str, str] | None = None) -> dict[str, str]:
        """The image's own environment, then the test's settings."""
        env = dict(line.split("=", 1) for line in self.config.get("Env", []))
        return env | (settings or {})


def _mounted(service: str) -> Iterator[Image]:
    name = f"localhost/mpehub/{service}:{TAG}"
    assert subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0, (
        f"{name} is not built: run `make images` first"
    )
    root = Path(_podman("image", "mount", name))
    try:
        yield Image(service, root)
    finally:
        _podman("image", "unmount", name)


@pytest.fixture(scope="module")
def catalog() -> Iterator[Image]:
    yield from _mounted("catalog")


@pytest.fixture(scope="module")
def gateway() -> Iterator[Image]:
    yield from _mounted("gateway")


class Running:
    """An entrypoint started from an image; `output` is filled when it has stopped."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name, self.proc, self.output = name, proc, b""

    async def until_answered(self, client: httpx.AsyncClient, url: str) -> httpx.Response:
        async with asyncio.timeout(60):
            while True:
                assert self.proc.returncode is None, f"{self.name} exited"
                try:
                    return await client.get(url)
                except httpx.TransportError:
                    await asyncio.sleep(0.3)


@asynccontextmanager
async def _running(image: Image, *args: str, env: dict[str, str]) -> AsyncIterator[Running]:
    """The image's entrypoint under chroot, as the image's user."""
    assert image.config["User"] == "10001:10001"
    proc = await asyncio.create_subprocess_exec(
        shutil.which("chroot") or "/usr/sbin/chroot",
        f"--userspec={image.config['User']}",
        str(image.root),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    running = Running(image.name, proc)
    try:
        yield running
        assert proc.returncode is None, f"{image.name} exited"
    finally:
        if proc.returncode is None:
            proc.terminate()
        running.output, _ = await asyncio.wait_for(proc.communicate(), 20)


def test_image_carries_labels_a_venv_and_the_migrations(catalog: Image) -> None:
    labels = catalog.info["Labels"]
    assert labels["org.opencontainers.image.title"] == "mpehub catalog"
    assert len(labels["org.opencontainers.image.revision"]) == 40
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert catalog.config["User"] == "10001:10001"
    assert catalog.config["Cmd"] == ["mpe-service", "serve"]
    root = catalog.root
    assert (root / "app" / "bin" / "catalog").exists()
    # Installed as a wheel, with its migrations as package data; no sources, no uv.
    (site,) = (root / "app" / "lib").glob("python3*/site-packages")
    assert list((site / "catalog" / "migrations").glob("*.sql"))
    assert not list(site.glob("*.pth")) or all("/src" not in p.read_text() for p in site.glob("*.pth"))
    assert not (root / "src").exists()
    assert not (root / "opt" / "uv").exists()
    # Only the gateway carries the partner portal; Node.js stays in the build stage.
    assert not (root / "app" / "portal").exists()
    assert not (root / "usr" / "bin" / "node").exists()


async def test_the_catalog_answers_healthz_from_the_image(
    catalog: Image, migrated_database: MigratedDatabase
) -> None:
    dsn = await migrated_database("catalog", catalog_migrations())
    port, ops_port = free_port(), free_port()
    env = catalog.env(
        {
            "CATALOG_DATABASE_URL": dsn,
            "CATALOG_PORT": str(port),
            "CATALOG_OPS_PORT": str(ops_port),
            "CATALOG_JWT_SECRET": "image-test-secret",
        }
    )
    # The API alone: no Kafka needed for health and readiness. Read-only root, non-root user.
    async with _running(catalog, "catalog", "api", env=env) as api, httpx.AsyncClient(timeout=5) as client:
        health = await api.until_answered(client, f"http://127.0.0.1:{ops_port}/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        ready = await client.get(f"http://127.0.0.1:{ops_port}/readyz")
        assert ready.status_code == 200, ready.text
        assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    assert b"Application startup complete" in api.output


async def test_the_gateway_serves_the_portal_built_into_its_image(
    gateway: Image, migrated_database: MigratedDatabase
) -> None:
    # Where the portal lives comes from the image (its ENV), not from the test.
    portal = gateway.env()["GATEWAY_PORTAL_DIR"]
    assert (gateway.root / portal.lstrip("/") / "docs" / "index.html").is_file()
    dsn = await migrated_database("gateway", gateway_migrations())
    port = free_port()
    env = gateway.env({"GATEWAY_DATABASE_URL": dsn, "GATEWAY_PORT": str(port), "GATEWAY_GRAPHIQL": "true"})
    base = f"http://127.0.0.1:{port}"
    async with (
        _running(gateway, "gateway", "api", env=env) as api,
        httpx.AsyncClient(timeout=5, base_url=base) as client,
    ):
        await api.until_answered(client, f"{base}/healthz")
        docs = await client.get("/docs/")
        assert docs.status_code == 200, docs.text
        assert docs.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in docs.headers["content-security-policy"]
        assert "<title>mpehub GraphQL API</title>" in docs.text
        # The reference and the SDL it was built from: the schema committed with this revision.
        reference = await client.get("/docs/reference/")
        assert reference.status_code == 200
        assert "Query" in reference.text
        sdl = await client.get("/docs/schema.graphql")
        assert sdl.text == (ROOT / "services" / "gateway" / "schema.graphql").read_text(encoding="utf-8")
        # The explorer's page and the bundle it loads from the same origin.
        explorer = await client.get("/explorer/")
        assert explorer.status_code == 200
        assert "explorer.js" in explorer.text
        bundle = await client.get("/explorer/explorer.js")
        assert bundle.status_code == 200
        assert len(bundle.content) > 100_000
        assert (await client.get("/docs/no-such-page.html")).status_code == 404
