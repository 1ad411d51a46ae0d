"""Every operation of the schema, whatever was added since: without credentials it is a 401 in
the one error shape, and nothing is done."""

import re

import pytest

from integrations.models import ApiToken, Connection

from .conftest import error_code
from .schema_check import openapi_schema

pytestmark = pytest.mark.django_db

OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi_schema()["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]


def concrete(path: str) -> str:
    """A URL for the template: ids as 1, a provider or purpose slug where one is named."""
    path = path.replace("{purpose}", "matching").replace("{provider}", "sandbox")
    path = path.replace("{slug}", "sandbox").replace("{name}", "send_message")
    path = path.replace("{path}", "v1/charges").replace("{key}", "ta_0000000000")
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_schema_has_every_resource_of_the_issue():
    paths = {path for _, path in OPERATIONS}
    for needed in ("/api/v1/providers/", "/api/v1/connections/", "/api/v1/consent/",
                   "/api/v1/interests/", "/api/v1/tokens/", "/api/v1/consent/history/",
                   "/api/v1/connections/{id}/sync/", "/api/v1/connections/{id}/test/",
                   "/api/v1/library/", "/api/v1/library/{id}/", "/api/v1/library/conflicts/",
                   "/api/v1/library/sync/", "/api/v1/connections/{id}/list-sync/"):
        assert needed in paths, needed


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_without_credentials_every_operation_is_401(anon, user, method, path):
    before = (Connection.objects.count(), ApiToken.objects.count())
    response = anon.generic(method, concrete(path), "{}", content_type="application/json")
    assert response.status_code == 401, (method, path, response.status_code)
    assert error_code(response) == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert (Connection.objects.count(), ApiToken.objects.count()) == before
