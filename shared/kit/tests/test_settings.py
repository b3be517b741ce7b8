"""Settings from the environment and from secret files; the DSN keeps its password apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict

from mpe_kit.settings import SECRETS_DIR_ENV, ServiceSettings


class _Svc(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SVC_", extra="ignore")


def test_secrets_are_read_from_files_named_as_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "svc_database_password").write_text("s3cret/with:odd@chars\n")
    (tmp_path / "svc_kafka_sasl_password").write_text("kafka-pass")
    (tmp_path / "svc_jwt_secret").write_text("jwt")
    monkeypatch.setenv(SECRETS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("SVC_DATABASE_URL", "postgresql://svc_runtime@db:5432/svc?sslmode=require")
    s = _Svc()
    assert s.jwt_secret is not None
    assert s.jwt_secret.get_secret_value() == "jwt"
    assert s.kafka_client().sasl_password == "kafka-pass"
    assert (
        s.database_dsn() == "postgresql://svc_runtime:s3cret%2Fwith%3Aodd%40chars@db:5432/svc?sslmode=require"
    )
    # Secret types keep the values out of reprs and logs.
    assert "s3cret" not in repr(s)
    assert "svc_runtime" not in repr(s)


def test_the_environment_wins_over_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "svc_jwt_secret").write_text("from-file")
    monkeypatch.setenv(SECRETS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("SVC_JWT_SECRET", "from-env")
    s = _Svc()
    assert s.jwt_secret is not None
    assert s.jwt_secret.get_secret_value() == "from-env"


def test_without_a_password_the_dsn_is_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRETS_DIR_ENV, raising=False)
    s = _Svc(database_url="postgresql://me:pw@[::1]:5432/x")  # type: ignore[arg-type]
    assert s.database_dsn() == "postgresql://me:pw@[::1]:5432/x"
    s = _Svc(database_url="postgresql://me@[::1]:5432/x", database_password="p w")  # type: ignore[arg-type]
    assert s.database_dsn() == "postgresql://me:p%20w@[::1]:5432/x"


def test_sasl_needs_credentials_and_tls_trusts_the_given_ca() -> None:
    s = _Svc(kafka_security_protocol="SASL_SSL")
    with pytest.raises(ValueError, match="SASL username and password"):
        s.kafka_client()
    client = _Svc(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password="p",  # type: ignore[arg-type]
    ).kafka_client()
    kwargs = client.kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["ssl_context"].verify_mode.name == "CERT_REQUIRED"
    assert "ssl_context" not in _Svc().kafka_client().kwargs()
