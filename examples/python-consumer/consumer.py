"""An example consumer of mpehub's events, written as an outside team would: plain aiokafka and
jsonschema, the committed JSON Schemas, and none of mpehub's own Python packages.

It follows docs/consumer-guide.md: it subscribes to every topic the schemas name, reads the
CloudEvents headers, validates each payload against the schema of its `ce_type`, skips an event
id it has already applied (at-least-once delivery), applies a state only if its `version` is
above the one it holds for that key, and commits offsets after applying. Its "read model" is a
dictionary; a real consumer keeps the same in its database, in one transaction with the offsets'
progress or an inbox table.

    python consumer.py --bootstrap 127.0.0.1:9092 --schemas ../../shared/events/schemas

prints one JSON line per event and, with --idle-exit, stops once no event came for that long.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def load_validators(directory: Path) -> tuple[dict[str, Draft202012Validator], set[str]]:
    """A validator per event type (file name = ce_type) and the topics the schemas travel on."""
    validators: dict[str, Draft202012Validator] = {}
    topics: set[str] = set()
    for path in sorted(directory.glob("kr.mpe.*.json")):
        schema = json.loads(path.read_text())
        validators[path.stem] = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        topics.add(schema["x-topic"])
    return validators, topics


async def run(args: argparse.Namespace) -> int:
    validators, topics = load_validators(Path(args.schemas))
    consumer = AIOKafkaConsumer(
        *(f"{args.topic_prefix}{t}" for t in sorted(topics)),
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        # A new group starts from the beginning: compaction kept every key's latest state.
        auto_offset_reset="earliest",
        metadata_max_age_ms=5_000,
    )
    seen: set[str] = set()  # applied ce_ids; a real consumer keeps these in its database
    state: dict[tuple[str, str], dict[str, Any]] = {}  # (topic, key) -> latest applied payload
    invalid = 0
    await consumer.start()
    try:
        idle = 0.0
        while args.idle_exit is None or idle < args.idle_exit:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                # Idle time counts from the first event: joining the group takes a moment.
                idle += 0.5 if seen else 0.0
                continue
            idle = 0.0
            for records in batch.values():
                for record in records:
                    invalid += apply(record, validators, seen, state, args.topic_prefix)
            await consumer.commit()
    finally:
        await consumer.stop()
    print(json.dumps({"summary": {"keys": len(state), "events": len(seen), "invalid": invalid}}), flush=True)
    return 1 if invalid else 0


def apply(
    record: Any,
    validators: dict[str, Draft202012Validator],
    seen: set[str],
    state: dict[tuple[str, str], dict[str, Any]],
    prefix: str,
) -> int:
    """Validate and apply one record; print what happened; return 1 if it was invalid."""
    # Only the CloudEvents headers; any other is ignored, whatever its bytes (or none).
    headers = {
        k: v.decode(errors="replace") for k, v in record.headers if k.startswith("ce_") and v is not None
    }
    event_type, event_id = headers.get("ce_type", ""), headers.get("ce_id", "")
    topic = record.topic.removeprefix(prefix)
    line: dict[str, Any] = {
        "topic": topic,
        "key": (record.key or b"").decode(),
        "type": event_type,
        "id": event_id,
    }
    validator = validators.get(event_type)
    if validator is None:
        # A type this consumer does not know yet (a new .vN): skip it and say so, never guess.
        print(json.dumps({**line, "outcome": "unknown type"}), flush=True)
        return 0
    try:
        uuid.UUID(event_id)
        payload = json.loads(record.value)
        validator.validate(payload)
    except (ValueError, TypeError, ValidationError) as exc:
        print(json.dumps({**line, "outcome": "invalid", "error": str(exc).splitlines()[0]}), flush=True)
        return 1
    key = (topic, line["key"])
    if event_id in seen:
        outcome = "duplicate"
    elif key in state and state[key]["version"] >= payload["version"]:
        outcome = "stale"
    else:
        state[key] = payload
        outcome = "applied"
    seen.add(event_id)
    print(
        json.dumps({**line, "version": payload["version"], "outcome": outcome}, ensure_ascii=False),
        flush=True,
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--schemas", required=True, help="the committed JSON Schemas (shared/events/schemas)")
    parser.add_argument("--group", default="example-python-consumer")
    parser.add_argument("--topic-prefix", default="", help="the deployment's TOPIC_PREFIX, if any")
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        help="stop once no event came for this many seconds (counted from the first event)",
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
