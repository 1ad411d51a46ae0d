"""/api/v1/providers/{slug}/app/: the caller's own OAuth app. The secret goes in once and never
comes out; another person's app is never seen."""

import json

import pytest
from django.urls import reverse

from integrations.models import OAuthClientApp
from integrations.oauth_apps import CLIENT_ID_INVALID, SECRET_REQUIRED, oauth_app_save
from integrations.providers.registry import get_provider

from .conftest import error_code

pytestmark = pytest.mark.django_db

URL = "/api/v1/providers/myanimelist/app/"
SECRET = "api-own-secret-NEVER-RETURNED-31337"


def put(api, body, url=URL):
    return api.put(url, body, format="json")


def test_put_saves_and_get_shows_it_without_the_secret(api, user):
    response = put(api, {"client_id": "my-client", "client_secret": SECRET})
    assert response.status_code == 200
    body = response.json()
    assert body["client_id"] == "my-client" and body["has_secret"] is True
    assert body["redirect_uri"] == "http://testserver" + reverse("myanimelist_callback")
    assert SECRET not in response.content.decode()

    shown = api.get(URL)
    assert shown.status_code == 200
    assert shown.json() == body
    assert SECRET not in shown.content.decode()
    assert OAuthClientApp.objects.get(user=user).client_secret == SECRET


def test_no_answer_anywhere_carries_the_secret(api, user):
    put(api, {"client_id": "my-client", "client_secret": SECRET})
    for url in (URL, "/api/v1/providers/", "/api/v1/providers/myanimelist/"):
        response = api.get(url)
        assert response.status_code == 200
        assert SECRET not in response.content.decode(), url


def test_put_without_a_secret_keeps_the_stored_one(api, user):
    put(api, {"client_id": "my-client", "client_secret": SECRET})
    response = put(api, {"client_id": "my-client"})
    assert response.status_code == 200 and response.json()["has_secret"] is True
    stored = OAuthClientApp.objects.get(user=user)
    assert (stored.client_id, stored.client_secret) == ("my-client", SECRET)


def test_a_new_client_id_needs_its_own_secret(api, user):
    put(api, {"client_id": "my-client", "client_secret": SECRET})
    for body in ({"client_id": "renamed"}, {"client_id": "renamed", "client_secret": ""}):
        response = put(api, body)
        assert response.status_code == 400 and error_code(response) == "invalid"
        assert response.json()["error"]["fields"] == {"client_secret": [SECRET_REQUIRED]}
    stored = OAuthClientApp.objects.get(user=user)
    assert (stored.client_id, stored.client_secret) == ("my-client", SECRET)
    assert put(api, {"client_id": "renamed", "client_secret": "new-secret"}).status_code == 200
    stored.refresh_from_db()
    assert (stored.client_id, stored.client_secret) == ("renamed", "new-secret")


def test_the_first_put_needs_a_secret(api, user):
    response = put(api, {"client_id": "my-client"})
    assert response.status_code == 400 and error_code(response) == "invalid"
    assert response.json()["error"]["fields"] == {"client_secret": [SECRET_REQUIRED]}
    assert not OAuthClientApp.objects.exists()


def test_a_bad_client_id_is_400_with_its_field(api, user):
    response = put(api, {"client_id": "two words", "client_secret": SECRET})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"client_id": [CLIENT_ID_INVALID]}
    assert SECRET not in response.content.decode()


def test_unknown_keys_are_refused(api, user):
    response = put(api, {"client_id": "id", "client_secret": SECRET, "secret": "x"})
    assert response.status_code == 400 and "secret" in response.json()["error"]["fields"]
    assert not OAuthClientApp.objects.exists()


def test_get_and_delete_without_one_are_404(api, user):
    assert api.get(URL).status_code == 404
    response = api.delete(URL)
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_delete_removes_it(api, user):
    put(api, {"client_id": "my-client", "client_secret": SECRET})
    assert api.delete(URL).status_code == 204
    assert not OAuthClientApp.objects.exists()
    assert api.get(URL).status_code == 404


def test_another_persons_app_is_not_seen_or_touched(api, user, other_user):
    oauth_app_save(user=other_user, provider=get_provider("myanimelist"), client_id="theirs",
                   client_secret=SECRET)
    assert api.get(URL).status_code == 404
    assert api.delete(URL).status_code == 404
    assert OAuthClientApp.objects.get().client_id == "theirs"


def test_a_provider_that_takes_none_is_400(api, user):
    for method in ("get", "put", "delete"):
        response = api.generic(method.upper(), "/api/v1/providers/spotify/app/",
                               json.dumps({"client_id": "id", "client_secret": SECRET}),
                               content_type="application/json")
        assert response.status_code == 400, method
        assert error_code(response) == "personal_app_unsupported"
    assert not OAuthClientApp.objects.exists()


def test_an_unknown_provider_is_404(api, user):
    response = api.get("/api/v1/providers/nope/app/")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_without_credentials_it_is_401(anon, user):
    oauth_app_save(user=user, provider=get_provider("myanimelist"), client_id="mine",
                   client_secret=SECRET)
    for method in ("GET", "PUT", "DELETE"):
        response = anon.generic(method, URL, "{}", content_type="application/json")
        assert response.status_code == 401 and error_code(response) == "not_authenticated"
        assert SECRET not in response.content.decode()
    assert OAuthClientApp.objects.count() == 1


def test_the_catalog_says_which_providers_take_one(api, user):
    rows = {row["slug"]: row for row in api.get("/api/v1/providers/").json()["results"]}
    assert rows["myanimelist"]["personal_app"] is True
    assert rows["anilist"]["personal_app"] is True
    assert rows["spotify"]["personal_app"] is False


def test_an_own_app_makes_an_unconfigured_provider_available(api, user, settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers.pop("anilist")
    settings.SOCIALACCOUNT_PROVIDERS = providers
    assert api.get("/api/v1/providers/anilist/").json()["available"] is False
    put(api, {"client_id": "4343", "client_secret": SECRET}, "/api/v1/providers/anilist/app/")
    assert api.get("/api/v1/providers/anilist/").json()["available"] is True
    response = api.post("/api/v1/connections/", {"provider": "anilist"}, format="json")
    assert response.status_code == 202
