"""The budget service's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from budget.api import router
from budget.replicas import FIRM_HANDLERS
from budget.settings import BudgetSettings
from mpe_events import topics
from mpe_kit import migrations, technology_replica
from mpe_kit.consumer import ConsumerRunner
from mpe_kit.readthrough import OwnerReader
from mpe_kit.relay import Relay
from mpe_kit.service import Runtime, ServiceSpec, Worker
from mpe_kit.service import create_app as build_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, the technology replica, then the budget service's own."""
    return (
        migrations.kit_migrations()
        + technology_replica.replica_migrations()
        + migrations.load("budget", MIGRATIONS)
    )


def _workers(rt: Runtime) -> list[Worker]:
    s = rt.settings
    assert isinstance(s, BudgetSettings)
    relay = Relay(
        service="budget",
        dsn=s.database_url,
        bootstrap=s.kafka_bootstrap,
        topics=topics.owned_by("budget"),
        status=rt.status,
        registry=rt.registry,
        topic_prefix=s.topic_prefix,
        replication=s.topic_replication,
        batch_size=s.relay_batch_size,
        poll_interval_s=s.relay_poll_interval_s,
    )
    replicas = ConsumerRunner(
        name=s.replica_group,
        pool=rt.pool,
        bootstrap=s.kafka_bootstrap,
        handlers={**technology_replica.HANDLERS, **FIRM_HANDLERS},
        status=rt.status,
        registry=rt.registry,
        topic_prefix=s.topic_prefix,
        replication=s.topic_replication,
        max_retries=s.consumer_max_retries,
    )
    return [relay.run, replicas.run]


async def _on_start(rt: Runtime, app: FastAPI) -> None:
    s = rt.settings
    assert isinstance(s, BudgetSettings)
    token = s.service_token.get_secret_value() if s.service_token else None
    app.state.catalog_reader = technology_replica.CatalogReader(base_url=s.catalog_url, token=token)
    app.state.firms_reader = OwnerReader(owner="firms", base_url=s.firms_url, token=token)


SPEC = ServiceSpec(
    name="budget",
    title="mpehub budget",
    migrations=all_migrations,
    routers=lambda: [router],
    workers=_workers,
    on_start=_on_start,
)


def create_app(settings: BudgetSettings | None = None, *, with_workers: bool = True) -> FastAPI:
    """The budget service's ASGI app."""
    return build_app(SPEC, settings or BudgetSettings(), with_workers=with_workers)
