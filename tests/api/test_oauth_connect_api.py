"""Connecting an OAuth provider through the API: the authorize_url, its signed token, allauth's
connect in the person's browser, and the landing on an allowed ``return_to`` only.

Spotify's real URLs are mocked with ``responses`` (as in tests/integrations/test_connect_oauth).
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.api.oauth_connect import (
    ALREADY_CONNECTED,
    LINK_EXPIRED,
    LINK_INVALID,
    LINK_OTHER_PERSON,
    LINK_USED,
    RETURN_SALT,
    RETURN_TO_REFUSED,
    START_SALT,
)
from integrations.models import Connection
from tests.factories import make_connection

from .conftest import error_code

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://accounts.spotify.com/api/token"
ME_URL = "https://api.spotify.com/v1/me"
APP = "https://app.example.com"
CONNECTED_SERVICES = "/connections/"


@pytest.fixture(autouse=True)
def allowed_origin(settings):
    settings.THINKALIKE_API_RETURN_TO_ORIGINS = [APP]


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ask(api, return_to=None, provider="spotify"):
    body = {"provider": provider}
    if return_to is not None:
        body["return_to"] = return_to
    return api.post("/api/v1/connections/", body, format="json")


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def mock_spotify(rsps):
    rsps.post(TOKEN_URL, json={"access_token": "AT-spotify-1", "refresh_token": "RT-spotify-1",
                               "expires_in": 3600, "token_type": "Bearer",
                               "scope": "user-top-read"})
    rsps.get(ME_URL, json={"id": "wizzler", "display_name": "JM Wizzler", "type": "user"})


def connect_in_browser(browser, authorize_url, mocked_responses):
    """Open the authorize_url, pass Spotify (mocked), and answer the callback's response."""
    started = browser.get(local(authorize_url))
    assert started.status_code == 302, started.content
    location = urlsplit(started["Location"])
    assert location.netloc == "accounts.spotify.com"
    state = parse_qs(location.query)["state"][0]
    mock_spotify(mocked_responses)
    return browser.get(reverse("spotify_callback"), {"code": "the-code", "state": state})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# -- the happy paths --------------------------------------------------------------------------

def test_oauth_answers_202_with_an_authorize_url_on_this_site(api):
    response = ask(api, "/consent/")
    assert response.status_code == 202
    data = response.json()
    url = urlsplit(data["authorize_url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver",
                                                  reverse("integrations:api_connect_start"))
    assert parse_qs(url.query)["token"]
    assert not Connection.objects.exists()


def test_the_connect_ends_on_a_path_of_this_site(api, user, browser, mocked_responses):
    authorize_url = ask(api, "/consent/?from=app").json()["authorize_url"]
    done = connect_in_browser(browser, authorize_url, mocked_responses)
    assert done.status_code == 302 and done["Location"] == "/consent/?from=app"
    connection = Connection.objects.get(user=user, provider="spotify")
    assert connection.status == Connection.Status.ACTIVE


def test_the_connect_ends_on_an_allowed_origin_through_our_signed_step(api, user, browser,
                                                                       mocked_responses):
    authorize_url = ask(api, f"{APP}/connected?ok=1").json()["authorize_url"]
    done = connect_in_browser(browser, authorize_url, mocked_responses)
    assert done.status_code == 302
    assert done["Location"].startswith(reverse("integrations:api_connect_return"))
    onward = browser.get(done["Location"])
    assert onward.status_code == 302 and onward["Location"] == f"{APP}/connected?ok=1"
    assert Connection.objects.filter(user=user, provider="spotify").exists()


def test_without_return_to_the_connect_ends_on_connected_services(api, browser,
                                                                  mocked_responses):
    done = connect_in_browser(browser, ask(api).json()["authorize_url"], mocked_responses)
    assert done["Location"] == CONNECTED_SERVICES


def test_a_connection_that_needs_reauth_is_reconnected_through_the_browser(
        api, user, browser, mocked_responses):
    make_connection(user, "spotify", external_id="wizzler",
                    status=Connection.Status.NEEDS_REAUTH)
    response = ask(api, "/consent/")
    assert response.status_code == 202
    connect_in_browser(browser, response.json()["authorize_url"], mocked_responses)
    assert Connection.objects.get(user=user).status == Connection.Status.ACTIVE


def test_an_active_connection_is_409(api, user):
    make_connection(user, "spotify")
    response = ask(api, "/consent/")
    assert (response.status_code, error_code(response)) == (409, "already_connected")


# -- the token --------------------------------------------------------------------------------

def test_a_link_for_another_person_starts_nothing(api, other_user, mocked_responses):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    someone_else = Client()
    someone_else.force_login(other_user)
    response = someone_else.get(local(authorize_url))
    assert response.status_code == 302 and response["Location"] == CONNECTED_SERVICES
    assert messages_of(response) == [LINK_OTHER_PERSON]


def test_an_expired_link_starts_nothing(api, browser):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1), tick=False):
        response = browser.get(local(authorize_url))
    assert response["Location"] == CONNECTED_SERVICES
    assert messages_of(response) == [LINK_EXPIRED]


def test_a_link_still_works_just_before_it_expires(api, browser):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    with time_machine.travel(timezone.now() + timedelta(minutes=9, seconds=50), tick=False):
        response = browser.get(local(authorize_url))
    assert urlsplit(response["Location"]).netloc == "accounts.spotify.com"


def test_a_link_works_once(api, browser, mocked_responses):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    done = connect_in_browser(browser, authorize_url, mocked_responses)
    browser.get(done["Location"])  # its "connected" message shown

    # Opened again (a shared link, the browser's history) while still within its 10 minutes.
    with time_machine.travel(timezone.now() + timedelta(minutes=9, seconds=50), tick=False):
        again = browser.get(local(authorize_url))

    assert again.status_code == 302 and again["Location"] == CONNECTED_SERVICES
    assert messages_of(again) == [LINK_USED]


def test_a_link_opened_twice_before_connecting_starts_once(api, browser):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    first = browser.get(local(authorize_url))
    second = browser.get(local(authorize_url))
    assert urlsplit(first["Location"]).netloc == "accounts.spotify.com"
    assert second["Location"] == CONNECTED_SERVICES and messages_of(second) == [LINK_USED]


def test_a_link_refused_to_another_person_still_works_for_its_own(api, browser, other_user):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    someone_else = Client()
    someone_else.force_login(other_user)
    assert messages_of(someone_else.get(local(authorize_url))) == [LINK_OTHER_PERSON]
    assert urlsplit(browser.get(local(authorize_url))["Location"]).netloc == (
        "accounts.spotify.com")


@pytest.mark.parametrize(("return_to", "lands_on"), [
    ("/consent/?from=app", "/consent/?from=app"),
    (f"{APP}/connected", f"{APP}/connected"),
    ("", None),  # the connection's page
])
def test_a_link_opened_once_connected_meanwhile_starts_nothing(api, user, browser,
                                                               return_to, lands_on):
    authorize_url = ask(api, return_to).json()["authorize_url"]
    # Connected from another tab (or a second link) after this link was made.
    connection = make_connection(user, "spotify")

    response = browser.get(local(authorize_url))

    assert response.status_code == 302
    assert response["Location"] == (lands_on or reverse("integrations:connection_detail",
                                                        args=[connection.pk]))
    assert messages_of(response) == [ALREADY_CONNECTED.format(name="Spotify")]
    assert Connection.objects.get(user=user).pk == connection.pk


def test_a_link_opened_while_the_connection_needs_reauth_still_reconnects(api, user, browser):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    make_connection(user, "spotify", status=Connection.Status.NEEDS_REAUTH)
    response = browser.get(local(authorize_url))
    assert urlsplit(response["Location"]).netloc == "accounts.spotify.com"


def test_a_signed_link_without_a_nonce_starts_nothing(browser, user):
    # The shape of a link made before links were single-use: it could not be used up.
    token = signing.dumps({"u": user.pk, "p": "spotify", "r": ""}, salt=START_SALT)
    response = browser.get(reverse("integrations:api_connect_start"), {"token": token})
    assert response["Location"] == CONNECTED_SERVICES
    assert messages_of(response) == [LINK_INVALID]


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: signing.dumps({"u": 1, "p": "spotify", "r": "//evil.com"}),  # other salt
    lambda token: "",
])
def test_a_tampered_link_starts_nothing(api, browser, tamper):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    token = parse_qs(urlsplit(authorize_url).query)["token"][0]
    response = browser.get(reverse("integrations:api_connect_start"), {"token": tamper(token)})
    assert response["Location"] == CONNECTED_SERVICES
    assert messages_of(response) == [LINK_INVALID]


def test_signed_in_first_when_the_browser_is_not(api):
    authorize_url = ask(api, "/consent/").json()["authorize_url"]
    response = Client().get(local(authorize_url))
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("account_login")


def test_the_return_step_refuses_a_token_it_did_not_sign_or_an_origin_no_longer_allowed(
        browser, user, settings):
    forged = signing.dumps({"u": user.pk, "r": "https://evil.com/"}, salt="other")
    response = browser.get(reverse("integrations:api_connect_return"), {"token": forged})
    assert response["Location"] == CONNECTED_SERVICES
    signed = signing.dumps({"u": user.pk, "r": f"{APP}/done"}, salt=RETURN_SALT)
    settings.THINKALIKE_API_RETURN_TO_ORIGINS = []
    response = browser.get(reverse("integrations:api_connect_return"), {"token": signed})
    assert response["Location"] == CONNECTED_SERVICES


# -- return_to: no open redirect --------------------------------------------------------------

@pytest.mark.parametrize("return_to", [
    "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/\t/evil.com", "/\n/evil.com",
    " /consent/", "https://evil.com/", "http://evil.com", "javascript:alert(1)",
    "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "https:evil.com",
    "https://app.example.com.evil.com/", "https://app.example.com@evil.com/",
    "https://user:pw@app.example.com/", "http://app.example.com/", "https://app.example.com:444/",
    "ftp://app.example.com/", "consent/", "evil.com", "/" + "x" * 2000,
])
def test_a_return_to_off_the_allow_list_is_400(api, return_to):
    response = ask(api, return_to)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"return_to": [RETURN_TO_REFUSED]}


@pytest.mark.parametrize("return_to", ["/", "/consent/?a=1#b", f"{APP}", f"{APP}/x?y=1",
                                       "https://APP.example.com/x", "https://app.example.com:443/"])
def test_a_return_to_on_the_allow_list_is_accepted(api, return_to):
    assert ask(api, return_to).status_code == 202


def test_an_oauth_connect_needs_credentials(anon):
    assert anon.post("/api/v1/connections/", {"provider": "spotify"}).status_code == 401


def test_the_sandbox_connect_starts_at_its_authorisation_page(api, browser, sandbox, settings):
    authorize_url = ask(api, "/consent/", provider="sandbox").json()["authorize_url"]
    started = browser.get(local(authorize_url))
    location = urlsplit(started["Location"])
    assert f"{location.scheme}://{location.netloc}" == settings.THINKALIKE_SANDBOX_URL.rsplit(
        "/", 1)[0]
    assert parse_qs(location.query)["state"]


@pytest.mark.parametrize("next_url", ["https://evil.com/", "//evil.com/", f"{APP}/x"])
def test_allauths_own_next_is_checked_too(browser, mocked_responses, next_url):
    # The page's Connect button posts to allauth; a forged ``next`` there must not redirect
    # off the site either (allauth checks it against ALLOWED_HOSTS; our origins list is ours).
    started = browser.post(reverse("spotify_login"), {"process": "connect", "next": next_url})
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    mock_spotify(mocked_responses)
    done = browser.get(reverse("spotify_callback"), {"code": "the-code", "state": state})
    assert done["Location"] == CONNECTED_SERVICES
