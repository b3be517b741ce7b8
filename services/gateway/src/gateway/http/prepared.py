"""Prepared operations: each query text parsed, validated and inspected by the compiler once per app."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    specified_rules,
)
from strawberry.schema.schema import validate_document

from gateway.http import limits
from gateway.read.compiled import Declined, inspect_operation
from gateway.read.compiled.core import Document
from gateway.read.schema import schema
from gateway.settings import GatewaySettings

# Root fields whose answer changes without a projected change (how current the read model is).
_VOLATILE_ROOTS = frozenset({"dataAsOf"})


class LRU:
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Prepared:
    """A query text prepared once per app: its document, its validation, what the compiler made of it.

    Strawberry takes the document and the validation errors from here too (`PreparedDocument`),
    so a text is parsed and validated once, whichever engine answers it.
    """

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    volatile: bool
    # Per operation name: what the compiler keeps of the operation, with its compiled plans.
    operations: dict[str | None, Document | Declined] = field(default_factory=dict)
    # Per operation name and page cap: its measure when the request sends no variables.
    measures: dict[tuple[str | None, int], limits.Measure] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Whether the document parsed and validated."""
        return self.document is not None and not self.errors

    def compilable(self, operation_name: str | None) -> Document | Declined:
        """What the compiler makes of an operation of this document, kept for the next call."""
        found = self.operations.get(operation_name)
        if found is None:
            assert self.document is not None
            found = inspect_operation(self.document, operation_name)
            # Only names the document has are kept: a client cannot grow the entry at will.
            if not isinstance(found, Declined) or len(self.operations) < len(self.document.definitions):
                self.operations[operation_name] = found
        return found

    def measure(
        self, operation_name: str | None, variables: dict[str, Any] | None, max_page: int
    ) -> limits.Measure | None:
        """The operation's depth, aliases and cost; kept for the next call when it has no variables.

        Without variables it depends on nothing else. Only operations the document has are kept
        (`measure` is None for a name it lacks), so a client cannot grow the entry at will.
        """
        assert self.document is not None
        if variables:
            return limits.measure(schema._schema, self.document, operation_name, variables, max_page=max_page)
        found = self.measures.get((operation_name, max_page))
        if found is None:
            found = limits.measure(schema._schema, self.document, operation_name, None, max_page=max_page)
            if found is not None:
                self.measures[operation_name, max_page] = found
        return found


def selects_volatile(document: DocumentNode) -> bool:
    """Whether an operation's root selects a field that changes without a projected change."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> bool:
        for s in selection_set.selections:
            if isinstance(s, FieldNode) and s.name.value in _VOLATILE_ROOTS:
                return True
            if isinstance(s, InlineFragmentNode) and walk(s.selection_set, seen):
                return True
            if isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                f = fragments.get(s.name.value)
                if f is not None and walk(f.selection_set, seen | {s.name.value}):
                    return True
        return False

    return any(
        walk(d.selection_set, frozenset())
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


class PreparedOperations:
    """The app's one cache of query texts: each parsed, validated and inspected once.

    It replaces what were four caches keyed on the text (the route's documents, the parser's,
    strawberry's validation cache and the compiler's documents): strawberry takes the document
    and its validation from the request's context, and the compiled plans live in the entry.
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.documents = LRU(settings.document_cache_size)
        self.rules = (
            tuple(specified_rules)
            if settings.answers_introspection
            else (*specified_rules, limits.NoIntrospection)
        )

    def prepare(self, query: str) -> Prepared:
        """The document of a query text, parsed and validated, from the cache when seen before."""
        found: Prepared | None = self.documents.get(query)
        if found is not None:
            return found
        try:
            document = parse(
                query,
                max_lexical_tokens=self.settings.max_tokens,
                max_comments=self.settings.max_tokens,
                max_tokens=self.settings.max_tokens,
            )
        except GraphQLError:
            # Strawberry's path reports the syntax error or the token limit; nothing to keep.
            return Prepared(None, (), True)
        errors = [limits.clearer(e) for e in validate_document(schema._schema, document, self.rules)]
        prepared = Prepared(document, tuple(errors), selects_volatile(document))
        self.documents.put(query, prepared)
        return prepared


def unnamed_choice(document: DocumentNode | None, operation_name: str | None) -> tuple[str, str] | None:
    """Why a request cannot run, by the GraphQL spec's GetOperation: several operations and no
    `operationName` to choose one (over HTTP and on a socket alike), in English and Korean; None
    when it can."""
    if document is None or operation_name is not None:
        return None
    count = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if count < 2:
        return None
    return (
        f"The document has {count} operations; send `operationName` to choose the one to run.",
        f"문서에 연산이 {count}개 있습니다. 실행할 연산을 `operationName`으로 골라 보내십시오.",
    )
