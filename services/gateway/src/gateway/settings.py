"""The gateway's settings, from GATEWAY_* environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from mpe_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Settings of the GraphQL gateway."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:54329/gateway"
    graphiql: bool = False
    projector_group: str = "gateway-projector"
    max_page_size: int = 100
