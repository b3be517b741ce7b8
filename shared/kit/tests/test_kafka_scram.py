"""The kit's Kafka clients speak TLS and authenticate with SASL/SCRAM-SHA-512, as on a Strimzi
listener with `tls: true` and `authentication: scram-sha-512`.

A broker of its own (one node, a SASL_SSL listener with a self-signed certificate, a user added
when its storage is formatted) stands in for Strimzi; a service's settings then create a topic,
produce with the relay's idempotent producer and consume it back, all through that listener.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port, free_port_range
from mpe_events.topics import TopicSpec
from mpe_kit.kafka import ensure_topics, idempotent_producer
from mpe_kit.settings import ServiceSettings

PASSWORD = "scram-test-password"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A keystore (key and certificate) for 127.0.0.1, and the certificate alone for clients."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mpe-test-broker")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    keystore, ca = directory / "broker.pem", directory / "ca.crt"
    keystore.write_bytes(key_pem + cert_pem)
    ca.write_bytes(cert_pem)
    return keystore, ca


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    base: Path = tmp_path_factory.mktemp("kafka-scram")
    keystore, _ = _self_signed(base)
    cluster = KafkaCluster(
        base,
        nodes=1,
        base_port=free_port_range(2),
        scram_users={"catalog": PASSWORD},
        sasl_port=free_port(),
        sasl_keystore=keystore,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _settings(broker: KafkaCluster, password: str) -> ServiceSettings:
    assert broker.sasl_keystore is not None
    return ServiceSettings(
        kafka_bootstrap=f"127.0.0.1:{broker.sasl_port}",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="catalog",
        kafka_sasl_password=password,  # type: ignore[arg-type]
        kafka_ssl_cafile=str(broker.sasl_keystore.with_name("ca.crt")),
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


async def test_a_client_that_does_not_trust_the_broker_is_refused(scram_broker: KafkaCluster) -> None:
    settings = _settings(scram_broker, PASSWORD).model_copy(update={"kafka_ssl_cafile": None})
    producer = idempotent_producer(settings.kafka_client(), client_id="untrusting")
    try:
        with pytest.raises((KafkaError, ssl.SSLError)):
            await producer.start()
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


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
