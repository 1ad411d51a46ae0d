"""Every paged list of /api/v1/ costs the same SQL queries at 1 and at 10 objects.

The lists come from the schema (benchmarks/api_list_queries.py, which measures 1, 10 and 100
for `make bench`), so an endpoint added later is covered, and one nobody taught the benchmark
to fill fails here until it is.
"""

import pytest

from benchmarks.api_list_queries import FIXED_LENGTH, SEEDERS, list_endpoints, measure
from integrations.providers.registry import PROVIDERS

from .schema_check import openapi_schema

pytestmark = pytest.mark.django_db

ENDPOINTS = list_endpoints(openapi_schema())


def test_the_lists_are_found_in_the_schema():
    paths = {endpoint.path for endpoint in ENDPOINTS}
    assert {"/api/v1/tokens/", "/api/v1/consent/history/", "/api/v1/interests/"} <= paths
    assert "/api/v1/consent/" not in paths  # one object, not a page


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.path for e in ENDPOINTS])
def test_a_list_costs_the_same_queries_at_1_and_10_objects(endpoint):
    assert endpoint.resource in SEEDERS, (
        f"teach benchmarks/api_list_queries.py SEEDERS to fill {endpoint.path}")
    # A person has at most one connection per provider of the catalog.
    many = min(10, len(PROVIDERS)) if endpoint.resource == "connections" else 10
    one, several = measure(endpoint, 1), measure(endpoint, many)
    assert one.queries == several.queries, (endpoint.path, one.queries, several.queries)
    if endpoint.resource not in FIXED_LENGTH:
        assert (one.shown, several.shown) == (1, many), "the list did not show the seeded rows"
