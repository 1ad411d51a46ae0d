import pytest

from integrations.sandbox.authorize import REDIRECT_URI_NOT_REGISTERED
from integrations.sandbox.guards import registered_redirect_uris
from integrations.sandbox.models import SandboxAuthCode

from .conftest import REDIRECT_URI, query_of

pytestmark = pytest.mark.django_db


def test_consent_page_lists_scopes_and_default_account(oauth, client):
    response = client.get("/sandbox/oauth/authorize", oauth.authorize_params())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sandbox Music" in page
    assert 'value="demo-listener"' in page
    assert "library.read" in page and "profile.read" in page
    assert ">Allow<" in page and ">Deny<" in page


@pytest.mark.parametrize("overrides", [
    {"client_id": "someone-else"},
    {"redirect_uri": "https://evil.example/steal"},
    {"redirect_uri": "https://evil.example/accounts/sandbox/login/callback/#x"},
    {"redirect_uri": "javascript:alert(1)//accounts/sandbox/login/callback/"},
    {"redirect_uri": ""},
    {"response_type": "token"},
    # Only the registered URI, exactly: another host, port, scheme, path or query is refused.
    {"redirect_uri": "http://evil.example/accounts/sandbox/login/callback/"},
    {"redirect_uri": "http://testserver.evil.example/accounts/sandbox/login/callback/"},
    {"redirect_uri": "http://testserver:8080/accounts/sandbox/login/callback/"},
    {"redirect_uri": "http://testserver:80/accounts/sandbox/login/callback/"},
    {"redirect_uri": "https://testserver/accounts/sandbox/login/callback/"},
    {"redirect_uri": "http://testserver/accounts/sandbox/login/callback/extra/"},
    {"redirect_uri": "http://testserver/accounts/sandbox/login/callback"},
    {"redirect_uri": "http://testserver/prefix/accounts/sandbox/login/callback/"},
    {"redirect_uri": "http://testserver/accounts/sandbox/login/callback/?next=//evil.example"},
    {"redirect_uri": "http://testserver/accounts/sandbox/login/callback/#frag"},
    {"redirect_uri": "http://attacker@testserver/accounts/sandbox/login/callback/"},
    {"redirect_uri": "http://TESTSERVER/accounts/sandbox/login/callback/"},
    {"redirect_uri": " http://testserver/accounts/sandbox/login/callback/"},
])
def test_invalid_requests_get_a_400_page_and_never_redirect(oauth, client, overrides):
    params = oauth.authorize_params(**overrides)
    for response in (
        client.get("/sandbox/oauth/authorize", params),
        client.post("/sandbox/oauth/authorize", {**params, "account": "x1", "allow": "1"}),
    ):
        assert response.status_code == 400
        assert "Location" not in response
    assert not SandboxAuthCode.objects.exists()


def test_an_unregistered_redirect_uri_is_named_on_the_error_page(oauth, client):
    params = oauth.authorize_params(redirect_uri="http://evil.example/accounts/sandbox/login/"
                                                 "callback/")
    response = client.get("/sandbox/oauth/authorize", params)
    assert REDIRECT_URI_NOT_REGISTERED in response.content.decode()


def test_registered_uris_come_from_settings_and_the_sandboxs_own_origin(settings):
    settings.THINKALIKE_SANDBOX_REDIRECT_URIS = ["https://demo.example/accounts/sandbox/login/"
                                                 "callback/"]
    settings.THINKALIKE_SANDBOX_URL = "http://127.0.0.1:41234/sandbox"  # a live test server
    assert registered_redirect_uris() == {
        "https://demo.example/accounts/sandbox/login/callback/",
        "http://127.0.0.1:41234/accounts/sandbox/login/callback/",
        "http://localhost:41234/accounts/sandbox/login/callback/",
    }


@pytest.mark.parametrize("origin", ["http://127.0.0.1:41234", "http://localhost:41234"])
def test_a_live_server_on_any_port_gets_its_code(oauth, client, settings, origin):
    settings.THINKALIKE_SANDBOX_URL = "http://127.0.0.1:41234/sandbox"
    uri = f"{origin}/accounts/sandbox/login/callback/"
    response = client.post("/sandbox/oauth/authorize",
                           {**oauth.authorize_params(redirect_uri=uri), "account": "ana",
                            "allow": "1"})
    assert response.status_code == 302 and response["Location"].startswith(uri + "?code=")


def test_allow_redirects_with_code_and_state(oauth, client):
    params = oauth.authorize_params(state="abc123")
    response = client.post("/sandbox/oauth/authorize", {**params, "account": "ana", "allow": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    query = query_of(response["Location"])
    assert query["state"] == "abc123"
    assert query["code"].startswith("sbx_code_")
    stored = SandboxAuthCode.objects.get()
    assert (stored.account, stored.scope, stored.used) == (
        "ana", "library.read profile.read", False
    )


def test_deny_redirects_with_access_denied_and_state(oauth, client):
    params = oauth.authorize_params(state="xyz")
    response = client.post("/sandbox/oauth/authorize", {**params, "deny": "1"})
    assert response.status_code == 302
    assert query_of(response["Location"]) == {"error": "access_denied", "state": "xyz"}
    assert not SandboxAuthCode.objects.exists()


def test_invalid_account_name_rerenders_the_form(oauth, client):
    params = oauth.authorize_params()
    response = client.post(
        "/sandbox/oauth/authorize", {**params, "account": "Bad Name!", "allow": "1"}
    )
    assert response.status_code == 400
    assert "lowercase letters" in response.content.decode()
    assert not SandboxAuthCode.objects.exists()


def test_consent_form_is_csrf_protected(oauth, settings):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    params = oauth.authorize_params()
    response = strict.post("/sandbox/oauth/authorize", {**params, "account": "ana", "allow": "1"})
    assert response.status_code == 403


def test_unknown_scopes_are_not_granted(oauth, client):
    code = oauth.code(scope="library.read admin.everything")
    assert code
    assert SandboxAuthCode.objects.get().scope == "library.read"
