"""Settings common to every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from mpe_kit.kafka_client import KafkaClient

# Where secrets are read from as files, one per setting, named as its environment variable
# (`catalog_database_password`): Kubernetes mounts secrets there. Unset, only the environment counts.
SECRETS_DIR_ENV = "MPE_SECRETS_DIR"


class ServiceSettings(BaseSettings):
    """What every service needs: where it listens, its database, Kafka, auth and logging."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    host: str = "127.0.0.1"
    port: int = 8000
    # Health, readiness and metrics on a port of their own, in every process (`worker` too).
    ops_host: str = "127.0.0.1"
    ops_port: int | None = None
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:54329/postgres")
    # Kept apart from the URL so that it can come from a file, and so no DSN carries it.
    database_password: SecretStr | None = None
    # The role the migrations grant DML to; the processes log in as it, the owner migrates.
    database_runtime_role: str | None = None
    db_pool_min: int = 1
    db_pool_max: int = 10
    # 0 behind PgBouncer in transaction mode: a prepared statement lives on one server connection.
    db_statement_cache_size: int = 100
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    # False where Strimzi's Topic Operator owns the topics.
    create_topics: bool = True
    # Lets tests and shared clusters keep deployments apart on one broker.
    topic_prefix: str = ""
    topic_replication: int = 1
    log_level: str = "INFO"
    log_json: bool = True
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    # The `aud` and `iss` staff tokens must carry (mpe_kit.auth); an audience is required with
    # a JWKS URL, since the provider's keys sign other applications' tokens too.
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
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
    # Most requests one instance works on at once (mpe_kit.inflight): past it, 503 with
    # Retry-After at once, before the request is read; 0: no cap. Probes are never refused.
    max_in_flight: int = Field(default=128, ge=0)

    # Longer than the topics' compaction lag and the dead-letter retention: docs/consumer-guide.md.
    inbox_retention_days: float = 35

    @model_validator(mode="after")
    def _jwks_needs_an_audience(self) -> ServiceSettings:
        if self.jwt_jwks_url and not self.jwt_audience:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}JWT_JWKS_URL is set but {prefix}JWT_AUDIENCE is not: name the audience your "
                "identity provider puts in mpehub's staff tokens (their `aud` claim), since its keys "
                "sign other applications' tokens too"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then files in MPE_SECRETS_DIR if it is set."""
        secrets_dir = os.environ.get(SECRETS_DIR_ENV)
        files = (
            SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir)
            if secrets_dir
            else file_secret_settings
        )
        return init_settings, env_settings, dotenv_settings, files

    def database_dsn(self) -> str:
        """The connection URL, with the password from `database_password` when it is set."""
        url = self.database_url.get_secret_value()
        if self.database_password is None:
            return url
        parts = urlsplit(url)
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        password = quote(self.database_password.get_secret_value(), safe="")
        netloc = f"{quote(user, safe='')}:{password}@{host}{port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def db_server_settings(self) -> dict[str, str]:
        """Postgres settings each pooled connection opens with; none unless a service needs some."""
        return {}

    def kafka_client(self) -> KafkaClient:
        """How this process's Kafka clients connect."""
        return KafkaClient(
            bootstrap=self.kafka_bootstrap,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None,
            ssl_cafile=self.kafka_ssl_cafile,
            create_topics=self.create_topics,
        )
