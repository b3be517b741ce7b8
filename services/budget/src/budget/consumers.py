"""The budget service's event handlers: its replicas of the technology list and of firms' size classes."""

from __future__ import annotations

from collections.abc import Mapping

from budget import repository
from mpe_events import firms as ev
from mpe_events.registry import FIRM_CONFIRMATION_ADDED, FIRM_REGISTERED, FIRM_UPDATED
from mpe_kit.consumer import Event, Handler
from mpe_kit.db import Conn
from mpe_replicas import technology


async def apply_firm_event(conn: Conn, event: Event) -> None:
    """Keep a firm's size class and region at their newest version."""
    d = event.data
    assert isinstance(d, ev.FirmV1)
    await repository.upsert_firm(
        conn, brn=d.brn, size=d.size, size_since=d.size_since, region=d.region, version=d.version
    )


HANDLERS: Mapping[str, Handler] = {
    **technology.HANDLERS,
    FIRM_REGISTERED.type: apply_firm_event,
    FIRM_UPDATED.type: apply_firm_event,
    FIRM_CONFIRMATION_ADDED.type: apply_firm_event,
}
