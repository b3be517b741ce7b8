"""Fixtures for every test in the repo: the real Postgres and Kafka launchers.

Hypothesis checks properties, not speed: its per-example deadline is off, since a busy machine
(three xdist workers beside Postgres and Kafka on two cores) can stall any example. Performance
is measured by the benchmarks, never by a test.
"""

from hypothesis import settings

pytest_plugins = ["mpe_devstack.testing"]

settings.register_profile("mpehub", deadline=None)
settings.load_profile("mpehub")
