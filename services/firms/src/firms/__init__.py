"""The firms service."""
