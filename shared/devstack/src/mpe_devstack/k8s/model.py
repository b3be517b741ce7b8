"""The facts the manifests are made of: the cluster's names and the four services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mpe_events import registry, topics

NAMESPACE = "mpehub"
KAFKA_CLUSTER = "mpe"
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap:9093"
KAFKA_CA_SECRET = f"{KAFKA_CLUSTER}-cluster-ca-cert"
OPS_PORT = 9090
SECRETS_DIR = "/run/secrets/mpe"
KAFKA_CA_DIR = "/run/secrets/kafka-ca"
UID = 10001
REPLICATION = 3


@dataclass(frozen=True)
class Service:
    """What tells one service's manifests apart from another's."""

    name: str
    port: int
    consumer_group: str | None = None
    consumes: tuple[str, ...] = ()
    reads_through: tuple[str, ...] = ()
    # Relay leadership and the gateway's change hub hold session state (advisory locks, LISTEN),
    # which a transaction-mode pooler cannot keep: those processes connect to the primary.
    api_through_pooler: bool = True
    staff_auth: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)


SERVICES: tuple[Service, ...] = (
    Service(name="catalog", port=8001),
    Service(
        name="firms",
        port=8003,
        consumer_group="firms-technology-replica",
        consumes=(topics.CATALOG_TECHNOLOGY.name,),
        reads_through=("catalog",),
        extra_env={"FIRMS_CATALOG_URL": "http://catalog:8001"},
    ),
    Service(
        name="budget",
        port=8002,
        consumer_group="budget-replicas",
        consumes=(topics.CATALOG_TECHNOLOGY.name, topics.FIRMS_FIRM.name),
        reads_through=("catalog", "firms"),
        extra_env={"BUDGET_CATALOG_URL": "http://catalog:8001", "BUDGET_FIRMS_URL": "http://firms:8003"},
    ),
    Service(
        name="gateway",
        port=8000,
        consumer_group="gateway-projector",
        consumes=tuple(sorted({e.topic.name for e in registry.EVENT_TYPES.values()})),
        api_through_pooler=False,
        staff_auth=False,
    ),
)


def _labels(service: str, component: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": "mpehub"}
    if component is not None:
        labels["app.kubernetes.io/component"] = component
    return labels


def _meta(name: str, service: str, component: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": _labels(service, component), **extra}
