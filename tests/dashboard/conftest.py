"""Dashboard fixtures: people, connections, and proxy specs declared for the tests on the real
Stripe and custom API providers, so validation is tested against a known declaration."""

import pytest

from integrations.formfields import FormField
from integrations.providers.registry import PROVIDERS
from integrations.proxy.spec import ProxyEndpoint, ProxySpec
from tests.factories import allow_dashboard, make_connection, make_user

EPOCH = r"[0-9]{1,10}"
CHARGES = ProxyEndpoint(
    "/v1/charges", "Charges", records_path="data", time_field="created",
    params=(FormField("limit", "Limit", pattern=r"[0-9]{1,3}", required=False),
            FormField("created[gte]", "Created after", pattern=EPOCH, required=False)))
BALANCE = ProxyEndpoint("/v1/balance", "Balance")
STATS = ProxyEndpoint("/v3/stats", "Stats", time_field="date",
                      params=(FormField("start_date", "Start", pattern=r"\d{4}-\d\d-\d\d"),))
REPO = ProxyEndpoint("/repos/{owner}/{repo}", "A repository")
TEST_SPECS = {
    "stripe": ProxySpec(endpoints=(CHARGES, BALANCE, REPO), ttl_seconds=60),
    "sendgrid": ProxySpec(endpoints=(STATS,), ttl_seconds=300),
    "custom_api": ProxySpec(any_path=True, ttl_seconds=30, ttl_settable=True),
}


@pytest.fixture
def specs(monkeypatch):
    for slug, spec in TEST_SPECS.items():
        monkeypatch.setattr(type(PROVIDERS[slug]), "proxy", spec)
    return TEST_SPECS


@pytest.fixture
def user(db):
    user = make_user()
    allow_dashboard(user)
    return user


@pytest.fixture
def other_user(db):
    return make_user(email="grace@example.com")


@pytest.fixture
def stripe(user):
    return make_connection(user, "stripe", external_id="test_abc", refresh_token="",
                           access_token="", secret='{"token": "rk_test_SECRETSECRET01"}')


@pytest.fixture
def custom(user):
    connection = make_connection(user, "custom_api", external_id="https://api.example.com/",
                                 access_token="", refresh_token="")
    connection.config = {"base_url": "https://api.example.com/", "auth_kind": "none"}
    connection.save()
    return connection
