"""What the platform operators run for the services: Kafka topics and users (Strimzi), Postgres (CNPG)."""

from __future__ import annotations

from typing import Any

from mpe_devstack.k8s.model import KAFKA_CLUSTER, REPLICATION, Service, _labels, _meta
from mpe_events import topics


def topic_resource_name(topic: str) -> str:
    """A Kubernetes name for a topic: names allow dots but not underscores."""
    return topic.replace("_", "-")


def kafka_topics() -> list[dict[str, Any]]:
    """One KafkaTopic per registered topic and one per dead-letter topic."""
    specs = [*topics.TOPICS.values(), *(topics.dlq_spec(t) for t in topics.TOPICS)]
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": {
                "name": topic_resource_name(s.name),
                "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, "app.kubernetes.io/part-of": "mpehub"},
            },
            "spec": {
                "topicName": s.name,
                "partitions": s.partitions,
                "replicas": REPLICATION,
                "config": {**s.config, "min.insync.replicas": "2"},
            },
        }
        for s in specs
    ]


def _acl(kind: str, name: str, operations: list[str]) -> dict[str, Any]:
    return {"resource": {"type": kind, "name": name, "patternType": "literal"}, "operations": operations}


def kafka_user(svc: Service) -> dict[str, Any]:
    """SCRAM credentials and exactly the ACLs the service's relay and consumers use."""
    acls = [_acl("topic", t.name, ["Write", "Describe"]) for t in topics.owned_by(svc.name)]
    acls += [_acl("topic", t, ["Read", "Describe"]) for t in svc.consumes]
    acls += [_acl("topic", f"{t}.dlq", ["Write", "Describe"]) for t in svc.consumes]
    if svc.consumer_group is not None:
        acls.append(_acl("group", svc.consumer_group, ["Read"]))
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {
            "name": svc.name,
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **_labels(svc.name)},
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


# The gateway's api connects past the pooler (LISTEN, prepared statements): in prod up to 12 pods
# of DB_POOL_MAX (10) and the change hub's one, and 2 workers of 10 (the projector; the gateway
# has no outbox, so no relay), some 155 connections, past Postgres's default 100 (more pods
# would get "too many clients").
GATEWAY_MAX_CONNECTIONS = 200


def _connections(svc: Service) -> dict[str, Any]:
    if svc.api_through_pooler:
        return {}
    return {"postgresql": {"parameters": {"max_connections": str(GATEWAY_MAX_CONNECTIONS)}}}


def postgres(svc: Service) -> list[dict[str, Any]]:
    """The service's own CNPG cluster (owner `<svc>`, runtime role `<svc>_runtime`) and its pooler."""
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": _meta(f"{svc.name}-db", svc.name, "database"),
        "spec": {
            "instances": 3,
            "imageName": "ghcr.io/cloudnative-pg/postgresql:17",
            "primaryUpdateStrategy": "unsupervised",
            "storage": {"size": "10Gi"},
            "bootstrap": {"initdb": {"database": svc.name, "owner": svc.name}},
            # The runtime role: DML only, granted by the migrations (DATABASE_RUNTIME_ROLE).
            "managed": {
                "roles": [
                    {
                        "name": f"{svc.name}_runtime",
                        "ensure": "present",
                        "login": True,
                        "passwordSecret": {"name": f"{svc.name}-db-runtime"},
                    }
                ]
            },
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            **_connections(svc),
        },
    }
    pooler = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Pooler",
        "metadata": _meta(f"{svc.name}-db-pooler-rw", svc.name, "database"),
        "spec": {
            "cluster": {"name": f"{svc.name}-db"},
            "instances": 2,
            "type": "rw",
            "pgbouncer": {
                "poolMode": "transaction",
                "parameters": {"max_client_conn": "500", "default_pool_size": "20"},
            },
        },
    }
    return [cluster, pooler]
