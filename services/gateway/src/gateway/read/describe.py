"""The vocabulary of the read-model description: entities, their columns, and their relations.

Each entity family (`gateway.read.catalog`, `.firms`, `.budget`) describes what it serves once,
as frozen dataclasses of this module. From one description come:
- the columns the store selects (`Entity.select`) and the batched loader queries
  (`gateway.store.described`);
- the values the strawberry types are built from (`Entity.values`);
- the SQL of each scalar field and relation in the compiled statement (`Column.sql`,
  `gateway.read.compiled`);
- the lines of the bulk export (`Entity.line`).
This module imports nothing of the gateway: the store and the GraphQL types both depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Protocol

from strawberry.utils.str_converters import to_camel_case

WON_MAX = 2**63 - 1


MOST = "mpehub.most"
"""The key of a field's metadata that says how many objects a list without `first` returns."""


Sizer = Callable[[Mapping[str, Any]], int]
"""How many objects a list returns for one parent, from the field's arguments as given."""


def most(objects: int | Sizer) -> dict[str, int | Sizer]:
    """Metadata for a list field without `first`: how many objects it is assumed to return for one
    parent, for the cost limit (`gateway.http.limits`); a function of the field's arguments where
    they decide it (`spending`'s `groupBy`).

    A list that declares none is counted as a full page (the page cap), so that a new list costs
    too much rather than nothing. Where a write service enforces a bound, the figure is that
    bound or, when the bound is far above what the program holds, what the program holds with
    room to spare; the comments say which.
    """
    return {MOST: objects}


# From the program's own size (DOMAIN.md), with room to grow.
INDUSTRIES = 12  # 7 industries, 10 from 2024 with space, defense and hydrogen
FISCAL_YEARS = 30  # a year each since the program began in 2019 (also cohorts), and decades more
LISTED = 200  # a revision's changes, each technology once: the list holds 150 to 200 (catalog takes 1,000)
TRACKS = 20  # a year's programs fall in a handful of tracks
TRANSITIONS = 6  # a designation's or a project's steps: applied to ended, a few in its lifetime
TECHNOLOGY_CODES = 5  # a firm's or a designation's technologies: one to three (the service takes 100)
PROGRAM_THEMES = 10  # an alchemist program's themes (budget sets no bound); other programs have none
THEME_STAGES = 8  # a theme's stage-years: concept 1, preliminary 1, main 5 (the service takes 24)
STAGE_TEAMS = 6  # the projects of one stage-year: 6, 3, then 1 team (the service takes 100)
PROJECT_TECHNOLOGY_CODES = 20  # a project's technologies: the budget service takes at most 20


class Row(Protocol):
    """A read-model row (an asyncpg Record): its values by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


class Encoding(Enum):
    """How a stored value becomes a GraphQL value (and an export value)."""

    PLAIN = "plain"  # text, integers, booleans: as stored
    DATE = "date"  # a calendar date: ISO 8601 text in JSON
    ENUM = "enum"  # stored lower-case; GraphQL gives the upper-case name
    WON = "won"  # whole won as bigint; GraphQL's Won is a string of digits
    RATIO = "ratio"  # a float (Python prints a whole one as 1.0, Postgres as 1)
    ID = "id"  # a UUID; GraphQL's ID is its text
    KEYS = "keys"  # a key or array of keys a relation follows: exported, never a GraphQL field
    JSON = "json"  # a nested JSON list the family's types build by hand (history, themes)


def serialize_won(value: object) -> str:
    """Whole won as a string of digits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= WON_MAX:
        raise TypeError(f"Won is a whole, non-negative 64-bit amount, not {value!r}.")
    return str(value)


# Postgres prints a whole float as 1 where Python (and so strawberry) prints 1.0.
_RATIO_SQL = "(case when ({0})::text ~ '^-?[0-9]+$' then (({0})::text || '.0')::json else to_json({0}) end)"


@dataclass(frozen=True, slots=True)
class Column:
    """One stored column of an entity and the field it is.

    `attr` is the attribute of the strawberry type (its GraphQL name is the camelCase of it,
    unless `name` says otherwise); `column` the read model's column, when it is named otherwise.
    `scope` is a scope the field needs beyond its entity's (the export leaves it null without).
    """

    attr: str
    encoding: Encoding = Encoding.PLAIN
    enum: type[Enum] | None = None
    column: str = ""
    name: str = ""
    export: str = ""
    scope: str | None = None

    @property
    def stored(self) -> str:
        """The read model's column."""
        return self.column or self.attr

    @property
    def field(self) -> str:
        """The GraphQL field's name."""
        return self.name or to_camel_case(self.attr)

    @property
    def key(self) -> str:
        """The export line's key."""
        return self.export or self.field

    def value(self, stored: Any) -> Any:
        """The Python value the strawberry type holds."""
        if stored is None:
            return None
        match self.encoding:
            case Encoding.ENUM:
                assert self.enum is not None
                return self.enum(stored)
            case Encoding.ID:
                return str(stored)
            case Encoding.KEYS if isinstance(stored, list):
                return list(stored)
        return stored

    def exported(self, stored: Any) -> Any:
        """The value an export line carries: what the GraphQL field answers."""
        if stored is None:
            return None
        match self.encoding:
            case Encoding.ENUM:
                assert self.enum is not None
                return self.enum(stored).name
            case Encoding.DATE:
                assert isinstance(stored, date)
                return stored.isoformat()
            case Encoding.WON:
                return serialize_won(stored)
            case Encoding.ID:
                return str(stored)
            case Encoding.KEYS if isinstance(stored, list):
                return list(stored)
        return stored

    def sql(self, alias: str) -> str:
        """The SQL of the field's JSON value on the row `alias`."""
        ref = f"{alias}.{self.stored}"
        match self.encoding:
            case Encoding.ENUM:
                return f"upper({ref})"
            case Encoding.WON | Encoding.ID:
                return f"({ref})::text"
            case Encoding.RATIO:
                return _RATIO_SQL.format(ref)
        return ref


# Identity is equality: each description is one object, and loaders are kept per description.
@dataclass(frozen=True, slots=True, eq=False)
class Entity:
    """A table of the read model served as one GraphQL type, keyed by one column."""

    type_name: str
    table: str
    key: str
    columns: tuple[Column, ...]
    key_type: str = "text"
    # Selected with the row but neither a field nor exported (a version the subscriptions compare).
    extra: tuple[str, ...] = ()
    by_attr: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_attr", {c.attr: c for c in self.columns})

    def select(self, alias: str = "") -> str:
        """The select list of the entity's columns, qualified by `alias` if given."""
        prefix = f"{alias}." if alias else ""
        return ", ".join(f"{prefix}{c}" for c in (*(c.stored for c in self.columns), *self.extra))

    def scalars(self) -> dict[str, Callable[[str], str]]:
        """GraphQL field → the SQL of its value on a row alias, for every column a field maps to plainly."""
        return {c.field: c.sql for c in self.columns if c.encoding not in (Encoding.KEYS, Encoding.JSON)}

    def values(self, row: Row) -> dict[str, Any]:
        """The strawberry type's attributes from a row (JSON columns as stored: the type builds them)."""
        return {c.attr: c.value(row[c.stored]) for c in self.columns}

    def line(self, row: Row, scopes: frozenset[str]) -> dict[str, Any]:
        """An export line: every column as its field answers it (null without the column's scope)."""
        return {
            c.key: c.exported(row[c.stored]) if c.scope is None or c.scope in scopes else None
            for c in self.columns
            if c.encoding is not Encoding.JSON
        }


@dataclass(frozen=True, slots=True)
class Window:
    """A relation's `validOn: Date` argument: only the child rows valid that day.

    `condition` is SQL with `{parent}` (the parent's key) and `{day}` (the date), on the child
    row's columns qualified by its table. Omitted, the day is today in Korea (`today`) or no
    filter at all.
    """

    condition: str
    today: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """A link table between a parent and its children: one row per (parent key, child key).

    `parent` is its column of the parent's key, `child` its column of the child's key, and
    `copies` names, for each child column the relation orders or filters on, the link's copy of it,
    so that a page of children is one range of the link's index, then one lookup per child.
    """

    table: str
    parent: str
    child: str
    copies: tuple[tuple[str, str], ...]  # (child column, link column)

    def column(self, child_column: str) -> str:
        """The link's column holding the child's `child_column`."""
        return dict(self.copies)[child_column]


@dataclass(frozen=True, slots=True, eq=False)
class Relation:
    """A capped list of child rows under each parent row: `first` of them, in `order`.

    The child's `child_column` holds the parent's `parent_column`: equal to it, or (`contains`)
    as one element of an array; no `child_column` leaves the match to the `valid` window. With
    `via`, a link table matches them instead (the child's array is what the link table is kept
    from). `status` names a child column an optional enum argument `status` filters on.
    """

    parent: str
    field: str
    child: Entity
    child_column: str
    parent_column: str
    order: tuple[tuple[str, bool], ...]  # (column, descending)
    contains: bool = False
    status: str | None = None
    valid: Window | None = None
    via: Link | None = None

    def __post_init__(self) -> None:
        if self.via is not None:
            assert self.valid is None, "a relation through a link table has no validOn window"
            for c in (*(c for c, _ in self.order), *((self.status,) if self.status else ())):
                self.via.column(c)  # the link copies every column it orders or filters on

    def match(self, parent: str, day: str | None = None) -> str:
        """The SQL condition that a child row belongs to the parent `parent` (valid on the date `day`)."""
        conditions: list[str] = []
        if self.contains:
            conditions.append(f"{self.child_column} @> array[{parent}]")
        elif self.child_column:
            conditions.append(f"{self.child_column} = {parent}")
        if self.valid is not None and day is not None:
            valid = self.valid.condition.format(parent=parent, day=f"{day}::date")
            conditions.append(valid if self.valid.today else f"({day}::date is null or {valid})")
        return " and ".join(conditions)

    def order_by(self, alias: str = "") -> str:
        """The order of the children, qualified by `alias` if given."""
        prefix = f"{alias}." if alias else ""
        return ", ".join(f"{prefix}{c}{' desc' if desc else ''}" for c, desc in self.order)

    def rows(self, parent: str, limit: str, status: str | None = None, day: str | None = None) -> str:
        """The SQL of the first `limit` children of the parent `parent`, their columns named as the child's.

        `status` is the SQL of the status argument (null: every status), `day` of the `validOn` one.
        """
        child = self.child
        link = self.via
        if link is None:
            where = self.match(parent, day)
            if self.status is not None and status is not None:
                where += f" and ({status}::text is null or {self.status} = {status}::text)"
            return f"select {child.select()} from {child.table} where {where} order by {self.order_by()} limit {limit}"
        on = f"{link.table}.{link.parent} = {parent}"
        if self.status is not None and status is not None:
            on += f" and ({status}::text is null or {link.table}.{link.column(self.status)} = {status}::text)"
        order = ", ".join(f"{link.table}.{link.column(c)}{' desc' if desc else ''}" for c, desc in self.order)
        return (
            f"select {child.select(child.table)} from {link.table}"
            f" join {child.table} on {child.table}.{child.key} = {link.table}.{link.child}"
            f" where {on} order by {order} limit {limit}"
        )


@dataclass(frozen=True, slots=True)
class Lookup:
    """A field that follows a key (or an array of keys, `many`) of the parent to rows of `child`."""

    parent: str
    field: str
    child: Entity
    parent_column: str
    many: bool = False
