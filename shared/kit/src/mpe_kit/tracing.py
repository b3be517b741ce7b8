"""The W3C traceparent of the work in progress, carried from request to event headers."""

from __future__ import annotations

import contextvars
import re

from mpe_events.envelope import new_traceparent

_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)


def set_traceparent(value: str | None) -> str:
    """Adopt an incoming traceparent if well-formed, else start a new trace; return it."""
    tp = value if value and _TRACEPARENT.match(value) else new_traceparent()
    _current.set(tp)
    return tp


def current_traceparent() -> str:
    """The traceparent of the current request or task, starting one if there is none."""
    tp = _current.get()
    return tp if tp is not None else set_traceparent(None)
