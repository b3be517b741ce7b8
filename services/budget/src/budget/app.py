"""The budget service's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI

from budget import consumers
from budget.api import router
from budget.settings import BudgetSettings
from mpe_kit import migrations
from mpe_kit.readthrough import OwnerReader
from mpe_kit.service import Runtime, ServiceSpec, Worker, event_consumer, outbox_relay
from mpe_kit.service import create_app as build_app
from mpe_kit.settings import ServiceSettings
from mpe_replicas import technology

# Package data: shipped inside the wheel, found wherever the package is installed.
MIGRATIONS = Path(str(resources.files("budget") / "migrations"))


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, the technology replica, then the budget service's own."""
    return (
        migrations.kit_migrations() + technology.replica_migrations() + migrations.load("budget", MIGRATIONS)
    )


def _workers(rt: Runtime) -> list[Worker]:
    s = rt.settings
    assert isinstance(s, BudgetSettings)
    return [
        outbox_relay(rt, service="budget").run,
        event_consumer(rt, group=s.replica_group, handlers=consumers.HANDLERS).run,
    ]


async def _on_start(rt: Runtime, app: FastAPI) -> None:
    s = rt.settings
    assert isinstance(s, BudgetSettings)
    token = s.service_token.get_secret_value() if s.service_token else None
    app.state.catalog_reader = technology.CatalogReader(base_url=s.catalog_url, token=token)
    app.state.firms_reader = OwnerReader(owner="firms", base_url=s.firms_url, token=token)


def _consumer_groups(s: ServiceSettings) -> list[str]:
    assert isinstance(s, BudgetSettings)
    return [s.replica_group]


SPEC = ServiceSpec(
    name="budget",
    title="mpehub budget",
    migrations=all_migrations,
    routers=lambda: [router],
    workers=_workers,
    on_start=_on_start,
    consumer_groups=_consumer_groups,
)


def create_app(settings: BudgetSettings | None = None, *, with_workers: bool = True) -> FastAPI:
    """The budget service's ASGI app."""
    return build_app(SPEC, settings or BudgetSettings(), with_workers=with_workers)
