"""The kit's Kafka clients authenticate with SASL/SCRAM-SHA-512, as on a Strimzi listener.

A broker of its own (one node, a SCRAM listener, a user added when its storage is formatted)
stands in for Strimzi; a service's settings then create a topic, produce with the relay's
idempotent producer and consume it back, all through the authenticated listener.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port, free_port_range
from mpe_events.topics import TopicSpec
from mpe_kit.kafka import ensure_topics, idempotent_producer
from mpe_kit.settings import ServiceSettings

PASSWORD = "scram-test-password"


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    base: Path = tmp_path_factory.mktemp("kafka-scram")
    cluster = KafkaCluster(
        base, nodes=1, base_port=free_port_range(2), scram_users={"catalog": PASSWORD}, sasl_port=free_port()
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _settings(broker: KafkaCluster, password: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap=f"127.0.0.1:{broker.sasl_port}",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="catalog",
        kafka_sasl_password=password,
    )


async def test_a_service_produces_and_consumes_through_scram(scram_broker: KafkaCluster) -> None:
    client = _settings(scram_broker, PASSWORD).kafka_client()
    topic = f"scram-{uuid.uuid4().hex[:8]}"
    assert await ensure_topics(client, [TopicSpec(topic, partitions=1)]) == [topic]
    producer = idempotent_producer(client, client_id="catalog-relay")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"code": "T-1"}', key=b"T-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        **client.kwargs(),
        group_id="catalog-test",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    records = [r for rs in batch.values() for r in rs]
    assert [(r.key, r.value) for r in records] == [(b"T-1", b'{"code": "T-1"}')]


async def test_a_wrong_password_is_refused(scram_broker: KafkaCluster) -> None:
    client = _settings(scram_broker, "not-the-password").kafka_client()
    producer = idempotent_producer(client, client_id="intruder")
    try:
        with pytest.raises(KafkaError):
            await producer.start()
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def test_topic_creation_can_be_left_to_the_operator(scram_broker: KafkaCluster) -> None:
    settings = _settings(scram_broker, PASSWORD).model_copy(update={"create_topics": False})
    assert await ensure_topics(settings.kafka_client(), [TopicSpec(f"never-{uuid.uuid4().hex[:8]}")]) == []
