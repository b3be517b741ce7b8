"""The catalog's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from catalog.api import router
from catalog.settings import CatalogSettings
from mpe_events import topics
from mpe_kit import migrations
from mpe_kit.relay import Relay
from mpe_kit.service import Runtime, ServiceSpec, Worker
from mpe_kit.service import create_app as build_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, then the catalog's."""
    return migrations.kit_migrations() + migrations.load("catalog", MIGRATIONS)


def _workers(rt: Runtime) -> list[Worker]:
    s = rt.settings
    relay = Relay(
        service="catalog",
        dsn=s.database_url,
        bootstrap=s.kafka_bootstrap,
        topics=topics.owned_by("catalog"),
        status=rt.status,
        registry=rt.registry,
        topic_prefix=s.topic_prefix,
        replication=s.topic_replication,
        batch_size=s.relay_batch_size,
        poll_interval_s=s.relay_poll_interval_s,
    )
    return [relay.run]


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
