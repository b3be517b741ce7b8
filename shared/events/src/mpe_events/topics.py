"""The topic registry: every topic a service publishes, with how it is created."""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000


def _compacted() -> dict[str, str]:
    # Every event carries the whole aggregate state, so compaction keeps a full rebuild possible;
    # the lag keeps days of history readable before older versions of a key are dropped.
    return {"cleanup.policy": "compact", "min.compaction.lag.ms": str(7 * DAY_MS)}


@dataclass(frozen=True)
class TopicSpec:
    """A topic's name (without any deployment prefix) and creation settings."""

    name: str
    partitions: int = 3
    config: dict[str, str] = field(default_factory=_compacted)
    key: str = "the aggregate's id"
    """What the record key (and `ce_subject`) holds, for consumers and the AsyncAPI document."""

    @property
    def publisher(self) -> str:
        """The service that owns the topic and alone writes to it."""
        return self.name.split(".")[1]

    @property
    def dlq(self) -> str:
        """The dead-letter topic of consumers of this topic."""
        return f"{self.name}.dlq"


def compaction_lag_ms(spec: TopicSpec) -> int:
    """How long every record of a compacted topic is kept before compaction may drop it (0 if none)."""
    return int(spec.config.get("min.compaction.lag.ms", "0"))


def dlq_spec(topic: str) -> TopicSpec:
    """A dead-letter topic: delete-policy, kept 30 days, one partition is plenty."""
    return TopicSpec(
        name=f"{topic}.dlq",
        partitions=1,
        config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
    )


CATALOG_INDUSTRY = TopicSpec("mpe.catalog.industry", key="the industry code (e.g. SEMI)")
CATALOG_TECHNOLOGY = TopicSpec(
    "mpe.catalog.technology", partitions=6, key="the technology code (e.g. SEMI-001)"
)
CATALOG_REVISION = TopicSpec("mpe.catalog.revision", key="the revision id (UUID)")

FIRMS_FIRM = TopicSpec("mpe.firms.firm", partitions=6, key="the firm's BRN (10 digits)")
FIRMS_DESIGNATION = TopicSpec("mpe.firms.designation", partitions=6, key="the designation id (UUID)")
BUDGET_FISCAL_YEAR = TopicSpec("mpe.budget.fiscal_year", partitions=1, key="the fiscal year (e.g. 2023)")
BUDGET_PROGRAM = TopicSpec("mpe.budget.program", key="the program code")
BUDGET_PROJECT = TopicSpec("mpe.budget.project", partitions=6, key="the project code")
# Keyed by the payment's id: each line is its own key, so compaction keeps every one.
BUDGET_DISBURSEMENT = TopicSpec("mpe.budget.disbursement", partitions=6, key="the payment id (UUID)")

TOPICS: dict[str, TopicSpec] = {
    t.name: t
    for t in (
        CATALOG_INDUSTRY,
        CATALOG_TECHNOLOGY,
        CATALOG_REVISION,
        FIRMS_FIRM,
        FIRMS_DESIGNATION,
        BUDGET_FISCAL_YEAR,
        BUDGET_PROGRAM,
        BUDGET_PROJECT,
        BUDGET_DISBURSEMENT,
    )
}


def owned_by(service: str) -> list[TopicSpec]:
    """The topics a service publishes to."""
    return [t for t in TOPICS.values() if t.name.startswith(f"mpe.{service}.")]
