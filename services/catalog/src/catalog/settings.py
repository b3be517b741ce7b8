"""The catalog service's settings, from CATALOG_* environment variables."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from mpe_kit.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    """Settings of the catalog service."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    port: int = 8001
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:54329/catalog")
