"""The GraphQL schema partners read: the Query and Subscription roots and the request's extensions."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from gateway.http.access import ObserveOperations
from gateway.http.limits import EnforceLimits, PreparedDocument
from gateway.read.changes import Subscription
from gateway.read.common import WON, Won
from gateway.read.context import Context
from gateway.read.descriptions import describe
from gateway.read.query import Query

__all__ = ["Context", "schema"]

# Extensions exit in reverse order: limits rewrite their refusals before errors are masked and logged.
schema = strawberry.Schema(
    query=Query,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map={Won: WON}),
    extensions=[
        ObserveOperations,
        EnforceLimits,
        # The document and its validation, from the app's prepared operations.
        PreparedDocument,
    ],
)
# Types take their docstrings, and scoped fields name their scope (the API reference shows both).
describe(schema)
