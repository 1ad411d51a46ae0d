"""A forged cursor is a 404 in the error shape on every list, never a server error."""

import base64

import pytest

from integrations.api_tokens import api_token_create
from tests.factories import make_connection

from .conftest import error_code

pytestmark = pytest.mark.django_db


def forged(position: str) -> str:
    return base64.b64encode(f"o=0&r=0&p={position}".encode()).decode()


@pytest.mark.parametrize("position", ["abc", "😀", "2020-13-45", "1", "9" * 40, "-1e999"])
@pytest.mark.parametrize("path", [
    "/api/v1/tokens/", "/api/v1/connections/", "/api/v1/connections/{id}/runs/",
    "/api/v1/connections/{id}/items/", "/api/v1/consent/history/",
])
def test_a_forged_cursor_position_is_404(api, user, path, position):
    connection = make_connection(user, "sandbox")
    api_token_create(user=user, name="second")  # more than one row to order
    response = api.get(path.format(id=connection.pk), {"cursor": forged(position)})
    assert response.status_code in (200, 404), response.content[:300]
    if response.status_code == 404:
        assert error_code(response) == "not_found"


def test_a_real_cursor_still_pages(api, user):
    for n in range(3):
        api_token_create(user=user, name=f"t{n}")
    first = api.get("/api/v1/tokens/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    names = [t["name"] for t in first["results"] + second["results"]]
    assert len(names) == len(set(names)) == 4
