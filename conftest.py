"""Fixtures for every test in the repo: the real Postgres and Kafka launchers."""

pytest_plugins = ["mpe_devstack.testing"]
