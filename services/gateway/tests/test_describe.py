"""The description and the GraphQL types agree: unit tests, no database."""

from __future__ import annotations

from datetime import date

from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, get_named_type

from gateway.read import families
from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.describe import Encoding
from gateway.read.firms.model import FINANCIALS, FIRM
from gateway.read.schema import schema

NAMED = {
    Encoding.PLAIN: {"String", "Int", "Boolean"},
    Encoding.DATE: {"Date"},
    Encoding.WON: {"Won"},
    Encoding.RATIO: {"Float"},
    Encoding.ID: {"ID"},
}


def test_every_described_column_is_a_field_of_its_type_with_a_matching_type() -> None:
    for entity in families.ENTITIES:
        type_ = schema._schema.get_type(entity.type_name)
        assert isinstance(type_, GraphQLObjectType), entity.type_name
        for column in entity.columns:
            if column.encoding is Encoding.KEYS:
                assert column.field not in type_.fields, (
                    f"{entity.type_name}.{column.field} is a key, no field"
                )
                continue
            field = type_.fields.get(column.field)
            assert field is not None, f"{entity.type_name}.{column.field} is described but no field"
            named = get_named_type(field.type)
            if column.encoding is Encoding.ENUM:
                assert isinstance(named, GraphQLEnumType), f"{entity.type_name}.{column.field}"
                assert column.enum is not None
                assert set(named.values) == {e.name for e in column.enum}
            elif column.encoding is not Encoding.JSON:
                assert isinstance(named, GraphQLScalarType), f"{entity.type_name}.{column.field}"
                assert named.name in NAMED[column.encoding], (
                    f"{entity.type_name}.{column.field}: {named.name}"
                )


def test_every_relation_and_lookup_is_a_field_returning_its_child() -> None:
    for described in (*families.RELATIONS, *families.LOOKUPS):
        parent = schema._schema.get_type(described.parent)
        assert isinstance(parent, GraphQLObjectType), described.parent
        field = parent.fields.get(described.field)
        assert field is not None, f"{described.parent}.{described.field}"
        assert get_named_type(field.type).name == described.child.type_name


def test_an_export_line_answers_as_the_fields_do() -> None:
    row = {
        "code": "SEMI-001",
        "industry_code": "SEMI",
        "kind": "material",
        "name_en": "High-purity fluoride",
        "name_ko": "고순도 불화수소",
        "description": "Etching gas.",
        "status": "listed",
        "listed_on": date(2020, 4, 1),
        "retired_on": None,
        "version": 3,
    }
    assert TECHNOLOGY.line(row, frozenset()) == {
        "code": "SEMI-001",
        "industryCode": "SEMI",
        "kind": "MATERIAL",
        "nameEn": "High-purity fluoride",
        "nameKo": "고순도 불화수소",
        "description": "Etching gas.",
        "status": "LISTED",
        "listedOn": "2020-04-01",
        "retiredOn": None,
        "version": 3,
    }


def test_a_column_with_its_own_scope_is_null_in_an_export_without_it() -> None:
    row = {
        "brn": "1388630249",
        "brn_display": "138-86-30249",
        "name_en": "Boram Materials",
        "name_ko": "보람소재",
        "size": "sme",
        "size_since": date(2019, 1, 1),
        "region": "경기",
        "mpe_sales_ratio": 0.7,
        "technology_codes": ["SEMI-001"],
    }
    assert FIRM.line(row, frozenset({FINANCIALS}))["mpeSalesRatio"] == 0.7
    assert FIRM.line(row, frozenset())["mpeSalesRatio"] is None
    assert FIRM.line(row, frozenset())["technologyCodes"] == ["SEMI-001"]
