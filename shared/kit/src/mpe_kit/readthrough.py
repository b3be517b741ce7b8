"""Reading one resource from its owning service's API, for a replica that missed it.

The caller's service token has the viewer role. An owner that cannot be reached, or answers
anything but 200 or 404, makes the caller answer 503: without the owner's word the resource
can be neither accepted nor rejected.
"""

from __future__ import annotations

from typing import Any

import httpx

from mpe_kit.errors import Problem
from mpe_kit.logging import get_logger

log = get_logger("mpe.readthrough")


class OwnerReader:
    """GETs resources from another service's REST API as a viewer."""

    def __init__(self, *, owner: str, base_url: str, token: str | None, timeout_s: float = 5.0) -> None:
        self._owner = owner
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout_s

    async def get(self, path: str) -> dict[str, Any] | None:
        """The resource's JSON, or None if the owner says it does not exist."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout, headers=self._headers) as client:
                r = await client.get(f"{self._base}{path}")
        except httpx.HTTPError as exc:
            log.warning("read-through failed", owner=self._owner, path=path, error=str(exc))
            raise Problem(
                f"The {self._owner} service cannot be reached to check this request; try again.",
                status=503,
                ko=f"이 요청을 확인할 {self._owner} 서비스에 연결할 수 없습니다. 다시 시도하십시오.",
            ) from exc
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            log.warning("read-through refused", owner=self._owner, path=path, status=r.status_code)
            raise Problem(
                f"The {self._owner} service cannot be asked right now; try again.",
                status=503,
                ko=f"지금은 {self._owner} 서비스에 확인할 수 없습니다. 다시 시도하십시오.",
            )
        body: dict[str, Any] = r.json()
        return body
