"""The firms service's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

import asyncio
import contextlib
from importlib import resources
from pathlib import Path

from fastapi import FastAPI

from firms import consumers, service
from firms.api import router
from firms.settings import FirmsSettings
from mpe_kit import migrations
from mpe_kit.logging import get_logger
from mpe_kit.service import Runtime, ServiceSpec, Worker, event_consumer, outbox_relay
from mpe_kit.service import create_app as build_app
from mpe_kit.settings import ServiceSettings
from mpe_replicas import technology

# Package data: shipped inside the wheel, found wherever the package is installed.
MIGRATIONS = Path(str(resources.files("firms") / "migrations"))
log = get_logger("firms.expiry")


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, the technology replica, then the firms service's own."""
    return (
        migrations.kit_migrations() + technology.replica_migrations() + migrations.load("firms", MIGRATIONS)
    )


def _expiry(rt: Runtime) -> Worker:
    async def run(stop: asyncio.Event) -> None:
        s = rt.settings
        assert isinstance(s, FirmsSettings)
        while not stop.is_set():
            try:
                n = await service.expire_due(rt.pool, today=service.seoul_today())
                if n:
                    log.info("designations expired", count=n)
            except Exception:
                log.exception("expiry run failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), s.expiry_interval_s)

    return run


def _workers(rt: Runtime) -> list[Worker]:
    s = rt.settings
    assert isinstance(s, FirmsSettings)
    replica = event_consumer(rt, group=s.replica_group, handlers=consumers.HANDLERS)
    return [outbox_relay(rt, service="firms").run, replica.run, _expiry(rt)]


async def _on_start(rt: Runtime, app: FastAPI) -> None:
    s = rt.settings
    assert isinstance(s, FirmsSettings)
    token = s.service_token.get_secret_value() if s.service_token else None
    app.state.catalog_reader = technology.CatalogReader(base_url=s.catalog_url, token=token)


def _consumer_groups(s: ServiceSettings) -> list[str]:
    assert isinstance(s, FirmsSettings)
    return [s.replica_group]


SPEC = ServiceSpec(
    name="firms",
    title="mpehub firms",
    migrations=all_migrations,
    routers=lambda: [router],
    workers=_workers,
    on_start=_on_start,
    consumer_groups=_consumer_groups,
)


def create_app(settings: FirmsSettings | None = None, *, with_workers: bool = True) -> FastAPI:
    """The firms service's ASGI app."""
    return build_app(SPEC, settings or FirmsSettings(), with_workers=with_workers)
