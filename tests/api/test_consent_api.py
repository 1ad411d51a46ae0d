"""/api/v1/consent/: consent/api.py over the same services and selectors as the consent page."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from consent.models import ConsentEvent, ConsentGrant
from consent.purposes import MATCHING, PURPOSES
from consent.selectors import allows
from consent.services import consent_set
from integrations.selectors import catalog_for_user

from .conftest import error_code

pytestmark = pytest.mark.django_db

MATCHING_URL = f"/api/v1/consent/purposes/{MATCHING}/"


def provider_url(provider: str, purpose: str = MATCHING) -> str:
    return f"/api/v1/consent/purposes/{purpose}/providers/{provider}/"


def test_every_purpose_is_listed_unanswered_at_first(api):
    body = api.get("/api/v1/consent/").json()
    assert [p["slug"] for p in body["purposes"]] == list(PURPOSES)
    matching = body["purposes"][0]
    assert matching["name"] == PURPOSES[MATCHING].name
    assert matching["description"] == PURPOSES[MATCHING].description
    assert all(p["granted"] is None and p["providers"] == [] for p in body["purposes"])


def test_an_answer_for_every_provider_is_recorded_as_an_api_event(api, user):
    response = api.put(MATCHING_URL, {"granted": True})
    assert response.status_code == 200
    assert response.json()["slug"] == MATCHING and response.json()["granted"] is True
    event = ConsentEvent.objects.get(user=user)
    assert (event.purpose, event.provider, event.granted, event.source) == (
        MATCHING, "", True, ConsentEvent.Source.API)
    # The pages read the same state.
    assert allows(user, MATCHING, "spotify")
    sandbox = next(e for e in catalog_for_user(user=user) if e.provider.slug == "sandbox")
    assert MATCHING in sandbox.consented_purposes


def test_a_per_provider_answer_overrides_the_one_for_every_provider(api, user):
    api.put(MATCHING_URL, {"granted": True})
    response = api.put(provider_url("spotify"), {"granted": False})
    assert response.status_code == 200
    assert response.json()["granted"] is True
    assert response.json()["providers"] == [{"provider": "spotify", "granted": False}]
    assert not allows(user, MATCHING, "spotify")
    assert allows(user, MATCHING, "sandbox")
    listed = api.get("/api/v1/consent/").json()["purposes"][0]
    assert listed["providers"] == [{"provider": "spotify", "granted": False}]
    assert ConsentEvent.objects.filter(user=user, provider="spotify",
                                       source=ConsentEvent.Source.API).count() == 1


def test_the_consent_page_shows_what_the_api_changed(api, user, client):
    api.put(provider_url("sandbox"), {"granted": True})
    client.force_login(user)
    page = client.get(reverse("consent:settings"))
    history = page.context["history"]
    assert [(h["event"].provider, h["answer"]) for h in history] == [("sandbox", "Turned on")]
    matching = page.context["purposes"][0]
    sandbox = next(row for row in matching["providers"] if row["provider"].slug == "sandbox")
    assert sandbox["explicit"] is True and sandbox["effective"] is True


def test_repeating_an_answer_writes_no_event(api, user):
    api.put(MATCHING_URL, {"granted": False})
    assert api.put(MATCHING_URL, {"granted": False}).status_code == 200
    assert ConsentEvent.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("body", [{}, {"granted": None}, {"granted": "yes"}, {"granted": 1},
                                  {"granted": "true"}])
def test_granted_must_be_true_or_false(api, user, body):
    response = api.put(MATCHING_URL, body)
    assert response.status_code == 400
    assert "granted" in response.json()["error"]["fields"]
    assert not ConsentGrant.objects.filter(user=user).exists()


def test_an_unknown_provider_is_400_and_changes_nothing(api, user):
    response = api.put(provider_url("myspace"), {"granted": True})
    assert response.status_code == 400
    assert error_code(response) == "unknown_provider"
    assert not ConsentGrant.objects.filter(user=user).exists()


@pytest.mark.parametrize("url", ["/api/v1/consent/purposes/advertising/",
                                 "/api/v1/consent/purposes/advertising/providers/spotify/"])
def test_an_unknown_purpose_is_404(api, user, url):
    response = api.put(url, {"granted": True})
    assert response.status_code == 404
    assert error_code(response) == "unknown_purpose"
    assert not ConsentGrant.objects.filter(user=user).exists()


@pytest.mark.parametrize("method,url", [
    ("get", "/api/v1/consent/"), ("get", "/api/v1/consent/history/"),
    ("put", MATCHING_URL), ("put", provider_url("spotify")), ("delete", provider_url("spotify")),
])
def test_without_a_token_the_answer_is_401(anon, user, method, url):
    response = getattr(anon, method)(url, {"granted": True} if method == "put" else None)
    assert response.status_code == 401
    assert not ConsentEvent.objects.exists()


def test_another_persons_answers_are_not_shown(api, other_user):
    consent_set(user=other_user, purpose=MATCHING, granted=True)
    consent_set(user=other_user, purpose=MATCHING, granted=False, provider="github")
    matching = api.get("/api/v1/consent/").json()["purposes"][0]
    assert matching["granted"] is None and matching["providers"] == []
    assert api.get("/api/v1/consent/history/").json()["results"] == []


def test_the_history_is_paged_newest_first(api, user, settings):
    settings.THINKALIKE_CONSENT_POLICY_VERSION = "2026-11"
    api.put(MATCHING_URL, {"granted": True})
    api.put(provider_url("github"), {"granted": False})
    consent_set(user=user, purpose=MATCHING, granted=False)  # from the page
    first = api.get("/api/v1/consent/history/", {"page_size": 2}).json()
    assert [(e["provider"], e["granted"], e["source"]) for e in first["results"]] == [
        (None, False, "page"), ("github", False, "api")]
    assert first["results"][0]["policy_version"] == "2026-11"
    assert first["results"][0]["purpose"] == MATCHING and first["results"][0]["at"]
    rest = api.get(first["next"]).json()
    assert [(e["provider"], e["granted"], e["source"]) for e in rest["results"]] == [
        (None, True, "api")]
    assert rest["next"] is None


def test_options_describes_the_answer_endpoints_without_failing(token):
    # A plain ViewSet: DRF's metadata once looked for a queryset here and answered 500.
    # (Not a CheckedClient: the schema documents no OPTIONS.)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.options(MATCHING_URL).status_code == 200
    assert client.options(provider_url("spotify")).status_code == 200


def test_removing_a_per_provider_answer_brings_back_the_one_for_every_provider(api, user,
                                                                              client):
    api.put(MATCHING_URL, {"granted": True})
    api.put(provider_url("spotify"), {"granted": False})
    assert not allows(user, MATCHING, "spotify")
    response = api.delete(provider_url("spotify"))
    assert response.status_code == 200
    assert response.json()["providers"] == [] and response.json()["granted"] is True
    assert allows(user, MATCHING, "spotify")
    assert not ConsentGrant.objects.filter(user=user, provider="spotify").exists()
    latest = api.get("/api/v1/consent/history/").json()["results"][0]
    assert (latest["provider"], latest["granted"], latest["source"]) == ("spotify", None, "api")
    client.force_login(user)
    history = client.get(reverse("consent:settings")).context["history"]
    assert history[0]["answer"] == "Cleared (the all-services answer applies)"


def test_removing_an_answer_there_is_not_writes_nothing(api, user):
    assert api.delete(provider_url("spotify")).status_code == 200
    assert not ConsentEvent.objects.filter(user=user).exists()


def test_removing_for_an_unknown_provider_or_purpose_is_refused(api, user):
    assert error_code(api.delete(provider_url("myspace"))) == "unknown_provider"
    assert api.delete(provider_url("spotify", purpose="ads")).status_code == 404
    assert not ConsentEvent.objects.exists()
