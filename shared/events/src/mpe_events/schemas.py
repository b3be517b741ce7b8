"""JSON Schemas of the events, and the rule for what counts as a compatible change.

A published schema is a promise to consumers that already run. A change is compatible when
every event valid under the new schema is still valid under the old one, as far as old
consumers read it: no property removed, no required property made optional, no type widened,
no enum value added. Additions of new properties are compatible (consumers ignore them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mpe_events.registry import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

Schema = dict[str, Any]


def generate() -> dict[str, Schema]:
    """The current JSON Schema of every event type, keyed by CloudEvents type."""
    out: dict[str, Schema] = {}
    for name, event in sorted(EVENT_TYPES.items()):
        schema = event.model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:mpe:event:{name}"
        schema["x-topic"] = event.topic.name
        out[name] = schema
    return out


def path_for(event_type: str, directory: Path = SCHEMA_DIR) -> Path:
    """Where the committed schema of an event type lives."""
    return directory / f"{event_type}.json"


def dump(schema: Schema) -> str:
    """The canonical text of a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"unsupported $ref {ref}")
        node = root["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _branches(node: Schema, root: Schema) -> list[Schema]:
    node = _resolve(node, root)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [b for sub in node[key] for b in _branches(sub, root)]
    return [node]


def _compare(old: Schema, old_root: Schema, new: Schema, new_root: Schema, at: str) -> list[str]:
    problems: list[str] = []
    old_branches = _branches(old, old_root)
    for nb in _branches(new, new_root):
        candidates: list[list[str]] = [
            _compare_one(ob, old_root, nb, new_root, at)
            for ob in old_branches
            if ob.get("type") == nb.get("type")
        ]
        if not candidates:
            problems.append(f"{at}: type {nb.get('type')!r} is not allowed by the published schema")
        elif all(candidates):
            problems.extend(sorted(candidates, key=len)[0])
    return problems


def _compare_one(old: Schema, old_root: Schema, new: Schema, new_root: Schema, at: str) -> list[str]:
    problems: list[str] = []
    for key in ("format", "const"):
        if key in old and old.get(key) != new.get(key):
            problems.append(f"{at}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    if "enum" in old:
        added = set(map(str, new.get("enum", []))) - set(map(str, old["enum"]))
        if "enum" not in new or added:
            problems.append(f"{at}: enum gained values {sorted(added) or 'any'}")
    if old.get("type") == "object":
        old_props: dict[str, Schema] = old.get("properties", {})
        new_props: dict[str, Schema] = new.get("properties", {})
        for name, sub in old_props.items():
            if name not in new_props:
                problems.append(f"{at}.{name}: property removed")
            else:
                problems += _compare(sub, old_root, new_props[name], new_root, f"{at}.{name}")
        for name in set(old.get("required", [])) - set(new.get("required", [])):
            if name in new_props:
                problems.append(f"{at}.{name}: no longer required")
        if "discriminator" in old and old["discriminator"] != new.get("discriminator"):
            problems.append(f"{at}: discriminator changed")
    if old.get("type") == "array" and "items" in old:
        problems += _compare(old["items"], old_root, new.get("items", {}), new_root, f"{at}[]")
    return problems


def incompatibilities(published: Schema, current: Schema) -> list[str]:
    """Why `current` cannot replace `published` for consumers already running; empty if it can."""
    return _compare(published, published, current, current, "$")
