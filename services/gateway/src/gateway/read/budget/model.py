"""The budget family, described once: programs, projects, and the sums over projects."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.describe import Column, Encoding, Entity, Link, Lookup, Relation
from gateway.read.firms.model import FIRM, FIRMS_READ

BUDGET_READ = "budget:read"


@strawberry.enum
class ProgramKind(Enum):
    """What a program funds."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    RND = strawberry.enum_value("rnd", description="R&D projects chosen through yearly calls.")
    ALCHEMIST = strawberry.enum_value(
        "alchemist",
        description="Alchemist themes: tournaments of teams through concept, preliminary and main.",
    )
    INFRASTRUCTURE = strawberry.enum_value(
        "infrastructure", description="Shared infrastructure, such as testbeds and facilities."
    )
    OTHER = strawberry.enum_value("other", description="Anything else the program funds.")


@strawberry.enum
class ProjectKind(Enum):
    """A project that starts this fiscal year, or one that continues an earlier one."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    NEW = strawberry.enum_value("new", description="Starts in its fiscal year.")
    CONTINUING = strawberry.enum_value(
        "continuing", description="Continues a project of an earlier fiscal year, which `continues` names."
    )


@strawberry.enum
class ProjectStatus(Enum):
    """Where a project stands."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    PROPOSED = strawberry.enum_value(
        "proposed", description="Proposed, not yet selected: it commits nothing."
    )
    SELECTED = strawberry.enum_value(
        "selected", description="Selected for funding: its governmentKrw is now committed."
    )
    AGREEMENT_SIGNED = strawberry.enum_value(
        "agreement_signed", description="Its agreement is signed: payments may be made from now on."
    )
    ACTIVE = strawberry.enum_value("active", description="Under way: payments may be made.")
    COMPLETED = strawberry.enum_value("completed", description="Finished; final.")
    TERMINATED = strawberry.enum_value(
        "terminated", description="Ended early; final. What it commits falls to what was paid by then."
    )


@strawberry.enum
class ParticipantRole(Enum):
    """A consortium member's part: the one lead, or a participant."""

    LEAD = strawberry.enum_value(
        "lead", description="The consortium's lead: Korean, and the project's lead firm if a firm."
    )
    PARTICIPANT = strawberry.enum_value("participant", description="Any other member, Korean or foreign.")


@strawberry.enum
class ParticipantKind(Enum):
    """What a consortium member is."""

    FIRM = strawberry.enum_value("firm", description="A firm: Korean (named by its BRN) or foreign.")
    UNIVERSITY = strawberry.enum_value("university", description="A university.")
    INSTITUTE = strawberry.enum_value("institute", description="A research institute.")


@strawberry.enum
class AlchemistStage(Enum):
    """A stage of an alchemist theme's tournament."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    CONCEPT = strawberry.enum_value("concept", description="The first stage: concept studies, about a year.")
    PRELIMINARY = strawberry.enum_value(
        "preliminary", description="The second stage: preliminary research, about a year."
    )
    MAIN = strawberry.enum_value("main", description="The last stage: main research, for up to five years.")


PROGRAM = Entity(
    "Program",
    table="programs",
    key="code",
    columns=(
        Column("code"),
        Column("fiscal_year"),
        Column("name_en"),
        Column("name_ko"),
        Column("kind", Encoding.ENUM, ProgramKind),
        Column("track"),
        Column("budget_krw", Encoding.WON),
        Column("themes", Encoding.JSON),
    ),
    extra=("version",),
)

PROJECT = Entity(
    "Project",
    table="projects",
    key="code",
    columns=(
        Column("code"),
        Column("program_code", Encoding.KEYS),
        Column("fiscal_year"),
        Column("title"),
        Column("kind", Encoding.ENUM, ProjectKind),
        Column("continues"),
        Column("technology_codes", Encoding.KEYS),
        Column("lead_firm_brn", Encoding.KEYS, scope=FIRMS_READ),
        Column("government_krw", Encoding.WON),
        Column("private_cash_krw", Encoding.WON),
        Column("private_in_kind_krw", Encoding.WON),
        Column("start_on", Encoding.DATE),
        Column("end_on", Encoding.DATE),
        Column("status", Encoding.ENUM, ProjectStatus),
        Column("committed_krw", Encoding.WON),
        Column("disbursed_krw", Encoding.WON),
        Column("history", Encoding.JSON),
    ),
    extra=("version",),
)

# One payment to a project (mpe.budget.disbursement); a payment never changes.
DISBURSEMENT = Entity(
    "Disbursement",
    table="disbursements",
    key="id",
    key_type="uuid",
    columns=(
        Column("id", Encoding.ID),
        Column("project_code", Encoding.KEYS),
        Column("paid_on", Encoding.DATE),
        Column("amount_krw", Encoding.WON),
    ),
)

# A member of a project's consortium (project_participants: one row per member, in the event's
# order). Never loaded by key: its rows are reached through the project (PROJECT_PARTICIPANTS).
PARTICIPANT = Entity(
    "Participant",
    table="project_participants",
    key="project_code",
    columns=(
        Column("project_code", Encoding.KEYS),
        Column("role", Encoding.ENUM, ParticipantRole),
        Column("kind", Encoding.ENUM, ParticipantKind),
        Column("name"),
        Column("brn", Encoding.KEYS, scope=FIRMS_READ),
        Column("country"),
        Column("government_krw", Encoding.WON),
        Column("private_cash_krw", Encoding.WON),
        Column("private_in_kind_krw", Encoding.WON),
    ),
    extra=("position",),
)

# The sums over a set of projects (Funding, IndustryFunding, TrackFunding, Program's own).
SUMS = (
    Column("committed_krw", Encoding.WON),
    Column("disbursed_krw", Encoding.WON),
    Column("project_count"),
)

NEWEST_FIRST = (("fiscal_year", True), ("code", False))

# Through the link table the projects' triggers keep (migration 0011), not `technology_codes @>`.
TECHNOLOGY_PROJECTS = Relation(
    "Technology",
    "projects",
    PROJECT,
    "technology_codes",
    "code",
    NEWEST_FIRST,
    contains=True,
    via=Link(
        "project_technologies",
        parent="technology_code",
        child="project_code",
        copies=(("fiscal_year", "fiscal_year"), ("code", "project_code")),
    ),
)
FIRM_PROJECTS = Relation("Firm", "projects", PROJECT, "lead_firm_brn", "brn", NEWEST_FIRST)
PROGRAM_PROJECTS = Relation("Program", "projects", PROJECT, "program_code", "code", (("code", False),))

PROJECT_PARTICIPANTS = Relation(
    "Project", "participants", PARTICIPANT, "project_code", "code", (("position", False),)
)
PARTICIPANT_FIRM = Lookup("Participant", "firm", FIRM, "brn")

PROJECT_PROGRAM = Lookup("Project", "program", PROGRAM, "program_code")
PROJECT_TECHNOLOGIES = Lookup("Project", "technologies", TECHNOLOGY, "technology_codes", many=True)
PROJECT_LEAD_FIRM = Lookup("Project", "leadFirm", FIRM, "lead_firm_brn")
PROJECT_CONTINUES = Lookup("Project", "continuesProject", PROJECT, "continues")
