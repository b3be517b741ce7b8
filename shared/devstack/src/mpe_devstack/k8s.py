"""Writes the generated part of deploy/k8s/base from the code's own registries (`make k8s`).

What the code already knows is not typed twice: the KafkaTopics come from `mpe_events.topics`,
and each service's KafkaUser ACLs from the topics it owns and the event types it consumes.
The per-service workloads are generated too, because the four services have the same shape and
differ only in a handful of facts (`SERVICES` below); overlays carry what differs per
environment. `tests/k8s` fails when the committed files drift from this output.

    uv run python -m mpe_devstack.k8s [--check]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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


def _db_host(svc: Service, *, pooled: bool) -> str:
    return f"{svc.name}-db-pooler-rw" if pooled else f"{svc.name}-db-rw"


def _dsn(svc: Service, *, user: str, pooled: bool) -> str:
    # No password here: it is read from a file (the settings' secrets directory).
    return f"postgresql://{user}@{_db_host(svc, pooled=pooled)}:5432/{svc.name}?sslmode=require"


def config_map(svc: Service) -> dict[str, Any]:
    """The service's non-secret settings, shared by its api, worker and migrations."""
    p = svc.name.upper() + "_"
    data = {
        f"{p}HOST": "0.0.0.0",
        f"{p}PORT": str(svc.port),
        f"{p}OPS_HOST": "0.0.0.0",
        f"{p}OPS_PORT": str(OPS_PORT),
        f"{p}LOG_JSON": "true",
        f"{p}KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP,
        f"{p}KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        f"{p}KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        f"{p}KAFKA_SASL_USERNAME": svc.name,
        f"{p}KAFKA_SSL_CAFILE": f"{KAFKA_CA_DIR}/ca.crt",
        # The Topic Operator owns the topics (KafkaTopic resources); the services never create any.
        f"{p}CREATE_TOPICS": "false",
        f"{p}TOPIC_REPLICATION": str(REPLICATION),
        "MPE_SECRETS_DIR": SECRETS_DIR,
        "OTEL_SERVICE_NAME": svc.name,
        **svc.extra_env,
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{svc.name}-config", svc.name),
        "data": data,
    }


def _secret_file(secret: str, key: str, path: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "items": [{"key": key, "path": path}]}
    if optional:
        ref["optional"] = True
    return {"secret": ref}


def _secrets_volume(svc: Service, *, owner: bool) -> dict[str, Any]:
    """One directory of files named as the settings they fill (pydantic-settings' secrets_dir)."""
    p = svc.name
    db_secret = f"{p}-db-app" if owner else f"{p}-db-runtime"
    sources = [_secret_file(db_secret, "password", f"{p}_database_password")]
    # The migrations need only the owner's password; the processes need the rest.
    if not owner:
        sources.append(_secret_file(p, "password", f"{p}_kafka_sasl_password"))
    if svc.staff_auth and not owner:
        sources.append(_secret_file("mpe-jwt", "secret", f"{p}_jwt_secret"))
    if svc.reads_through and not owner:
        # Optional: without it a replica miss is answered 503 instead of reading through.
        sources.append(_secret_file(f"{p}-service-token", "token", f"{p}_service_token", optional=True))
    return {"name": "secrets", "projected": {"sources": sources, "defaultMode": 0o440}}


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "ops"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 3,
    }


def _pod(
    svc: Service, component: str, args: list[str], env: dict[str, str], *, owner: bool
) -> dict[str, Any]:
    ports = [{"name": "ops", "containerPort": OPS_PORT}]
    if component == "api":
        ports.insert(0, {"name": "http", "containerPort": svc.port})
    container: dict[str, Any] = {
        "name": svc.name,
        "image": f"mpehub/{svc.name}",
        "args": args,
        "envFrom": [{"configMapRef": {"name": f"{svc.name}-config"}}],
        "env": [
            *({"name": k, "value": v} for k, v in env.items()),
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "OTEL_RESOURCE_ATTRIBUTES",
                "value": f"service.namespace=mpehub,service.instance.id=$(POD_NAME),mpe.component={component}",
            },
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (the read-only root needs a writable /tmp)
            {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True},
        ],
    }
    if component != "migrations":
        container["ports"] = ports
        container["startupProbe"] = _probe("/healthz", period=2, failures=30)
        container["livenessProbe"] = _probe("/healthz", period=10, failures=3)
        # Ready means the database answers and every migration is applied; Kafka never turns it red.
        container["readinessProbe"] = _probe("/readyz", period=5, failures=2)
    spec: dict[str, Any] = {
        "serviceAccountName": svc.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            _secrets_volume(svc, owner=owner),
        ],
    }
    if component != "migrations":
        # The broker's certificate authority (Strimzi's cluster CA); the migrations never talk to Kafka.
        container["volumeMounts"].append({"name": "kafka-ca", "mountPath": KAFKA_CA_DIR, "readOnly": True})
        spec["volumes"].append(
            {
                "name": "kafka-ca",
                "secret": {"secretName": KAFKA_CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]},
            }
        )
        spec["terminationGracePeriodSeconds"] = 30
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": _labels(svc.name, component)},
            }
        ]
    return {"metadata": {"labels": _labels(svc.name, component)}, "spec": spec}


def deployment(svc: Service, component: str) -> dict[str, Any]:
    """The api (HTTP) or the worker (relay and consumers) of a service."""
    p = svc.name.upper() + "_"
    pooled = component == "api" and svc.api_through_pooler
    env = {f"{p}DATABASE_URL": _dsn(svc, user=f"{svc.name}_runtime", pooled=pooled)}
    if pooled:
        # PgBouncer in transaction mode hands each transaction any server connection:
        # prepared statements must not outlive the transaction that made them.
        env[f"{p}DB_STATEMENT_CACHE_SIZE"] = "0"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"{svc.name}-{component}", svc.name, component),
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": _labels(svc.name, component)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": _pod(svc, component, [svc.name, component], env, owner=False),
        },
    }


def migrations_job(svc: Service) -> dict[str, Any]:
    """Applies pending migrations as the database owner, then grants DML to the runtime role."""
    p = svc.name.upper() + "_"
    env = {
        f"{p}DATABASE_URL": _dsn(svc, user=svc.name, pooled=False),
        f"{p}DATABASE_RUNTIME_ROLE": f"{svc.name}_runtime",
    }
    template = _pod(svc, "migrations", [svc.name, "migrate"], env, owner=True)
    template["spec"]["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(f"{svc.name}-migrate", svc.name, "migrations"),
        "spec": {"backoffLimit": 6, "activeDeadlineSeconds": 900, "template": template},
    }


def services(svc: Service) -> list[dict[str, Any]]:
    """The API's Service, and the ops Service that Prometheus scrapes (api and worker pods)."""
    api = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(svc.name, svc.name, "api"),
        "spec": {
            "selector": _labels(svc.name, "api"),
            "ports": [{"name": "http", "port": svc.port, "targetPort": "http"}],
        },
    }
    ops = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(f"{svc.name}-ops", svc.name, "ops"),
        "spec": {
            "clusterIP": "None",
            "selector": _labels(svc.name),
            "ports": [{"name": "ops", "port": OPS_PORT, "targetPort": "ops"}],
        },
    }
    return [api, ops]


def service_monitor(svc: Service) -> dict[str, Any]:
    """Prometheus scrapes every api and worker pod on its ops port."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(svc.name, svc.name),
        "spec": {
            "selector": {"matchLabels": _labels(svc.name, "ops")},
            "endpoints": [{"port": "ops", "path": "/metrics", "interval": "30s"}],
        },
    }


def disruption_budgets(svc: Service) -> list[dict[str, Any]]:
    """A drain keeps one API pod serving and moves the workers one at a time."""
    return [
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(f"{svc.name}-{component}", svc.name, component),
            "spec": {"selector": {"matchLabels": _labels(svc.name, component)}, **budget},
        }
        for component, budget in (("api", {"minAvailable": 1}), ("worker", {"maxUnavailable": 1}))
    ]


def autoscaler(svc: Service) -> dict[str, Any]:
    """The API tier scales on CPU; workers do not (one relay leads, consumers are bounded by partitions)."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(f"{svc.name}-api", svc.name, "api"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{svc.name}-api"},
            "minReplicas": 2,
            "maxReplicas": 6,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def _pods_of(service: str, component: str | None = None) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": _labels(service, component)}}


def network_policy(svc: Service) -> dict[str, Any]:
    """In: the gateway from anywhere; a write API only from the services that read through to it.
    Out: DNS, the service's own database and pooler, Kafka, and the owners it reads through to."""
    readers = [s.name for s in SERVICES if svc.name in s.reads_through]
    ingress: list[dict[str, Any]] = [
        # Prometheus, wherever it runs, scrapes the ops port; partners never reach it from outside.
        {"from": [{"namespaceSelector": {}}], "ports": [{"port": "ops", "protocol": "TCP"}]},
    ]
    if svc.name == "gateway":
        ingress.append({"ports": [{"port": "http", "protocol": "TCP"}]})
    elif readers:
        ingress.append(
            {"from": [_pods_of(r) for r in readers], "ports": [{"port": "http", "protocol": "TCP"}]}
        )
    egress: list[dict[str, Any]] = [
        {
            "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        },
        {
            "to": [
                {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{svc.name}-db"}}},
                {"podSelector": {"matchLabels": {"cnpg.io/poolerName": f"{svc.name}-db-pooler-rw"}}},
            ],
            "ports": [{"port": 5432, "protocol": "TCP"}],
        },
        {
            "to": [
                {
                    "podSelector": {
                        "matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/kind": "Kafka"}
                    }
                }
            ],
            "ports": [{"port": 9093, "protocol": "TCP"}],
        },
    ]
    for owner in svc.reads_through:
        port = next(s.port for s in SERVICES if s.name == owner)
        egress.append({"to": [_pods_of(owner, "api")], "ports": [{"port": port, "protocol": "TCP"}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(svc.name, svc.name),
        "spec": {
            "podSelector": {"matchLabels": _labels(svc.name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


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


def service_account(svc: Service) -> dict[str, Any]:
    """An identity of its own, with no API token mounted (the services never call Kubernetes)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(svc.name, svc.name),
        "automountServiceAccountToken": False,
    }


HEADER = "# Generated by `make k8s` (mpe_devstack.k8s) from the code's registries: edit the generator.\n"


def _dump(objects: list[dict[str, Any]]) -> str:
    return HEADER + "---\n".join(yaml.safe_dump(o, sort_keys=False, allow_unicode=True) for o in objects)


def _kustomization(resources: list[str], *, comment: str) -> str:
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": resources,
    }
    return HEADER + f"# {comment}\n" + yaml.safe_dump(body, sort_keys=False)


def render() -> dict[str, str]:
    """Every generated file under deploy/k8s/base, by relative path."""
    files = {
        "platform/topics.yaml": _dump(kafka_topics()),
    }
    for svc in SERVICES:
        d = svc.name
        files[f"{d}/config.yaml"] = _dump([service_account(svc), config_map(svc)])
        files[f"{d}/api.yaml"] = _dump([deployment(svc, "api"), autoscaler(svc)])
        files[f"{d}/worker.yaml"] = _dump([deployment(svc, "worker")])
        files[f"{d}/migrate.yaml"] = _dump([migrations_job(svc)])
        files[f"{d}/network.yaml"] = _dump([*services(svc), network_policy(svc)])
        files[f"{d}/availability.yaml"] = _dump([*disruption_budgets(svc), service_monitor(svc)])
        files[f"{d}/kafka-user.yaml"] = _dump([kafka_user(svc)])
        files[f"{d}/postgres.yaml"] = _dump(postgres(svc))
        files[f"{d}/kustomization.yaml"] = _kustomization(
            [
                "config.yaml",
                "postgres.yaml",
                "kafka-user.yaml",
                "migrate.yaml",
                "api.yaml",
                "worker.yaml",
                "network.yaml",
                "availability.yaml",
            ],
            comment=f"The {d} service on its own: database, Kafka user, migrations, api, worker.",
        )
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with --check report those that differ from the generator's output."""
    parser = argparse.ArgumentParser(description="Generate deploy/k8s/base from the registries.")
    parser.add_argument("--base", type=Path, default=Path("deploy/k8s/base"))
    parser.add_argument("--check", action="store_true", help="fail if a committed file differs")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in render().items():
        path = args.base / rel
        if path.exists() and path.read_text() == text:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print("out of date (run `make k8s`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
