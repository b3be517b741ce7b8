"""The Kafka launcher, and proof that aiokafka works against a Kafka 4 broker (KIP-896).

The one-node tests run first and stop their broker in the last of them, so the three-node
cluster (started lazily by its own fixture) never shares the two cores with it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import ConsumerRecord

from mpe_devstack.jars import KAFKA_VERSION, ensure_kafka_jars
from mpe_devstack.kafka import KafkaCluster, metadata_broker_ids
from mpe_devstack.ports import free_port_range, port_is_listening

COMPACT_TOPIC = "devstack.compacted.v1"
GROUP = "devstack-test-group"
MESSAGES = 12


def _all_ports(cluster: KafkaCluster) -> list[int]:
    return [p for i in cluster.node_ids for p in (cluster.broker_port(i), cluster.controller_port(i))]


@pytest.fixture(scope="module")
def one_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(
        tmp_path_factory.mktemp("kafka1"), nodes=1, base_port=free_port_range(2), heap="512m"
    )
    try:
        started = time.monotonic()
        cluster.start()
        print(f"one-node Kafka started in {time.monotonic() - started:.1f}s")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(
        tmp_path_factory.mktemp("kafka3"), nodes=3, base_port=free_port_range(6), heap="384m"
    )
    try:
        started = time.monotonic()
        cluster.start()
        print(f"three-node Kafka started in {time.monotonic() - started:.1f}s")
        yield cluster
    finally:
        cluster.stop()


async def _admin(cluster: KafkaCluster) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    return admin


def _create_errors(response: Any) -> list[tuple[str, int]]:
    return [(err[0], err[1]) for err in response.topic_errors if err[1] != 0]


def _configs(responses: list[Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for response in responses:
        for resource in response.resources:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            assert resource[0] == 0, resource
            for entry in resource[4]:
                found[entry[0]] = entry[1]
    return found


# -- launcher basics --------------------------------------------------------------------------


def test_jars_are_cached_with_a_marker() -> None:
    libs = ensure_kafka_jars(log=lambda _: pytest.fail("jars should already be cached"))
    assert (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()
    assert (libs / ".complete").is_file()


def test_one_node_layout(one_node: KafkaCluster) -> None:
    port = one_node.broker_port(1)
    assert one_node.bootstrap == f"127.0.0.1:{port}"
    assert one_node.controller_port(1) == port + 1
    assert metadata_broker_ids("127.0.0.1", port) == {1}
    assert "Kafka Server started" in one_node.log_file(1).read_text()


# -- aiokafka against Kafka 4 -----------------------------------------------------------------


async def test_admin_creates_and_describes_a_compacted_topic(one_node: KafkaCluster) -> None:
    admin = await _admin(one_node)
    try:
        cluster = await admin.describe_cluster()
        assert [b["node_id"] for b in cluster["brokers"]] == [1]

        response = await admin.create_topics(
            [NewTopic(COMPACT_TOPIC, 3, 1, topic_configs={"cleanup.policy": "compact"})]
        )
        assert _create_errors(response) == []
        # CreateTopics returns before every broker's metadata has the topic and its leaders.
        async with asyncio.timeout(10):
            while True:
                (described,) = await admin.describe_topics([COMPACT_TOPIC])
                ready = described["error_code"] == 0 and all(
                    p["leader"] == 1 for p in described["partitions"]
                )
                if ready and COMPACT_TOPIC in await admin.list_topics():
                    break
                await asyncio.sleep(0.1)
        partitions = sorted(described["partitions"], key=lambda p: p["partition"])
        assert [p["partition"] for p in partitions] == [0, 1, 2]
        assert all(p["leader"] == 1 and p["replicas"] == [1] for p in partitions)

        topic_cfg = _configs(
            await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, COMPACT_TOPIC)])
        )
        assert topic_cfg["cleanup.policy"] == "compact"

        broker_cfg = _configs(await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")]))
        assert broker_cfg["auto.create.topics.enable"] == "false"
        assert broker_cfg["group.initial.rebalance.delay.ms"] == "0"
        assert broker_cfg["offsets.topic.replication.factor"] == "1"

        # A second create of the same topic is refused with TOPIC_ALREADY_EXISTS (36).
        again = await admin.create_topics([NewTopic(COMPACT_TOPIC, 3, 1)])
        assert _create_errors(again) == [(COMPACT_TOPIC, 36)]
    finally:
        await admin.close()


async def test_idempotent_producer_sends_with_headers(one_node: KafkaCluster) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=one_node.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(
                COMPACT_TOPIC,
                key=f"k{i % 4}".encode(),
                value=f"v{i}".encode(),
                headers=[("ce_id", f"id-{i}".encode()), ("ce_type", b"devstack.test")],
            )
            for i in range(MESSAGES)
        ]
        metadata = await asyncio.gather(*futures)
        # InitProducerId succeeded: the broker handed out a real producer id.
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0
    finally:
        await producer.stop()
    per_partition: dict[int, list[int]] = {}
    for md in metadata:
        assert md.topic == COMPACT_TOPIC
        per_partition.setdefault(md.partition, []).append(md.offset)
    # Same key, same partition; offsets are dense from 0 in send order.
    for offsets in per_partition.values():
        assert offsets == list(range(len(offsets)))
    assert sum(len(o) for o in per_partition.values()) == MESSAGES


async def _consume(consumer: AIOKafkaConsumer, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    async with asyncio.timeout(30):
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    return records


async def test_consumer_group_reads_and_commits(one_node: KafkaCluster) -> None:
    consumer = AIOKafkaConsumer(
        COMPACT_TOPIC,
        bootstrap_servers=one_node.bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        records = await _consume(consumer, MESSAGES)
        assert sorted(r.value for r in records) == sorted(f"v{i}".encode() for i in range(MESSAGES))
        for record in records:
            i = int(record.value[1:])
            assert record.key == f"k{i % 4}".encode()
            assert list(record.headers) == [("ce_id", f"id-{i}".encode()), ("ce_type", b"devstack.test")]

        await consumer.commit()
        ends: dict[int, int] = {}
        for record in records:
            ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
        for partition, end in ends.items():
            assert await consumer.committed(TopicPartition(COMPACT_TOPIC, partition)) == end
    finally:
        await consumer.stop()

    # A new member of the same group resumes from the committed offsets.
    again = AIOKafkaConsumer(
        COMPACT_TOPIC,
        bootstrap_servers=one_node.bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await again.start()
    try:
        assert await again.getmany(timeout_ms=2000) == {}
        for partition, end in ends.items():
            assert await again.position(TopicPartition(COMPACT_TOPIC, partition)) == end
    finally:
        await again.stop()

    admin = await _admin(one_node)
    try:
        offsets = await admin.list_consumer_group_offsets(GROUP)
        assert {tp.partition: meta.offset for tp, meta in offsets.items()} == ends
    finally:
        await admin.close()


def test_one_node_stop_leaves_nothing(one_node: KafkaCluster) -> None:
    pids = [int((one_node.node_dir(i) / "kafka.pid").read_text()) for i in one_node.node_ids]
    one_node.stop()
    assert not any(port_is_listening("127.0.0.1", p) for p in _all_ports(one_node))
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    one_node.stop()  # idempotent


# -- three nodes --------------------------------------------------------------------------------


async def test_three_nodes_replicate_and_serve_a_group(three_nodes: KafkaCluster) -> None:
    assert len(three_nodes.bootstrap.split(",")) == 3
    for i in three_nodes.node_ids:
        assert metadata_broker_ids("127.0.0.1", three_nodes.broker_port(i)) == {1, 2, 3}

    topic = "devstack.replicated.v1"
    admin = await _admin(three_nodes)
    try:
        assert _create_errors(await admin.create_topics([NewTopic(topic, 2, 3)])) == []
        (described,) = await admin.describe_topics([topic])
        for partition in described["partitions"]:
            assert sorted(partition["replicas"]) == [1, 2, 3]
        broker_cfg = _configs(await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "2")]))
        assert broker_cfg["min.insync.replicas"] == "2"
        assert broker_cfg["offsets.topic.replication.factor"] == "3"
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=three_nodes.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"hello", key=b"k", headers=[("h", b"1")])
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=three_nodes.bootstrap,
        group_id="devstack-three",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        (record,) = await _consume(consumer, 1)
        assert (record.partition, record.offset) == (sent.partition, sent.offset)
        assert (record.key, record.value, list(record.headers)) == (b"k", b"hello", [("h", b"1")])
        await consumer.commit()
        tp = TopicPartition(topic, record.partition)
        assert await consumer.committed(tp) == record.offset + 1
    finally:
        await consumer.stop()


def test_three_nodes_stop_leaves_nothing(three_nodes: KafkaCluster) -> None:
    started = time.monotonic()
    three_nodes.stop()
    print(f"three-node Kafka stopped in {time.monotonic() - started:.1f}s")
    assert not any(port_is_listening("127.0.0.1", p) for p in _all_ports(three_nodes))
