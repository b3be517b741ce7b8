import json
import uuid
from datetime import UTC, datetime

import pytest
import yaml

from mpe_events import asyncapi, schemas
from mpe_events.envelope import Envelope
from mpe_events.registry import EVENT_TYPES
from mpe_events.topics import TOPICS

pytestmark = pytest.mark.unit


def test_the_committed_document_is_the_registry() -> None:
    assert asyncapi.DOC_PATH.read_text() == asyncapi.dump(asyncapi.generate()), "run `make asyncapi`"


def test_every_topic_its_dead_letters_and_every_event_type_are_described() -> None:
    doc = yaml.safe_load(asyncapi.DOC_PATH.read_text())
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == set(TOPICS) | {f"{t}.dlq" for t in TOPICS}
    messages = doc["components"]["messages"]
    assert set(EVENT_TYPES) <= set(messages)
    for name, spec in TOPICS.items():
        channel = doc["channels"][name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == spec.partitions
        assert kafka["topicConfiguration"]["cleanup.policy"] == ["compact"]
        assert channel["x-topic-config"]["min.compaction.lag.ms"] == spec.config["min.compaction.lag.ms"]
        assert channel["x-publisher"] == spec.publisher
        assert doc["operations"][f"{name}.publish"]["action"] == "send"
        assert doc["channels"][f"{name}.dlq"]["bindings"]["kafka"]["topicConfiguration"][
            "cleanup.policy"
        ] == ["delete"]
    for event_type, event in EVENT_TYPES.items():
        assert f"#/components/messages/{event_type}" in json.dumps(doc["channels"][event.topic.name])


def test_headers_are_the_envelope_and_payloads_the_committed_schemas() -> None:
    doc = yaml.safe_load(asyncapi.DOC_PATH.read_text())
    sent = Envelope(
        id=uuid.uuid4(), source="/mpe/x", type="t", subject="k", time=datetime.now(UTC), data={}, write="1"
    )
    envelope_headers = {name for name, _ in sent.headers()}
    for event_type in EVENT_TYPES:
        headers = doc["components"]["messages"][event_type]["headers"]
        assert headers["properties"]["ce_type"]["const"] == event_type
        assert envelope_headers <= set(headers["properties"])
        assert set(headers["required"]) == envelope_headers - {"ce_mpewrite"}
        payload = doc["components"]["schemas"][event_type]["schema"]
        committed = json.loads(schemas.path_for(event_type).read_text())
        committed["x-schema-id"] = committed.pop("$id")
        moved = json.dumps(payload).replace(f"#/components/schemas/{event_type}/schema/$defs/", "#/$defs/")
        assert json.loads(moved) == committed
