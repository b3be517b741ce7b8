"""Per request: the pool, the partner, and the DataLoaders that batch what the resolvers read.

The loaders are the description's (`gateway.store.described`): one per entity by key, one per
relation by (parent, status, first); each batch is one statement per distinct argument set,
never one per parent. The sums (counts per industry, program totals, funding per technology)
are the hand-written ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import asyncpg
from graphql import DocumentNode, GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from gateway import store
from gateway.http.limits import Measure
from gateway.partners.keys import Partner
from gateway.read.common import page_size, today_in_korea
from gateway.read.describe import Entity, Relation
from gateway.read.hub import ChangeHub

Row = asyncpg.Record
T = TypeVar("T")
# (parent key, status filter, page size, validOn day) of a relation's children.
ChildrenKey = tuple[str, str | None, int, date | None]


@dataclass
class Context(BaseContext):
    """Per request: the pool, the partner and the DataLoaders."""

    pool: asyncpg.Pool
    partner: Partner | None
    max_page: int
    changes: ChangeHub | None = None
    # A WebSocket's key, kept to check before each answer that it has not been revoked since.
    api_key: str | None = field(default=None, repr=False)
    # What the /graphql stage prepared and measured of the operation, for strawberry to reuse.
    document: DocumentNode | None = None
    validation: tuple[GraphQLError, ...] | None = None
    measured: Measure | None = None
    _rows: dict[Entity, DataLoader[str, Row | None]] = field(init=False, default_factory=dict)
    _children: dict[Relation, DataLoader[ChildrenKey, list[Row]]] = field(init=False, default_factory=dict)
    count_loader: DataLoader[date | None, dict[str, int]] = field(init=False)
    program_totals_loader: DataLoader[str, Row | None] = field(init=False)
    technology_funding_loader: DataLoader[tuple[str, int | None], Row | None] = field(init=False)
    technology_years_loader: DataLoader[str, list[Row]] = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()
        self.count_loader = DataLoader(load_fn=self._load_counts)
        self.program_totals_loader = DataLoader(load_fn=self._load_program_totals)
        self.technology_funding_loader = DataLoader(load_fn=self._load_technology_funding)
        self.technology_years_loader = DataLoader(load_fn=self._load_technology_years)

    def forget(self) -> None:
        """Empty every loader's cache: a subscription's context outlives each answer it sends."""
        for rows in self._rows.values():
            rows.clear_all()
        for children in self._children.values():
            children.clear_all()
        self.count_loader.clear_all()
        self.program_totals_loader.clear_all()
        self.technology_funding_loader.clear_all()
        self.technology_years_loader.clear_all()

    def rows(self, entity: Entity) -> DataLoader[str, Row | None]:
        """The entity's rows by key, batched."""
        loader = self._rows.get(entity)
        if loader is None:

            async def load(keys: list[str]) -> list[Row | None]:
                async with self.pool.acquire() as conn:
                    found = {
                        str(r[entity.key]): r for r in await store.described.rows_by_key(conn, entity, keys)
                    }
                return [found.get(k) for k in keys]

            loader = self._rows[entity] = DataLoader(load_fn=load)
        return loader

    def children(self, relation: Relation) -> DataLoader[ChildrenKey, list[Row]]:
        """The relation's children by (parent, status, first, day), batched per (status, first, day)."""
        loader = self._children.get(relation)
        if loader is None:

            async def load(keys: list[ChildrenKey]) -> list[list[Row]]:
                groups: dict[tuple[str | None, int, date | None], list[str]] = defaultdict(list)
                for parent, status, first, day in keys:
                    groups[(status, first, day)].append(parent)
                found: dict[ChildrenKey, list[Row]] = defaultdict(list)
                async with self.pool.acquire() as conn:
                    for (status, first, day), parents in groups.items():
                        rows = await store.described.children(
                            conn, relation, parents, status=status, limit=first, day=day
                        )
                        for r in rows:
                            found[(r[store.described.PARENT], status, first, day)].append(r)
                return [found.get(k, []) for k in keys]

            loader = self._children[relation] = DataLoader(load_fn=load)
        return loader

    async def _load_counts(self, days: list[date | None]) -> list[dict[str, int]]:
        async with self.pool.acquire() as conn:
            return [await store.catalog.technology_counts(conn, d) for d in days]

    async def _load_program_totals(self, codes: list[str]) -> list[Row | None]:
        async with self.pool.acquire() as conn:
            found = {r["program_code"]: r for r in await store.budget.program_totals(conn, codes)}
        return [found.get(c) for c in codes]

    async def _load_technology_funding(self, keys: list[tuple[str, int | None]]) -> list[Row | None]:
        years: dict[int | None, list[str]] = defaultdict(list)
        for code, year in keys:
            years[year].append(code)
        found: dict[tuple[str, int | None], Row] = {}
        async with self.pool.acquire() as conn:
            for year, codes in years.items():
                for r in await store.budget.technology_funding(conn, codes, fiscal_year=year):
                    found[(r["technology"], year)] = r
        return [found.get(k) for k in keys]

    async def _load_technology_years(self, codes: list[str]) -> list[list[Row]]:
        found: dict[str, list[Row]] = defaultdict(list)
        async with self.pool.acquire() as conn:
            for r in await store.budget.technology_funding_by_year(conn, codes):
                found[r["technology"]].append(r)
        return [found.get(c, []) for c in codes]


async def load_one(info: Info[Context, Any], entity: Entity, key: str, build: Callable[[Row], T]) -> T | None:
    """The entity with this key, built from its row; None if the read model lacks it."""
    row = await info.context.rows(entity).load(key)
    return build(row) if row is not None else None


async def load_many(
    info: Info[Context, Any], entity: Entity, keys: list[str], build: Callable[[Row], T]
) -> list[T]:
    """The entities with these keys, in their order; one whose event has not arrived is left out."""
    rows = await info.context.rows(entity).load_many(keys)
    return [build(r) for r in rows if r is not None]


async def load_children(
    info: Info[Context, Any],
    relation: Relation,
    parent: str,
    first: int,
    build: Callable[[Row], T],
    status: str | None = None,
    valid_on: date | None = None,
) -> list[T]:
    """Up to `first` children of a parent, in the relation's order (valid on `valid_on`, or today)."""
    size = page_size(first, info.context.max_page)
    if valid_on is None and relation.valid is not None and relation.valid.today:
        valid_on = today_in_korea()
    return [build(r) for r in await info.context.children(relation).load((parent, status, size, valid_on))]
