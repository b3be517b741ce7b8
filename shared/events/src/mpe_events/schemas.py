"""JSON Schemas of the events, and the rule for what counts as a compatible change.

A published schema is a promise to consumers that already run. A change is compatible when
every event valid under the new schema is still valid under the old one, as far as old
consumers read it: no property removed, no required property made optional, no type widened,
no enum value added. Additions of new properties are compatible (consumers ignore them).

A consumer may have been written against any version ever published, not only the last one,
so a schema is checked against all of them. They are kept in a versioned folder
(`schemas/published/<type>/<sha256>.json`, append-only) rather than read from git history:
CI and many developers work on shallow clones, where old commits are simply not there, and a
check that silently sees less history on such a clone would pass what it must refuse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mpe_events.registry import EVENT_TYPES, EventType

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

Schema = dict[str, Any]


def generate(event_types: Mapping[str, EventType] = EVENT_TYPES) -> dict[str, Schema]:
    """The current JSON Schema of every event type, keyed by CloudEvents type."""
    out: dict[str, Schema] = {}
    for name, event in sorted(event_types.items()):
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


def load_committed(event_types: Iterable[str], directory: Path = SCHEMA_DIR) -> dict[str, Schema]:
    """The committed (current) schema of each event type."""
    return {t: json.loads(path_for(t, directory).read_text()) for t in event_types}


def published_dir(event_type: str, directory: Path = SCHEMA_DIR) -> Path:
    """The folder holding every version of an event type's schema ever published."""
    return directory / "published" / event_type


def published_path(event_type: str, text: str, directory: Path = SCHEMA_DIR) -> Path:
    """Where one published version is kept: named by its content, so branches never collide."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return published_dir(event_type, directory) / f"{digest}.json"


def published_versions(event_type: str, directory: Path = SCHEMA_DIR) -> dict[Path, Schema]:
    """Every published version of an event type's schema, by file."""
    folder = published_dir(event_type, directory)
    if not folder.is_dir():
        return {}
    return {p: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


@dataclass(frozen=True)
class Report:
    """What `sync` found: event types refused (with why), files out of date, files written."""

    refused: dict[str, list[str]] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def check(event_type: str, current: Schema, directory: Path = SCHEMA_DIR) -> list[str]:
    """Why `current` cannot replace any published version of this event type; empty if it can."""
    problems: list[str] = []
    for path, published in published_versions(event_type, directory).items():
        problems += [f"{p} (published as {path.name})" for p in incompatibilities(published, current)]
    return problems


def sync(generated: Mapping[str, Schema], directory: Path = SCHEMA_DIR, *, write: bool = True) -> Report:
    """Write each compatible schema and record it as published; refuse a breaking change."""
    report = Report()
    for event_type, schema in sorted(generated.items()):
        problems = check(event_type, schema, directory)
        if problems:
            report.refused[event_type] = problems
            continue
        text = dump(schema)
        targets = [path_for(event_type, directory), published_path(event_type, text, directory)]
        for target in targets:
            if target.exists() and target.read_text() == text:
                continue
            if not write:
                report.stale.append(event_type)
                break
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            report.written.append(target)
    return report


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


# Bounds a value must keep: a new schema may keep or tighten each, never drop or loosen it, or a
# value it allows would fail a consumer still validating against the published one.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def _compare_one(old: Schema, old_root: Schema, new: Schema, new_root: Schema, at: str) -> list[str]:
    problems: list[str] = []
    for key in ("format", "const", "pattern", "multipleOf"):
        if key in old and old.get(key) != new.get(key):
            problems.append(f"{at}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    for key in _LOWER_BOUNDS:
        if key in old and (key not in new or new[key] < old[key]):
            problems.append(f"{at}: {key} loosened from {old[key]!r} to {new.get(key)!r}")
    for key in _UPPER_BOUNDS:
        if key in old and (key not in new or new[key] > old[key]):
            problems.append(f"{at}: {key} loosened from {old[key]!r} to {new.get(key)!r}")
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
    problems = []
    if published.get("x-topic") != current.get("x-topic"):
        # Consumers subscribe by topic, and per-key order holds only within one.
        problems.append(f"$: topic changed from {published.get('x-topic')!r} to {current.get('x-topic')!r}")
    return problems + _compare(published, published, current, current, "$")
