"""Each service's workloads: config, pods, deployments, the migrations job, network and availability."""

from __future__ import annotations

from typing import Any

from mpe_devstack.k8s.model import (
    KAFKA_BOOTSTRAP,
    KAFKA_CA_DIR,
    KAFKA_CA_SECRET,
    KAFKA_CLUSTER,
    OPS_PORT,
    REPLICATION,
    SECRETS_DIR,
    SERVICES,
    UID,
    Service,
    _labels,
    _meta,
)


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
            # The api's count is its HPA's: a `replicas` here would reset a scaled-out api at
            # every apply, mid-deploy. The worker has no HPA and keeps two.
            **({} if component == "api" else {"replicas": 2}),
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


def service_account(svc: Service) -> dict[str, Any]:
    """An identity of its own, with no API token mounted (the services never call Kubernetes)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(svc.name, svc.name),
        "automountServiceAccountToken": False,
    }
