"""The schema's descriptions, completed from what the code already says.

- A type without a description takes its class's docstring: strawberry describes a type only
  from `description=` in its decorator, while every class already says what it is, for partners
  as much as for us.
- A field guarded by a scope says so ("Needs budget:read."), taken from its guard, so that the
  API reference cannot show a scoped field without its scope, nor name a wrong one.

`undescribed` lists what still has no description; a test keeps that list empty.
"""

from __future__ import annotations

import inspect

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)
from strawberry.permission import PermissionExtension

from gateway.read.common import HasScope


def _scopes(field: object) -> list[str]:
    """The scopes a strawberry field's guards ask for, in order."""
    definition = getattr(field, "extensions", None) or {}
    strawberry_field = definition.get("strawberry-definition") if isinstance(definition, dict) else None
    found: list[str] = []
    for extension in getattr(strawberry_field, "extensions", None) or ():
        if isinstance(extension, PermissionExtension):
            found += [p.scope for p in extension.permissions if isinstance(p, HasScope)]
    return found


def describe(schema: strawberry.Schema) -> None:
    """Complete the schema's type and scoped-field descriptions (see the module's docstring)."""
    for gql_type in schema._schema.type_map.values():
        if gql_type.name.startswith("__"):
            continue
        if not isinstance(gql_type, GraphQLObjectType | GraphQLInputObjectType | GraphQLEnumType):
            continue
        if not gql_type.description:
            definition = (gql_type.extensions or {}).get("strawberry-definition")
            cls = getattr(definition, "origin", None) or getattr(definition, "wrapped_cls", None)
            doc = inspect.getdoc(cls) if isinstance(cls, type) else None
            if doc:
                gql_type.description = doc
        if not isinstance(gql_type, GraphQLObjectType):
            continue
        for field in gql_type.fields.values():
            said = field.description or ""
            needs = " ".join(f"Needs {scope}." for scope in _scopes(field) if scope not in said)
            if needs:
                field.description = f"{field.description.rstrip()} {needs}" if field.description else needs


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field and enum value without a description, by name.

    GraphQL's own introspection types (`__Type` …) are left out: the schema does not define them.
    """
    found: list[str] = []
    for gql_type in schema.type_map.values():
        if gql_type.name.startswith("__"):
            continue
        if not gql_type.description:
            found.append(gql_type.name)
        if isinstance(gql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for name, field in gql_type.fields.items():
                if not field.description:
                    found.append(f"{gql_type.name}.{name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        found.append(f"{gql_type.name}.{name}({arg_name})")
        if isinstance(gql_type, GraphQLEnumType):
            found += [f"{gql_type.name}.{n}" for n, v in gql_type.values.items() if not v.description]
    return found
