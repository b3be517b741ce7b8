"""The budget service's settings, from BUDGET_* environment variables."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from mpe_kit.settings import ServiceSettings


class BudgetSettings(ServiceSettings):
    """Settings of the budget service."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_", extra="ignore")

    port: int = 8002
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:54329/budget")
    catalog_url: str = "http://127.0.0.1:8001"
    firms_url: str = "http://127.0.0.1:8003"
    # A viewer token for reading through to the catalog and firms APIs when a replica misses.
    service_token: SecretStr | None = None
    replica_group: str = "budget-replicas"
