"""Write the JSON Schemas kubeconform validates our manifests against, small and offline.

Run by hand when a pinned version changes (see SOURCES.md); the output is committed:

    python deploy/k8s/schemas/vendor.py --swagger <kubernetes>/api/openapi-spec/swagger.json \
        --crd <file.yaml> [--crd ...]

Only the kinds the manifests use are written, descriptions are dropped, and every object that
lists its properties refuses unknown ones (kubeconform's -strict catches typos only where the
schema says so). Layout, for kubeconform's -schema-location templates:
    kubernetes/{kind}{-group}-{version}.json   (one self-contained file per kind)
    crds/{group}/{kind}_{version}.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent

# The Kubernetes kinds in deploy/k8s, as swagger definition names.
K8S_KINDS = {
    "io.k8s.api.apps.v1.Deployment": "deployment-apps-v1",
    "io.k8s.api.batch.v1.Job": "job-batch-v1",
    "io.k8s.api.core.v1.Service": "service-v1",
    "io.k8s.api.core.v1.ServiceAccount": "serviceaccount-v1",
    "io.k8s.api.core.v1.ConfigMap": "configmap-v1",
    "io.k8s.api.core.v1.Secret": "secret-v1",
    "io.k8s.api.core.v1.Namespace": "namespace-v1",
    "io.k8s.api.policy.v1.PodDisruptionBudget": "poddisruptionbudget-policy-v1",
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler": "horizontalpodautoscaler-autoscaling-v2",
    "io.k8s.api.networking.v1.NetworkPolicy": "networkpolicy-networking-v1",
}

# Kinds whose CRD schemas are kept (others in the same file are skipped).
CRD_KINDS = {
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "Cluster",
    "Pooler",
    "ServiceMonitor",
    "PrometheusRule",
}

_INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
_QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}


def _tidy(node: Any, *, strict: bool) -> Any:
    """Drop descriptions, turn OpenAPI quirks into JSON Schema, close objects with properties."""
    if isinstance(node, list):
        return [_tidy(n, strict=strict) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        return dict(_INT_OR_STRING)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in (
            "description",
            "x-kubernetes-group-version-kind",
            "x-kubernetes-list-map-keys",
            "x-kubernetes-list-type",
            "x-kubernetes-patch-merge-key",
            "x-kubernetes-patch-strategy",
            "x-kubernetes-map-type",
            "x-kubernetes-validations",
            "x-kubernetes-unions",
        ):
            continue
        if key == "properties":
            out[key] = {name: _tidy(sub, strict=strict) for name, sub in value.items()}
        else:
            out[key] = _tidy(value, strict=strict)
    if node.get("nullable"):
        kind = out.pop("type", None)
        out.pop("nullable", None)
        if kind is not None:
            out["type"] = [kind, "null"]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    out.pop("x-kubernetes-embedded-resource", None)
    if strict and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(n) for n in node)) if node else set()
    return set()


def kubernetes(swagger: dict[str, Any], out: Path) -> None:
    """One self-contained schema per kind: the kind's definition closure, refs kept internal."""
    definitions = swagger["definitions"]
    definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = _QUANTITY
    for name, filename in K8S_KINDS.items():
        closure: dict[str, Any] = {}
        todo = [name]
        while todo:
            current = todo.pop()
            if current in closure:
                continue
            closure[current] = _tidy(definitions[current], strict=True)
            todo.extend(_refs(closure[current]) - closure.keys())
        schema = {"$ref": f"#/definitions/{name}", "definitions": dict(sorted(closure.items()))}
        (out / f"{filename}.json").write_text(
            json.dumps(schema, separators=(",", ":"), sort_keys=True) + "\n"
        )


def crds(paths: list[Path], out: Path) -> None:
    """One schema per kind and served version of each CustomResourceDefinition."""
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            if spec["names"]["kind"] not in CRD_KINDS:
                continue
            group_dir = out / spec["group"]
            group_dir.mkdir(parents=True, exist_ok=True)
            for version in spec["versions"]:
                if not version.get("served"):
                    continue
                schema = _tidy(version["schema"]["openAPIV3Schema"], strict=True)
                # kubeconform adds apiVersion, kind and metadata only if the schema names them.
                schema.setdefault("properties", {}).setdefault("metadata", {"type": "object"})
                name = f"{spec['names']['kind'].lower()}_{version['name']}.json"
                (group_dir / name).write_text(
                    json.dumps(schema, separators=(",", ":"), sort_keys=True) + "\n"
                )


def main() -> None:
    """Write the schemas from the given sources."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swagger", type=Path, required=True)
    parser.add_argument("--crd", type=Path, action="append", default=[])
    args = parser.parse_args()
    (HERE / "kubernetes").mkdir(exist_ok=True)
    kubernetes(json.loads(args.swagger.read_text()), HERE / "kubernetes")
    crds(args.crd, HERE / "crds")


if __name__ == "__main__":
    main()
