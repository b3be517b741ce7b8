"""The gateway app's state, typed, as one object: built by the composition root when the app starts."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.http.access import Gate
    from gateway.http.endpoint import GraphQLHTTP
    from gateway.http.limits import Limits
    from gateway.read.hub import ChangeHub


@dataclass(frozen=True, kw_only=True)
class GatewayState:
    """What the partner-facing stages share in one app."""

    gate: Gate
    """Admission: the key cache, the rate limiter, and the metrics that count each request."""
    limits: Limits
    """The limits every operation is checked against, once."""
    graphql: GraphQLHTTP
    """The /graphql route's prepared operations, persisted queries, response cache, freshness."""
    changes: ChangeHub
    """The change log's watermark and the subscriptions' wake-ups."""
    export_slots: asyncio.Semaphore
    """The exports this process may run at once: half its pool, so that GraphQL always has the rest."""
    exports_by_key: Counter[uuid.UUID] = field(default_factory=Counter)
    """The exports each key runs now, against `exports_per_key`."""


def state_of(app: Any) -> GatewayState:
    """The gateway state of a running app."""
    state = app.state.gateway
    assert isinstance(state, GatewayState)
    return state


def started(app: Any) -> GatewayState | None:
    """The gateway state, if the app has started."""
    state = getattr(app.state, "gateway", None)
    return state if isinstance(state, GatewayState) else None
