"""Every integer and date parameter of the budget API, out of range: a 4xx, never a 500."""

from __future__ import annotations

import httpx

from mpe_devstack.parameters import probes, unbounded_integers, unknown_query_refusals


async def test_integer_parameters_are_bounded_and_out_of_range_values_are_refused(
    budget: httpx.AsyncClient,
) -> None:
    openapi = (await budget.get("/openapi.json")).json()
    assert unbounded_integers(openapi) == []
    tried = 0
    for probe in probes(openapi):
        r = await budget.request(probe.method, probe.path, params=probe.params, json={})
        assert 400 <= r.status_code < 500, (probe, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), (probe, r.text)
        tried += 1
    assert tried > 0


async def test_a_query_parameter_a_route_does_not_take_is_refused_by_name(
    budget: httpx.AsyncClient,
) -> None:
    # Found by a probe: an unknown or misspelt parameter was passed over, and a list came back
    # unfiltered. Every operation of the document, with one it does not take.
    operations, camel = await unknown_query_refusals(budget)
    assert operations > 0
    assert camel > 0
