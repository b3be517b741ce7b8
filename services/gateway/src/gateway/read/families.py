"""Every entity family's description in one place, for what derives from all of them.

A family adds an entity, a relation or a lookup by defining it in its `model.py`: it is
collected here, so the compiler and the coverage test know it without another list.
"""

from __future__ import annotations

from types import ModuleType
from typing import TypeVar

from gateway.read.budget import model as budget
from gateway.read.catalog import model as catalog
from gateway.read.describe import Entity, Lookup, Relation
from gateway.read.firms import model as firms

MODELS: tuple[ModuleType, ...] = (catalog, firms, budget)
D = TypeVar("D", Entity, Relation, Lookup)


def _described(kind: type[D]) -> tuple[D, ...]:
    # A model imports another's entities: each description once, in the order first defined.
    return tuple(dict.fromkeys(v for m in MODELS for v in vars(m).values() if isinstance(v, kind)))


ENTITIES: tuple[Entity, ...] = _described(Entity)
RELATIONS: tuple[Relation, ...] = _described(Relation)
LOOKUPS: tuple[Lookup, ...] = _described(Lookup)
