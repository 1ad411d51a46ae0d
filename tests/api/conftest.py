"""Fixtures of the API tests: a person, a personal token and clients that check every answer
against the OpenAPI schema (schema_check.py)."""

import pytest

from integrations.api_tokens import api_token_create
from tests.factories import make_user

from .schema_check import CheckedClient


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def other_user(db):
    return make_user(email="grace@example.com")


@pytest.fixture
def token(user) -> str:
    _, plain = api_token_create(user=user, name="tests")
    return plain


@pytest.fixture
def api(token) -> CheckedClient:
    """Authenticated with ``user``'s personal token."""
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def anon() -> CheckedClient:
    return CheckedClient()


def error_code(response) -> str:
    return response.json()["error"]["code"]
