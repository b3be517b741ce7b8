"""An export's admission and its access record: the key checked and a request of its rate
spent, then the request counted in the gateway's metrics and logged, as /graphql's are. Both
exports, the entities' (`gateway.http.export`) and the rollup's (`gateway.http.spending_export`),
go through it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Request

from gateway.http.access import AccessRecord, note
from gateway.http.admission import authenticate, spend
from gateway.http.export_entities import ENTITIES
from gateway.partners.keys import Partner
from mpe_kit.logging import get_logger

log = get_logger("gateway.export")


@dataclass
class Transfer:
    """One export under way: who asked, for what, and how far it got."""

    entity: str
    started: float
    partner: Partner | None = None
    rows: int = 0
    status: int = 200
    outcome: str = "ok"


def outcome(status: int) -> str:
    return {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited", 503: "busy"}.get(
        status, "server_error" if status >= 500 else "bad_request" if status >= 400 else "ok"
    )


def observe(request: Request, transfer: Transfer) -> None:
    """Count the request in the gateway's metrics and write its access log line, as /graphql does."""
    seconds = time.perf_counter() - transfer.started
    record = AccessRecord(
        agency=transfer.partner.agency if transfer.partner else None,
        key_id=transfer.partner.key_id if transfer.partner else None,
        operation=transfer.entity if transfer.entity in ENTITIES else "unknown",
        operation_type="export",
        outcome=transfer.outcome,
        limit="RATE_LIMITED" if transfer.status == 429 else None,
    )
    note(
        request.app,
        record,
        seconds,
        log,
        "export request",
        entity=transfer.entity,
        status=transfer.status,
        rows=transfer.rows,
    )


async def admit(request: Request, transfer: Transfer) -> Partner:
    """The partner behind the request's key, one request of its rate spent; else 401 or 429."""
    partner = await authenticate(request, request.headers.get("x-api-key"))
    transfer.partner = partner
    spend(request, partner)
    return partner
