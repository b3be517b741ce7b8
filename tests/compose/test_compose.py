"""docker-compose.yml and the Dockerfile stay valid without a Docker engine.

No Docker engine exists here or in CI, and building the images takes minutes (`make images`
builds them with podman; `make images-test` runs the catalog and the gateway from theirs), so
`make test` checks them offline: the compose file against the vendored Compose Specification
schema, then against the rules a schema cannot express (references between services, files
that must exist, the migrate-then-serve order), and the Dockerfile is read for the properties
the images depend on.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import validators
from jsonschema.protocols import Validator

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# The services built from this repository, with the port each listens on.
APP_SERVICES = {"catalog": 8001, "firms": 8003, "budget": 8002, "gateway": 8000}
DOCKERFILE = ROOT / "Dockerfile"


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return schema


def _compose() -> dict[str, Any]:
    """A fresh copy of the compose file each call, so that a test may mutate it."""
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def _validator() -> Validator:
    """A validator of the draft the schema declares, with format checking."""
    schema = _schema()
    # The spec writes `https://json-schema.org/draft-07/schema`; jsonschema knows each draft by
    # its canonical `http://…#` id, so compare on that form.
    declared = schema["$schema"].replace("https://", "http://", 1).rstrip("#") + "#"
    cls = validators.validator_for({"$schema": declared}, default=None)
    assert cls is not None, f"unknown JSON Schema draft {schema['$schema']!r}"
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _errors(document: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in _validator().iter_errors(document)]


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """depends_on in its long form; the short list form means service_started."""
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return dict(deps)


def _is_job(service: dict[str, Any]) -> bool:
    """A one-shot container: it runs to completion and is not restarted."""
    return str(service.get("restart", "no")) == "no"


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


# --- the schema itself ---------------------------------------------------------------------


def test_vendored_schema_is_complete() -> None:
    schema = _schema()
    assert schema["title"] == "Compose Specification"
    assert "draft-07" in schema["$schema"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert refs
    # A truncated or mangled copy would leave references pointing nowhere.
    for ref in refs:
        assert ref.startswith("#/definitions/"), ref
        assert ref.removeprefix("#/definitions/") in schema["definitions"], ref


# --- docker-compose.yml against the Compose Specification -----------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    assert _errors(_compose()) == []


def _misspelled_top_level_key(doc: dict[str, Any]) -> None:
    doc["servics"] = doc.pop("services")


def _port_list_as_a_mapping(doc: dict[str, Any]) -> None:
    doc["services"]["catalog"]["ports"] = {"8001": "8001"}


def _unknown_service_key(doc: dict[str, Any]) -> None:
    doc["services"]["gateway"]["depends"] = ["kafka"]


def _unknown_depends_on_condition(doc: dict[str, Any]) -> None:
    doc["services"]["catalog"]["depends_on"]["kafka"]["condition"] = "service_ready"


def _healthcheck_as_a_string(doc: dict[str, Any]) -> None:
    doc["services"]["postgres"]["healthcheck"] = "pg_isready"


@pytest.mark.parametrize(
    "mutate",
    [
        _misspelled_top_level_key,
        _port_list_as_a_mapping,
        _unknown_service_key,
        _unknown_depends_on_condition,
        _healthcheck_as_a_string,
    ],
)
def test_schema_validation_rejects_a_broken_compose_file(mutate: Any) -> None:
    broken = copy.deepcopy(_compose())
    mutate(broken)
    assert _errors(broken), f"{mutate.__name__} was accepted"


# --- what the schema cannot express -----------------------------------------------------------


def test_dependencies_name_existing_services_with_a_valid_condition() -> None:
    services = _services()
    for name, service in services.items():
        for dep, spec in _depends_on(service).items():
            assert dep in services, f"{name} depends on unknown service {dep!r}"
            assert dep != name, f"{name} depends on itself"
            condition = spec.get("condition")
            assert condition in CONDITIONS, f"{name} -> {dep}: condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: no healthcheck"
            if condition == "service_completed_successfully":
                assert _is_job(services[dep]), f"{name} waits for {dep} to complete: it restarts"


def test_dependency_graph_has_no_cycle() -> None:
    services = _services()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        # Unknown names are reported by the test above.
        for dep in _depends_on(services[name]).keys() & services.keys():
            visit(dep, (*path, name))
        done.add(name)

    for name in services:
        visit(name, ())


def test_built_services_point_at_existing_dockerfiles() -> None:
    built = {name: s["build"] for name, s in _services().items() if "build" in s}
    assert set(built) == set(APP_SERVICES)
    for name, build in built.items():
        build = {"context": build} if isinstance(build, str) else build
        context = (ROOT / build.get("context", ".")).resolve()
        assert context == ROOT, f"{name}: the build context must be the workspace root"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile == DOCKERFILE
        # One Dockerfile for every service; the build argument picks the service.
        assert build["args"]["SERVICE"] == name


def test_every_image_is_pinned_or_built_here() -> None:
    services = _services()
    built_images = {s["image"] for s in services.values() if "build" in s}
    for name, service in services.items():
        image = service["image"]
        if image in built_images:
            continue
        # Third-party images carry an explicit tag, never an implicit `latest`.
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: unpinned image {image!r}"
        assert not image.endswith(":latest"), f"{name}: {image}"


def test_bind_mounts_exist() -> None:
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"


@pytest.mark.parametrize("app", sorted(APP_SERVICES))
def test_migration_job_runs_migrate_with_the_service_image(app: str) -> None:
    services = _services()
    job = services[f"{app}-migrate"]
    assert job["command"] == [app, "migrate"]
    assert _is_job(job)
    assert "healthcheck" not in job
    # Same image and settings as the service (compose builds it once, for the service), but
    # as the database owner, granting the runtime role the service runs as.
    assert job["image"] == services[app]["image"]
    prefix = app.upper()
    owner_only = {f"{prefix}_DATABASE_URL", f"{prefix}_DATABASE_PASSWORD", f"{prefix}_DATABASE_RUNTIME_ROLE"}
    job_env, service_env = _env(job), _env(services[app])
    assert {k: v for k, v in job_env.items() if k not in owner_only} == {
        k: v for k, v in service_env.items() if k not in owner_only
    }
    assert job_env[f"{prefix}_DATABASE_URL"].startswith(f"postgresql://{app}@")
    assert job_env[f"{prefix}_DATABASE_RUNTIME_ROLE"] == f"{app}_runtime"
    assert service_env[f"{prefix}_DATABASE_URL"].startswith(f"postgresql://{app}_runtime@")
    assert _depends_on(job)["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("app", sorted(APP_SERVICES))
def test_service_starts_after_its_migration_and_kafka(app: str) -> None:
    service = _services()[app]
    deps = _depends_on(service)
    assert deps[f"{app}-migrate"]["condition"] == "service_completed_successfully"
    assert deps["kafka"]["condition"] == "service_healthy"
    assert service["command"] == [app, "serve"]


@pytest.mark.parametrize("app", sorted(APP_SERVICES))
def test_service_listens_on_all_interfaces_at_its_published_port(app: str) -> None:
    service = _services()[app]
    env = _env(service)
    prefix = app.upper()
    port = APP_SERVICES[app]
    assert env[f"{prefix}_HOST"] == "0.0.0.0"
    assert env[f"{prefix}_PORT"] == str(port)
    assert env[f"{prefix}_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env[f"{prefix}_DATABASE_URL"].endswith(f"@postgres:5432/{app}")
    assert any(str(p).endswith(f":{port}") for p in service["ports"])
    assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])


def test_every_long_running_service_has_a_healthcheck() -> None:
    long_running = {name: s for name, s in _services().items() if not _is_job(s)}
    assert set(long_running) == {"kafka", "postgres", *APP_SERVICES}
    for name, service in long_running.items():
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable", False), f"{name} disables its healthcheck"


def test_kafka_is_a_single_kraft_node_without_topic_auto_creation() -> None:
    env = _env(_services()["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "kafka-broker-api-versions.sh" in " ".join(_services()["kafka"]["healthcheck"]["test"])


def test_postgres_creates_a_database_per_service() -> None:
    sql = (ROOT / "deploy" / "compose" / "init-databases.sql").read_text()
    created = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+);", sql))
    assert created == {app: app for app in APP_SERVICES}
    roles = set(re.findall(r"CREATE ROLE (\w+) LOGIN", sql))
    assert roles == set(APP_SERVICES) | {f"{app}_runtime" for app in APP_SERVICES}


# --- the Dockerfiles -----------------------------------------------------------------------


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def _stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions(dockerfile):
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_dockerfile_is_multi_stage_and_built_with_uv() -> None:
    stages = _stages(DOCKERFILE)
    # The gateway's portal (Node.js), the Python builder, the runtime.
    assert [stage[0][1].split()[-1] for stage in stages[:2]] == ["portal", "builder"]
    assert len(stages) == 3
    syncs = [args for kw, args in _instructions(DOCKERFILE) if kw == "RUN" and "uv sync" in args]
    # Dependencies first, then the project: two syncs, both from the lock, neither with dev tools.
    assert len(syncs) == 2
    for args in syncs:
        assert "--frozen" in args
        assert "--no-dev" in args
        assert '--package "mpe-${SERVICE}"' in args
    assert "--no-install-workspace" in syncs[0]
    # Installed as wheels, not pointing back at the sources.
    assert "--no-editable" in syncs[1]


def test_base_is_a_build_argument_defaulting_to_python_slim() -> None:
    first, second, *_ = _instructions(DOCKERFILE)
    assert first == ("ARG", "BASE=python:3.11-slim")
    assert second == ("ARG", "NODE_BASE=node:20-slim")
    assert [stage[0][1].split()[0] for stage in _stages(DOCKERFILE)] == ["${NODE_BASE}", "${BASE}", "${BASE}"]


def test_final_stage_runs_the_service_as_a_non_root_user_with_oci_labels() -> None:
    final = _stages(DOCKERFILE)[-1]
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    # The runtime image carries the venv, not the tool that built it, nor the sources.
    copies = [args for kw, args in final if kw == "COPY"]
    assert copies == ["--from=builder /app /app"]
    labels = " ".join(args for kw, args in final if kw == "LABEL")
    for key in ("source", "revision", "version"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert [json.loads(args) for kw, args in final if kw == "CMD"] == [["mpe-service", "serve"]]
    assert "PYTHONDONTWRITEBYTECODE=1" in " ".join(args for kw, args in final if kw == "ENV")


@pytest.mark.parametrize("app", sorted(APP_SERVICES))
def test_dockerfile_copies_only_paths_that_exist(app: str) -> None:
    for keyword, args in _instructions(DOCKERFILE):
        if keyword == "COPY" and "--from=" not in args:
            *sources, _dest = args.replace("${SERVICE}", app).split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the build context"


@pytest.mark.parametrize("app", sorted(APP_SERVICES))
def test_migrations_are_package_data(app: str) -> None:
    """The migrations live in the package, so an installed wheel finds them; no code walks up
    from its own file to the repository."""
    package = ROOT / "services" / app / "src" / app
    assert any((package / "migrations").glob("*.sql"))
    assert not (ROOT / "services" / app / "migrations").exists()
    for source in package.rglob("*.py"):
        assert "parents[" not in source.read_text(), source


def test_the_per_service_dockerfiles_are_gone() -> None:
    assert not list(ROOT.glob("services/*/Dockerfile"))
