"""A path under /api/v1/ that no route matches answers the one error shape, not HTML."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/nowhere/"),
    ("get", "/api/v1/tokens"),  # no trailing slash: no redirect that would drop a POST body
    ("delete", "/api/v1/tokens/not%20a%20key/"),  # the key's pattern does not match
    ("post", "/api/v1/consent/purposes/"),
])
def test_an_unknown_api_path_is_a_json_404(client, method, path):
    response = getattr(client, method)(path)  # no CSRF token, no credentials: still a 404
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint.",
                                         "fields": {}}}
