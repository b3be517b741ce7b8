"""The W3C traceparent of the work in progress, carried from request to event headers."""

from __future__ import annotations

import contextvars
import re

from mpe_events.envelope import new_traceparent
from mpe_kit import telemetry

_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)


def set_traceparent(value: str | None) -> str:
    """Adopt an incoming traceparent if well-formed, else start a new trace; return it."""
    tp = value if value and _TRACEPARENT.match(value) else new_traceparent()
    _current.set(tp)
    return tp


def current_traceparent() -> str:
    """The traceparent of the current span, else of the current request or task, else a new one."""
    span = telemetry.active_traceparent()
    if span is not None:
        return span
    tp = _current.get()
    return tp if tp is not None else set_traceparent(None)


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span, else of the current request's traceparent."""
    tp = telemetry.active_traceparent() or _current.get()
    if tp is None:
        return None
    _, trace_id, span_id, _ = tp.split("-")
    return trace_id, span_id
