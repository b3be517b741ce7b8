"""All of the gateway's SQL, by concern: reads per entity family, projection upserts, keys, the
change log and freshness, export cursors."""

from gateway.store import budget, catalog, changes, exports, firms, keys, projection

__all__ = ["budget", "catalog", "changes", "exports", "firms", "keys", "projection"]
