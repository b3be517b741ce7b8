"""What the background workers report about themselves, for /readyz and /metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class KafkaStatus:
    """The last time Kafka answered, and the last error if it did not."""

    last_ok: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def ok(self) -> None:
        """Record a successful round trip."""
        self.last_ok = _now()
        self.last_error = None

    def failed(self, error: BaseException) -> None:
        """Record a failure."""
        self.last_error = f"{type(error).__name__}: {error}"
        self.last_error_at = _now()

    @property
    def reachable(self) -> bool | None:
        """True/False once anything talked to Kafka, None before."""
        if self.last_error is not None:
            return False
        return None if self.last_ok is None else True


@dataclass
class RuntimeStatus:
    """Shared by the workers of one process."""

    kafka: KafkaStatus = field(default_factory=KafkaStatus)
    relay_role: str = "not running"
    consumer_lag: dict[str, dict[str, int]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """The JSON-able part of /readyz's body that never affects readiness."""
        return {
            "kafka": {
                "reachable": self.kafka.reachable,
                "last_ok": self.kafka.last_ok.isoformat() if self.kafka.last_ok else None,
                "last_error": self.kafka.last_error,
            },
            "relay": {"role": self.relay_role},
            "consumers": {
                name: {"lag": sum(parts.values()), "partitions": parts}
                for name, parts in self.consumer_lag.items()
            },
        }
