"""The AsyncAPI 3.0 document of the event contract, generated from the topic registry.

Everything comes from the registry and the committed JSON Schemas, so the document cannot say
something the services do not do: topics and their dead-letter topics with partitions and
cleanup policy, the record key, the CloudEvents binary-mode headers, each event type's payload
and the service that publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mpe_events import schemas
from mpe_events.envelope import CONTENT_TYPE, SPEC_VERSION
from mpe_events.registry import EVENT_TYPES, EventType, source
from mpe_events.topics import TOPICS, TopicSpec, dlq_spec

DOC_PATH = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.yaml"
KAFKA_BINDING = "0.5.0"
# The committed schemas are plain JSON Schema (pydantic's, with `$defs` and an OpenAPI-style
# `discriminator`), which AsyncAPI's own schema dialect would reject: say which dialect they are.
SCHEMA_FORMAT = "application/schema+json;version=draft-07"

Doc = dict[str, Any]


def _ref(*parts: str) -> dict[str, str]:
    # JSON Pointer escaping: event type names contain dots only, which need none.
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def _payload(event_type: str, schema: schemas.Schema) -> schemas.Schema:
    """The committed schema, with its local `$ref`s pointed at where it sits in the document."""
    prefix = f"#/components/schemas/{event_type}/schema/$defs/"
    text = json.dumps(schema, ensure_ascii=False).replace('"#/$defs/', f'"{prefix}')
    moved: schemas.Schema = json.loads(text)
    # `$id` would make the rewritten refs relative to the schema's own URN rather than the document.
    moved["x-schema-id"] = moved.pop("$id", None)
    return moved


def _headers(event: EventType) -> schemas.Schema:
    service = event.topic.publisher
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary content mode, plus the W3C trace context.",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_subject",
            "ce_time",
            "content-type",
            "traceparent",
        ],
        "properties": {
            "ce_specversion": {"type": "string", "const": SPEC_VERSION},
            "ce_id": {
                "type": "string",
                "format": "uuid",
                "description": "Unique per event; the same on every re-delivery: deduplicate by it.",
            },
            "ce_source": {"type": "string", "const": source(service)},
            "ce_type": {"type": "string", "const": event.type},
            "ce_subject": {
                "type": "string",
                "description": f"The aggregate's id, equal to the record key: {event.topic.key}.",
            },
            "ce_time": {
                "type": "string",
                "format": "date-time",
                "description": "When the change committed (UTC).",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C trace context of the request that made the change.",
            },
            "ce_mpewrite": {
                "type": "string",
                "description": "CloudEvents extension: the producing transaction; every event of one write"
                " carries the same value. Absent on events written before it existed.",
            },
            "mpe_replay": {
                "type": "string",
                "description": "Present only on a dead letter sent back by `dlq replay`: the dead-letter"
                " record it came from (topic:partition:offset). ce_id is the original's.",
            },
        },
    }


def _dlq_headers() -> schemas.Schema:
    return {
        "type": "object",
        "description": "The original record's headers (ce_* and traceparent), plus why and where it failed.",
        "required": ["dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset"],
        "properties": {
            "dlq_error": {"type": "string", "description": "Why the consumer could not apply it."},
            "dlq_consumer": {"type": "string", "description": "The consumer group that gave up."},
            "dlq_topic": {"type": "string", "description": "The topic the record was read from."},
            "dlq_partition": {"type": "string", "description": "Its partition there (decimal)."},
            "dlq_offset": {"type": "string", "description": "Its offset there (decimal)."},
        },
    }


def _topic_binding(spec: TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {"cleanup.policy": spec.config["cleanup.policy"].split(",")}
    if "retention.ms" in spec.config:
        config["retention.ms"] = int(spec.config["retention.ms"])
    return {
        "kafka": {
            "bindingVersion": KAFKA_BINDING,
            "topic": spec.name,
            "partitions": spec.partitions,
            "topicConfiguration": config,
        }
    }


def _channel_description(spec: TopicSpec, events: list[EventType]) -> str:
    lag = spec.config.get("min.compaction.lag.ms")
    lines = [
        f"Published by the **{spec.publisher}** service. Key: {spec.key}; one key's events stay in"
        " order (one partition), there is no order across keys.",
        f"Partitions: {spec.partitions}; cleanup policy: {spec.config['cleanup.policy']}.",
    ]
    if lag is not None:
        days = int(lag) // (24 * 60 * 60 * 1000)
        lines.append(
            f"min.compaction.lag.ms = {lag} ({days} days): every event stays readable for at least"
            " that long; after it, compaction may keep only the latest event of each key."
        )
    lines.append(f"Event types: {', '.join(e.type for e in events)}.")
    return "\n\n".join(lines)


def generate(
    event_types: Mapping[str, EventType] = EVENT_TYPES,
    topic_specs: Mapping[str, TopicSpec] = TOPICS,
    committed: Mapping[str, schemas.Schema] | None = None,
) -> Doc:
    """The AsyncAPI 3.0 document of these topics and event types, payloads from committed schemas."""
    payloads = committed if committed is not None else schemas.load_committed(sorted(event_types))
    channels: Doc = {}
    operations: Doc = {}
    messages: Doc = {}
    component_schemas: Doc = {}
    for spec in sorted(topic_specs.values(), key=lambda t: t.name):
        events = sorted((e for e in event_types.values() if e.topic.name == spec.name), key=lambda e: e.type)
        for event in events:
            component_schemas[event.type] = {
                "schemaFormat": SCHEMA_FORMAT,
                "schema": _payload(event.type, payloads[event.type]),
            }
            messages[event.type] = {
                "name": event.type,
                "title": event.type,
                "summary": f"{event.model.__doc__ or event.model.__name__} Published by {spec.publisher}.",
                "contentType": CONTENT_TYPE,
                "headers": _headers(event),
                "payload": _ref("components", "schemas", event.type),
                "bindings": {
                    "kafka": {
                        "bindingVersion": KAFKA_BINDING,
                        "key": {"type": "string", "description": spec.key},
                    }
                },
            }
        channels[spec.name] = {
            "address": spec.name,
            "title": spec.name,
            "description": _channel_description(spec, events),
            "messages": {e.type: _ref("components", "messages", e.type) for e in events},
            "bindings": _topic_binding(spec),
            "x-publisher": spec.publisher,
            "x-topic-config": dict(spec.config),
        }
        operations[f"{spec.name}.publish"] = {
            "action": "send",
            "title": f"{spec.publisher} publishes {spec.name}",
            "summary": f"The {spec.publisher} service's relay sends its outbox to {spec.name}.",
            "channel": _ref("channels", spec.name),
            "messages": [_ref("channels", spec.name, "messages", e.type) for e in events],
            "x-publisher": spec.publisher,
        }
        dlq = dlq_spec(spec.name)
        dlq_message = f"{spec.name}.dead-letter"
        messages[dlq_message] = {
            "name": dlq_message,
            "title": f"Dead letter of {spec.name}",
            "summary": "A record of the source topic that a consumer could not apply, unchanged, with"
            " the reason in its headers.",
            "contentType": CONTENT_TYPE,
            "headers": _dlq_headers(),
            "payload": {"description": "The original record's value, byte for byte (may not be valid JSON)."},
        }
        channels[dlq.name] = {
            "address": dlq.name,
            "title": dlq.name,
            "description": f"Dead letters of {spec.name}, written by any consumer group of it."
            f" Partitions: {dlq.partitions}; cleanup policy: delete, kept"
            f" {int(dlq.config['retention.ms']) // (24 * 60 * 60 * 1000)} days.",
            "messages": {dlq_message: _ref("components", "messages", dlq_message)},
            "bindings": _topic_binding(dlq),
            "x-topic-config": dict(dlq.config),
        }
        operations[f"{dlq.name}.publish"] = {
            "action": "send",
            "title": f"Consumers dead-letter {spec.name}",
            "channel": _ref("channels", dlq.name),
            "messages": [_ref("channels", dlq.name, "messages", dlq_message)],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "mpehub events",
            "version": "1.0.0",
            "description": "Change events of the MPE (소재·부품·장비) program's catalog, firms and budget"
            " services. Each event carries the whole state of one aggregate after a change, with its"
            " version. Generated from `mpe_events` by `make asyncapi`; read docs/consumer-guide.md.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker of `make dev`. Deployments may prefix every topic name"
                " (TOPIC_PREFIX).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": component_schemas},
    }


def dump(doc: Doc) -> str:
    """The canonical YAML text of the document."""
    header = "# Generated by `make asyncapi` from shared/events (mpe_events); do not edit by hand.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
