"""All of the gateway's SQL, by concern: reads per entity family (and the loaders written from
the description), projection upserts, keys, the change log and freshness, export cursors."""

from gateway.store import budget, catalog, changes, described, exports, firms, keys, projection, spending

__all__ = ["budget", "catalog", "changes", "described", "exports", "firms", "keys", "projection", "spending"]
