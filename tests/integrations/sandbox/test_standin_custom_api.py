"""The sample custom API stand-in: JSON answers behind an API key header, only with the sandbox
on, and the Custom API provider connecting to it as the demo's README says."""

import pytest

from integrations.exceptions import ConnectionTestFailed
from integrations.providers.custom_api.provider import CREDENTIALS_REFUSED
from integrations.providers.registry import get_provider
from integrations.sandbox.standins.custom_api import DEMO_API_KEY, KEY_HEADER, STATIONS
from integrations.services import connection_connect_with_form
from tests.factories import make_user
from tests.integrations.test_contract import dns_table

BASE = "/sandbox/stand-ins/custom_api/"


@pytest.fixture
def keyed(client, settings):
    settings.THINKALIKE_SANDBOX = True
    return {f"HTTP_{KEY_HEADER.upper().replace('-', '_')}": DEMO_API_KEY}


def test_status_answers_json_with_rate_headers(client, keyed):
    response = client.get(BASE + "status", **keyed)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response["Content-Type"] == "application/json"
    assert response["X-RateLimit-Limit"] == "60" and response["X-RateLimit-Remaining"] == "59"


def test_stations_is_a_small_list(client, keyed):
    body = client.get(BASE + "stations", **keyed).json()
    assert body["items"] == STATIONS and body["count"] == len(STATIONS) and body["next"] is None


@pytest.mark.parametrize("headers", [{}, {"HTTP_X_API_KEY": "wrong-key"},
                                     {"HTTP_AUTHORIZATION": f"Bearer {DEMO_API_KEY}"}])
def test_without_the_key_in_its_header_it_is_401(client, settings, headers):
    settings.THINKALIKE_SANDBOX = True
    response = client.get(BASE + "status", **headers)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_it_is_not_served_with_the_sandbox_off(client, keyed, settings):
    settings.THINKALIKE_SANDBOX = False
    assert client.get(BASE + "status", **keyed).status_code == 404


def test_writes_are_refused(client, keyed):
    assert client.post(BASE + "status", **keyed).status_code == 405


@pytest.fixture
def demo_person(db, sandbox, settings, monkeypatch):
    """The demo's setting: the stand-in's host allowed by THINKALIKE_OUTBOUND_ALLOW."""
    settings.THINKALIKE_OUTBOUND_ALLOW = ["sandbox.test"]
    monkeypatch.setattr("socket.getaddrinfo", dns_table({"sandbox.test": "127.0.0.1"}))
    return make_user()


def demo_fields(api_key: str) -> dict[str, str]:
    return {"name": "Sample weather", "base_url": "http://sandbox.test" + BASE,
            "auth_kind": "api_key", "header_name": KEY_HEADER, "api_key": api_key,
            "test_path": "/status"}


def test_the_custom_api_provider_connects_to_it_with_the_demo_key(demo_person, sandbox):
    connection = connection_connect_with_form(user=demo_person, provider=get_provider(
        "custom_api"), fields=demo_fields(DEMO_API_KEY))
    assert connection.account_label == "Sample weather"
    assert sandbox.paths() == [BASE + "status"]


def test_a_wrong_key_is_refused_by_the_stand_in(demo_person, sandbox):
    with pytest.raises(ConnectionTestFailed) as caught:
        connection_connect_with_form(user=demo_person, provider=get_provider("custom_api"),
                                     fields=demo_fields("not-the-demo-key"))
    assert caught.value.message == CREDENTIALS_REFUSED
