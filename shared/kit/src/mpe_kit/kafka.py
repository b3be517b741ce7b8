"""Kafka plumbing shared by relay and consumers: topic creation and producer settings."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from mpe_events.topics import TopicSpec
from mpe_kit.kafka_client import KafkaClient, as_client

_TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno


def topic_name(prefix: str, name: str) -> str:
    """The physical topic of a logical one in this deployment."""
    return f"{prefix}{name}"


async def ensure_topics(
    bootstrap: str | KafkaClient, specs: Iterable[TopicSpec], *, prefix: str = "", replication: int = 1
) -> list[str]:
    """Create the topics that do not exist yet, with their partitions and config; return those."""
    client = as_client(bootstrap)
    if not client.create_topics:
        return []
    admin = AIOKafkaAdminClient(**client.kwargs(), request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if topic_name(prefix, s.name) not in existing]
        if not wanted:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=topic_name(prefix, s.name),
                    num_partitions=s.partitions,
                    replication_factor=replication,
                    topic_configs=dict(s.config),
                )
                for s in wanted
            ]
        )
        for name, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"creating topic {name} failed: error {code} {rest}")
        return [topic_name(prefix, s.name) for s in wanted]
    finally:
        await admin.close()


def idempotent_producer(bootstrap: str | KafkaClient, *, client_id: str) -> AIOKafkaProducer:
    """A producer that neither loses (acks=all) nor duplicates on retry (idempotence)."""
    return AIOKafkaProducer(
        **as_client(bootstrap).kwargs(),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
    )
