"""Settings common to every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs: where it listens, its database, Kafka, auth and logging."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:54329/postgres"
    db_pool_min: int = 1
    db_pool_max: int = 10
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Lets tests and shared clusters keep deployments apart on one broker.
    topic_prefix: str = ""
    topic_replication: int = 1
    log_level: str = "INFO"
    log_json: bool = True
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0
    consumer_max_retries: int = 3
    # Seconds between the readiness probe's metadata requests to Kafka (mpe_kit.kafka_probe).
    kafka_probe_interval_s: float = 5.0
    # Request limits (mpe_kit.bodylimit): 413 past the body limit, 414 past the URL limit.
    max_body_bytes: int = 1024 * 1024
    max_url_bytes: int = 8 * 1024
    # h11 lets a long URL reach the 414 (httptools refuses heads past 64 KiB with a plain 400).
    http_parser: Literal["h11", "httptools"] = "h11"
