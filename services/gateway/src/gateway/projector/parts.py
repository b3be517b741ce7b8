"""What the projector's consumer runner is made of, beside its group, pool and Kafka client.

One place, so the app and every test that runs a projector build the same one (its handlers, its
batch apply, the hooks that keep freshness and hold off a rebuild's switch).
"""

from __future__ import annotations

from typing import Any

from gateway import store
from gateway.projector import freshness
from gateway.projector.handlers import HANDLERS, apply_batch


def projector_parts() -> dict[str, Any]:
    """The keyword arguments of the projector's `ConsumerRunner` (or `event_consumer`)."""
    return {
        "handlers": HANDLERS,
        "batch_handler": apply_batch,
        "on_batch": freshness.on_batch,
        "on_begin": store.changes.hold_off_a_switch,
    }
