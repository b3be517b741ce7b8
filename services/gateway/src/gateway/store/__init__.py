"""All of the gateway's SQL, by concern: reads per entity family (and the loaders written from
the description), projection upserts, keys, the change log and freshness, export cursors, and
the cost limit's assumed list sizes against the data."""

from gateway.store import (
    assumed,
    budget,
    catalog,
    changes,
    described,
    exports,
    firms,
    keys,
    projection,
    spending,
)

__all__ = [
    "assumed",
    "budget",
    "catalog",
    "changes",
    "described",
    "exports",
    "firms",
    "keys",
    "projection",
    "spending",
]
