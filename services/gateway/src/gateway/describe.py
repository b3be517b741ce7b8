"""Each GraphQL type without a description takes its class's docstring as one.

Strawberry describes a type only from `description=` in its decorator, so the SDL (and the API
reference generated from it) showed no word about most types although every class says what it
is. The docstrings are written for partners as much as for us; this keeps one text for both.
"""

from __future__ import annotations

import inspect

import strawberry
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType


def describe_types(schema: strawberry.Schema) -> None:
    """Give every object, input and enum type that lacks a description its class's docstring."""
    for gql_type in schema._schema.type_map.values():
        if gql_type.name.startswith("__") or gql_type.description:
            continue
        if not isinstance(gql_type, GraphQLObjectType | GraphQLInputObjectType | GraphQLEnumType):
            continue
        definition = (gql_type.extensions or {}).get("strawberry-definition")
        cls = getattr(definition, "origin", None) or getattr(definition, "wrapped_cls", None)
        doc = inspect.getdoc(cls) if isinstance(cls, type) else None
        if doc:
            gql_type.description = doc
