"""Every part of the schema partners read carries a description: unit tests, no database.

The API reference (`make docs-portal`) is generated from the SDL, so a field, argument or enum
value without a description is a blank in the partners' documentation.
"""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from gateway.read.descriptions import undescribed
from gateway.read.schema import schema


def test_every_type_field_argument_and_enum_value_of_the_schema_has_a_description() -> None:
    missing = undescribed(schema._schema)
    assert missing == [], f"{len(missing)} without a description: {', '.join(missing)}"


def test_the_check_finds_what_lacks_a_description() -> None:
    kind = GraphQLEnumType("Kind", {"A": "a"}, description="A kind.")
    query = GraphQLObjectType(
        "Query",
        {
            "said": GraphQLField(GraphQLString, description="Described."),
            "unsaid": GraphQLField(
                kind, args={"x": GraphQLArgument(GraphQLString)}, description="Described, its argument not."
            ),
        },
    )
    assert sorted(undescribed(GraphQLSchema(query))) == ["Kind.A", "Query", "Query.unsaid(x)"]


def test_scoped_fields_name_their_scope_once() -> None:
    for gql_type in schema._schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name.startswith("__"):
            continue
        for name, field in gql_type.fields.items():
            said = field.description or ""
            for scope in ("catalog:read", "firms:read", "firms:financials", "budget:read"):
                assert said.count(f"Needs {scope}.") <= 1, f"{gql_type.name}.{name}: {said}"
