"""Throttling is per personal token: one busy script does not use up the person's others."""

import pytest
from django.core.cache import cache

from integrations.api.throttling import PerTokenThrottle
from integrations.api_tokens import api_token_create

from .conftest import error_code
from .schema_check import CheckedClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(monkeypatch):
    monkeypatch.setattr(PerTokenThrottle, "rate", "3/minute", raising=False)
    cache.clear()
    yield
    cache.clear()


def _client(user, name):
    _, plain = api_token_create(user=user, name=name)
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def test_each_token_has_its_own_budget(user, three_a_minute):
    busy, quiet = _client(user, "busy"), _client(user, "quiet")
    assert [busy.get("/api/v1/tokens/").status_code for _ in range(3)] == [200] * 3
    refused = busy.get("/api/v1/tokens/")
    assert refused.status_code == 429
    assert error_code(refused) == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert quiet.get("/api/v1/tokens/").status_code == 200
