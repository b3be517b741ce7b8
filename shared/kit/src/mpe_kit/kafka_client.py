"""How a process reaches Kafka: bootstrap, TLS and SASL/SCRAM, and whether it may create topics.

One value carries all of it, so that the relay, the consumers and the dead-letter producers
connect the same way to a plain local broker and to a Strimzi listener with TLS and SCRAM.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka.helpers import create_ssl_context

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


@dataclass(frozen=True, kw_only=True)
class KafkaClient:
    """Connection settings shared by every Kafka client of a process."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    # Off where an operator owns the topics (Strimzi's Topic Operator): the service only uses them.
    create_topics: bool = True

    def __post_init__(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"security_protocol must be one of {', '.join(SECURITY_PROTOCOLS)}")
        if self.security_protocol.startswith("SASL_") and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"{self.security_protocol} needs a SASL username and password")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context trusting the given CA (else the system's), for SSL and SASL_SSL."""
        if not self.security_protocol.endswith("SSL"):
            return None
        context: ssl.SSLContext = create_ssl_context(cafile=self.ssl_cafile)
        return context

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        out: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            out["ssl_context"] = context
        if self.security_protocol.startswith("SASL_"):
            out["sasl_mechanism"] = self.sasl_mechanism or "SCRAM-SHA-512"
            out["sasl_plain_username"] = self.sasl_username
            out["sasl_plain_password"] = self.sasl_password
        return out


def as_client(target: str | KafkaClient) -> KafkaClient:
    """A bare bootstrap string is a plaintext client allowed to create its topics."""
    return target if isinstance(target, KafkaClient) else KafkaClient(bootstrap=target)
