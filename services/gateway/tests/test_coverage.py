"""Every field a partner can reach from Query is compiled to SQL, or declined on purpose with a reason."""

from __future__ import annotations

from graphql import GraphQLObjectType, GraphQLUnionType, get_named_type

from gateway.read.compiled import DECLINED, compiled_fields
from gateway.read.schema import schema


def reachable() -> set[tuple[str, str]]:
    """(type, field) of every field a query reaches from Query, not descending into declined fields."""
    query = schema._schema.query_type
    assert query is not None
    found: set[tuple[str, str]] = set()
    todo: list[GraphQLObjectType] = [query]
    seen: set[str] = set()
    while todo:
        type_ = todo.pop()
        if type_.name in seen:
            continue
        seen.add(type_.name)
        for name, field in type_.fields.items():
            found.add((type_.name, name))
            if (type_.name, name) in DECLINED:
                continue
            target = get_named_type(field.type)
            if isinstance(target, GraphQLObjectType):
                todo.append(target)
            elif isinstance(target, GraphQLUnionType):
                todo.extend(target.types)
    return found


def test_every_reachable_field_is_compiled_or_declined_with_a_reason() -> None:
    compiled = compiled_fields()
    missing = sorted(f"{t}.{f}" for t, f in reachable() - compiled - DECLINED.keys())
    assert missing == [], f"neither compiled nor declined (add SQL, or a reason to DECLINED): {missing}"


def test_the_decline_list_names_only_real_fields_the_compiler_does_not_know() -> None:
    fields = reachable()
    for (type_name, field), reason in DECLINED.items():
        assert (type_name, field) in fields, f"{type_name}.{field} is no field a query reaches"
        assert (type_name, field) not in compiled_fields(), f"{type_name}.{field} is compiled and declined"
        assert reason.strip(), f"{type_name}.{field} needs a reason"
        assert "\n" not in reason, f"{type_name}.{field}: the reason is one line"


def test_the_compiler_knows_no_field_the_schema_lacks() -> None:
    types = schema._schema.type_map
    for type_name, field in compiled_fields():
        type_ = types.get(type_name)
        assert isinstance(type_, GraphQLObjectType), type_name
        assert field in type_.fields, f"{type_name}.{field}"
