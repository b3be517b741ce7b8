"""Every integer and date parameter of the catalog API, out of range: a 4xx, never a 500."""

from __future__ import annotations

import httpx

from mpe_devstack.parameters import probes, unbounded_integers, unknown_query_probes


async def test_integer_parameters_are_bounded_and_out_of_range_values_are_refused(
    catalog: httpx.AsyncClient,
) -> None:
    openapi = (await catalog.get("/openapi.json")).json()
    assert unbounded_integers(openapi) == []
    tried = 0
    for probe in probes(openapi):
        r = await catalog.request(probe.method, probe.path, params=probe.params, json={})
        assert 400 <= r.status_code < 500, (probe, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), (probe, r.text)
        tried += 1
    assert tried > 0


async def test_a_query_parameter_a_route_does_not_take_is_refused_by_name(
    catalog: httpx.AsyncClient,
) -> None:
    # Found by a probe: an unknown or misspelt parameter was passed over, and a list came back
    # unfiltered. Every operation of the document, with one it does not take.
    openapi = (await catalog.get("/openapi.json")).json()
    tried = camel = 0
    for probe in unknown_query_probes(openapi):
        r = await catalog.request(probe.method, probe.path, params=probe.params, json={})
        assert r.status_code == 422, (probe, r.status_code, r.text)
        errors = r.json()["errors"]
        assert [e["field"] for e in errors] == [probe.parameter], (probe, r.text)
        if probe.value != "1":  # a snake_case parameter written in camelCase: pointed to its name
            assert errors[0]["message"].endswith(f"did you mean {probe.value}?"), (probe, r.text)
            camel += 1
        tried += 1
    operations = sum(len(methods) for path, methods in openapi["paths"].items() if path.startswith("/v1/"))
    assert tried == operations + camel
    assert camel > 0
