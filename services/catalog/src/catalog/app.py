"""The catalog's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI

from catalog.api import router
from catalog.settings import CatalogSettings
from mpe_kit import migrations
from mpe_kit.service import Runtime, ServiceSpec, Worker, outbox_relay
from mpe_kit.service import create_app as build_app

# Package data: shipped inside the wheel, found wherever the package is installed.
MIGRATIONS = Path(str(resources.files("catalog") / "migrations"))


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, then the catalog's."""
    return migrations.kit_migrations() + migrations.load("catalog", MIGRATIONS)


def _workers(rt: Runtime) -> list[Worker]:
    return [outbox_relay(rt, service="catalog").run]


SPEC = ServiceSpec(
    name="catalog",
    title="mpehub catalog",
    migrations=all_migrations,
    routers=lambda: [router],
    workers=_workers,
)


def create_app(settings: CatalogSettings | None = None, *, with_workers: bool = True) -> FastAPI:
    """The catalog's ASGI app."""
    return build_app(SPEC, settings or CatalogSettings(), with_workers=with_workers)
