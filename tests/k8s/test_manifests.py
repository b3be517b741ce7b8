"""deploy/k8s renders, validates against the Kubernetes, Strimzi, CNPG and Prometheus-operator
schemas, and stays in step with the topic registry: all offline, with the pinned tools that
deploy/k8s/tools.sh installs (kustomize and kubeconform, ~/.cache/mpehub/bin)."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mpe_devstack import k8s
from mpe_events import topics

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
BIN = Path(os.environ.get("MPE_TOOLS_BIN", Path.home() / ".cache" / "mpehub" / "bin"))
OVERLAYS = sorted(
    str(p.parent.relative_to(K8S / "overlays"))
    for p in (K8S / "overlays").glob("**/kustomization.yaml")
    if yaml.safe_load(p.read_text())["kind"] == "Kustomization"
)
SERVICE_NAMES = [s.name for s in k8s.SERVICES]


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{path} is missing: run `bash deploy/k8s/tools.sh` (make bootstrap does)"
    return str(path)


@cache
def _render(overlay: str) -> str:
    done = subprocess.run(
        [_tool("kustomize"), "build", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _objects(overlay: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(_render(overlay)) if o]


def test_generated_files_are_current() -> None:
    """A change to the registry or the generator without `make k8s` fails here."""
    assert k8s.main(["--check", "--base", str(K8S / "base")]) == 0


def test_overlays_cover_both_environments_and_each_service_alone() -> None:
    for env in ("dev", "prod"):
        assert env in OVERLAYS
        for part in ["platform", *SERVICE_NAMES]:
            assert f"{env}/{part}" in OVERLAYS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_the_schemas(overlay: str) -> None:
    """Every object of the rendered overlay has a schema, and passes it in strict mode."""
    done = subprocess.run(
        [
            _tool("kubeconform"),
            "-strict",
            "-summary",
            "-output=json",
            "-schema-location",
            f"{SCHEMAS}/kubernetes/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-schema-location",
            f"{SCHEMAS}/crds/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
            "-",
        ],
        input=_render(overlay),
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["resources"] == [], report["resources"]
    summary = report["summary"]
    assert summary["valid"] == len(_objects(overlay)) > 0
    assert (summary["invalid"], summary["errors"], summary["skipped"]) == (0, 0, 0)


def test_a_typo_is_caught_by_the_strict_schemas() -> None:
    """The schemas are closed: an unknown field fails validation instead of being ignored."""
    broken = _render("dev/platform").replace("topicName:", "topicNme:", 1)
    done = subprocess.run(
        [
            _tool("kubeconform"),
            "-strict",
            "-schema-location",
            f"{SCHEMAS}/crds/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
            "-schema-location",
            f"{SCHEMAS}/kubernetes/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-",
        ],
        input=broken,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "topicNme" in done.stdout


def test_topics_match_the_registry() -> None:
    """One KafkaTopic per registered topic and per dead-letter topic, with the registry's settings."""
    rendered = {
        o["spec"]["topicName"]: o["spec"] for o in _objects("prod/platform") if o["kind"] == "KafkaTopic"
    }
    wanted = {
        **{t.name: t for t in topics.TOPICS.values()},
        **{t.dlq: topics.dlq_spec(t.name) for t in topics.TOPICS.values()},
    }
    assert set(rendered) == set(wanted)
    for name, spec in wanted.items():
        assert rendered[name]["partitions"] == spec.partitions
        assert rendered[name]["replicas"] == 3
        assert rendered[name]["config"] == {**spec.config, "min.insync.replicas": "2"}


def test_kafka_runs_in_kraft_with_three_brokers_and_min_isr_two() -> None:
    objs = {o["kind"]: o for o in _objects("prod/platform") if o["kind"] in ("Kafka", "KafkaNodePool")}
    assert objs["KafkaNodePool"]["spec"]["replicas"] == 3
    assert set(objs["KafkaNodePool"]["spec"]["roles"]) == {"controller", "broker"}
    config = objs["Kafka"]["spec"]["kafka"]["config"]
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == (3, 2)
    assert config["auto.create.topics.enable"] is False
    (listener,) = objs["Kafka"]["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True
    assert listener["authentication"]["type"] == "scram-sha-512"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_kafka_user_may_do_what_the_service_does_and_nothing_more(service: str) -> None:
    """Write its own topics and the dead letters of what it reads; read what it consumes."""
    svc = next(s for s in k8s.SERVICES if s.name == service)
    (user,) = [o for o in _objects(f"prod/{service}") if o["kind"] == "KafkaUser"]
    assert user["metadata"]["name"] == service
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    grants = {
        (acl["resource"]["type"], acl["resource"]["name"], op)
        for acl in user["spec"]["authorization"]["acls"]
        for op in acl["operations"]
    }
    assert all(acl["resource"]["patternType"] == "literal" for acl in user["spec"]["authorization"]["acls"])
    writes = {name for kind, name, op in grants if op == "Write"}
    assert writes == {t.name for t in topics.owned_by(service)} | {f"{t}.dlq" for t in svc.consumes}
    reads = {name for kind, name, op in grants if op == "Read" and kind == "topic"}
    assert reads == set(svc.consumes)
    assert {op for _, _, op in grants} <= {"Read", "Write", "Describe"}
    assert not any(kind in ("cluster", "transactionalId") for kind, _, _ in grants)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_overlay_is_that_service_alone(service: str) -> None:
    """Deploying one service brings its database, user, migrations, api and worker, and no other's."""
    objs = _objects(f"prod/{service}")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert {
        ("Deployment", f"{service}-api"),
        ("Deployment", f"{service}-worker"),
        ("Job", f"{service}-migrate"),
        ("Cluster", f"{service}-db"),
        ("Pooler", f"{service}-db-pooler-rw"),
        ("KafkaUser", service),
        ("HorizontalPodAutoscaler", f"{service}-api"),
        ("NetworkPolicy", service),
        ("ServiceMonitor", service),
    } <= kinds
    assert all(o["metadata"]["labels"]["app.kubernetes.io/name"] == service for o in objs)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_pods_run_locked_down_and_read_their_secrets_from_files(service: str) -> None:
    for obj in _objects(f"prod/{service}"):
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert (sc["readOnlyRootFilesystem"], sc["allowPrivilegeEscalation"]) == (True, False)
        assert sc["capabilities"]["drop"] == ["ALL"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        dsn = env[f"{service.upper()}_DATABASE_URL"]
        user = dsn.removeprefix("postgresql://").split("@")[0]
        assert ":" not in user, "no password in a DSN"
        secrets = {
            item["path"]: src["secret"]["name"]
            for vol in pod["volumes"]
            if "projected" in vol
            for src in vol["projected"]["sources"]
            for item in src["secret"]["items"]
        }
        owner = obj["kind"] == "Job"
        # The migrations run as the database owner (CNPG's -app secret) and get no Kafka secret;
        # the processes run as the runtime role.
        assert (f"{service}_kafka_sasl_password" in secrets) == (not owner)
        assert secrets[f"{service}_database_password"] == (
            f"{service}-db-app" if owner else f"{service}-db-runtime"
        )
        assert dsn.startswith(f"postgresql://{service}@" if owner else f"postgresql://{service}_runtime@")


def test_only_the_gateway_takes_traffic_from_anywhere() -> None:
    for obj in _objects("prod"):
        if obj["kind"] != "NetworkPolicy":
            continue
        name = obj["metadata"]["name"]
        open_rules = [r for r in obj["spec"]["ingress"] if "from" not in r]
        if name == "gateway":
            assert open_rules == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
        else:
            assert open_rules == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_an_api_leaves_its_pod_count_to_its_autoscaler(env: str) -> None:
    # Found by a review: `replicas: 2` reset a scaled-out api to 2 at every apply, mid-deploy.
    for service in SERVICE_NAMES:
        objs = {(o["kind"], o["metadata"]["name"]): o for o in _objects(f"{env}/{service}")}
        api = objs["Deployment", f"{service}-api"]["spec"]
        worker = objs["Deployment", f"{service}-worker"]["spec"]
        if env == "prod":
            assert "replicas" not in api, service
            assert worker["replicas"] == 2
        else:
            assert (api["replicas"], worker["replicas"]) == (1, 1)


def test_the_gateways_database_takes_the_connections_its_api_may_open() -> None:
    # Found by a review: 12 gateway pods straight to Postgres passed its default 100 connections.
    objs = {(o["kind"], o["metadata"]["name"]): o for o in _objects("prod/gateway")}
    hpa = objs["HorizontalPodAutoscaler", "gateway-api"]["spec"]
    cluster = objs["Cluster", "gateway-db"]["spec"]
    per_pod = 10 + 1  # DB_POOL_MAX's default and the change hub's connection
    assert (
        int(cluster["postgresql"]["parameters"]["max_connections"])
        >= hpa["maxReplicas"] * per_pod + 2 * per_pod
    )
