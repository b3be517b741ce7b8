"""The firms service's settings, from FIRMS_* environment variables."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from mpe_kit.settings import ServiceSettings


class FirmsSettings(ServiceSettings):
    """Settings of the firms service."""

    model_config = SettingsConfigDict(env_prefix="FIRMS_", extra="ignore")

    port: int = 8003
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:54329/firms")
    catalog_url: str = "http://127.0.0.1:8001"
    # A viewer token for reading through to the catalog when the replica misses a code.
    service_token: SecretStr | None = None
    replica_group: str = "firms-technology-replica"
    expiry_interval_s: float = 3600.0
