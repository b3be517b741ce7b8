"""A local replica of the catalog's technology list, for services that validate codes.

Fed by the catalog's technology events; on a miss (the event has not arrived yet) it reads
through to the catalog's API once, with a viewer service token, before rejecting a code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from importlib import resources
from pathlib import Path

from mpe_events import catalog as ev
from mpe_events.registry import TECHNOLOGY_AMENDED, TECHNOLOGY_LISTED, TECHNOLOGY_RETIRED
from mpe_kit import migrations
from mpe_kit.consumer import Event, Handler
from mpe_kit.db import Conn
from mpe_kit.errors import Invalid
from mpe_kit.readthrough import OwnerReader
from mpe_kit.uow import UnitOfWork
from mpe_replicas import repository
from mpe_replicas.repository import ReplicaTechnology


def replica_migrations() -> list[migrations.Migration]:
    """The replica's table, for services that keep one."""
    return migrations.load(
        "technology-replica", Path(str(resources.files("mpe_replicas") / "sql" / "technology"))
    )


async def apply_technology_event(conn: Conn, event: Event) -> None:
    """Keep the replica's row at the newest version."""
    d = event.data
    assert isinstance(d, ev.TechnologyV1)
    await repository.upsert(conn, ReplicaTechnology(d.code, d.status, d.listed_on, d.retired_on, d.version))


HANDLERS: Mapping[str, Handler] = {
    TECHNOLOGY_LISTED.type: apply_technology_event,
    TECHNOLOGY_AMENDED.type: apply_technology_event,
    TECHNOLOGY_RETIRED.type: apply_technology_event,
}


class CatalogReader:
    """Reads a technology from the catalog's API, as a viewer."""

    def __init__(self, *, base_url: str, token: str | None, timeout_s: float = 5.0) -> None:
        self._reader = OwnerReader(owner="catalog", base_url=base_url, token=token, timeout_s=timeout_s)

    async def technology(self, code: str) -> ReplicaTechnology | None:
        """The technology, or None if the catalog does not know it."""
        body = await self._reader.get(f"/v1/technologies/{code}")
        if body is None:
            return None
        return ReplicaTechnology(
            body["code"],
            body["status"],
            date.fromisoformat(body["listed_on"]),
            date.fromisoformat(body["retired_on"]) if body["retired_on"] else None,
            int(body["version"]),
        )


async def require_listed(
    uow: UnitOfWork, codes: Iterable[str], *, reader: CatalogReader, field: str, on: date | None = None
) -> None:
    """Every code must be a technology of the catalog that is not retired, today or, given `on`,
    on that day (the day of the record: a confirmation's issue, an application, a project's
    start); a 422 names the ones that are.

    A record dated in the past may name a technology retired since: a 2021 confirmation of one
    retired in 2022 was refused while it was true then. It is not held to the day the technology
    was listed: the program's first projects (2019) came before the legal list (2020) and name its
    technologies, as the demo's do.

    It runs before the use case's own unit of work, in short ones of its own: no transaction
    waits on the catalog's HTTP answer, and what is read through is kept even when the codes are
    refused, so the next request finds it in the replica.
    """
    wanted = sorted(set(codes))
    if not wanted:
        return
    async with uow:
        known = await repository.by_codes(uow.conn, wanted)
    fetched = [t for code in wanted if code not in known and (t := await reader.technology(code)) is not None]
    if fetched:
        async with uow:
            for t in fetched:
                await repository.upsert(uow.conn, t)
        known.update((t.code, t) for t in fetched)
    _check_listed(wanted, known, field=field, on=on)


def _retired_by(t: ReplicaTechnology, day: date) -> bool:
    return t.retired_on is not None and t.retired_on <= day


def _check_listed(
    wanted: list[str], known: Mapping[str, ReplicaTechnology], *, field: str, on: date | None = None
) -> None:
    """Invalid (422) naming each wanted code that is unknown or retired (given `on`, retired by
    that day)."""
    unknown = [c for c in wanted if c not in known]
    if on is None:
        retired = [c for c in wanted if c in known and known[c].status != "listed"]
        off: list[str] = []
    else:
        retired = []
        off = [c for c in wanted if c in known and _retired_by(known[c], on)]
    errors = [
        {
            "field": field,
            "message": f"technology {c} is not in the catalog",
            "message_ko": f"기술 {c}은(는) 목록에 없습니다",
        }
        for c in unknown
    ]
    errors += [
        {
            "field": field,
            "message": f"technology {c} is retired",
            "message_ko": f"기술 {c}은(는) 목록에서 제외되었습니다",
        }
        for c in retired
    ]
    errors += [
        {
            "field": field,
            "message": f"technology {c} is retired: off the list from {known[c].retired_on}, on or before {on}",
            "message_ko": f"기술 {c}은(는) 목록에서 제외되었습니다: {known[c].retired_on}부터 제외되어 {on}에는 목록에 없습니다",
        }
        for c in off
    ]
    if errors:
        raise Invalid(
            "; ".join(e["message"] for e in errors) + ".",
            errors=errors,
            ko="; ".join(e["message_ko"] for e in errors) + ".",
        )
