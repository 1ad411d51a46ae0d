"""The consent settings page and its toggles: consent/views.py."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from consent import views
from consent.models import ConsentEvent, ConsentGrant
from consent.selectors import allows
from consent.services import consent_set
from integrations.models import Connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def toggle(client, **data):
    return client.post(reverse("consent:set"), {"provider": "", **data})


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_settings_requires_login(client):
    response = client.get(reverse("consent:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_set_requires_login(client, user):
    response = client.post(reverse("consent:set"), {"purpose": "matching", "granted": "on"})
    assert response.status_code == 302
    assert not ConsentEvent.objects.exists()


def test_set_refuses_get(client_in):
    assert client_in.get(reverse("consent:set")).status_code == 405


def test_settings_page_lists_purposes_and_services(client_in):
    response = client_in.get(reverse("consent:settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Matching" in html and "Community recommendations" in html
    assert "Suggest people who share your interests." in html
    assert "All services" in html
    for name in ("Sandbox", "Spotify", "Open Library"):
        assert name in html
    assert "Using your all-services choice" in html
    assert "You have not changed any consent yet." in html


def test_toggle_writes_event_and_says_so(client_in, user):
    response = client_in.post(reverse("consent:set"), {
        "purpose": "matching", "provider": "sandbox", "granted": "on",
    }, follow=True)
    assert response.redirect_chain[-1][0] == reverse("consent:settings")
    assert "Matching is now on for Sandbox." in messages_of(response)
    assert views.TURNED_ON.format(purpose="Matching", scope="Sandbox") in messages_of(response)
    event = ConsentEvent.objects.get(user=user)
    assert (event.purpose, event.provider, event.granted) == ("matching", "sandbox", True)
    assert event.source == ConsentEvent.Source.PAGE
    assert allows(user, "matching", "sandbox")
    assert not allows(user, "matching", "spotify")
    html = response.content.decode()
    assert "Set for this service (overrides all services)" in html
    assert "Turned on" in html  # the history


def test_toggle_all_services_off(client_in, user):
    consent_set(user=user, purpose="community_recommendation", granted=True)
    response = toggle(client_in, purpose="community_recommendation", granted="off")
    assert response.status_code == 302
    assert not allows(user, "community_recommendation", "sandbox")
    followed = client_in.get(response["Location"])
    assert views.TURNED_OFF.format(purpose="Community recommendations",
                                   scope=views.ALL_SERVICES) in messages_of(followed)
    assert ConsentEvent.objects.filter(user=user).count() == 2


def test_unchanged_answer_writes_nothing(client_in, user):
    consent_set(user=user, purpose="matching", granted=True)
    response = client_in.post(reverse("consent:set"),
                              {"purpose": "matching", "provider": "", "granted": "on"},
                              follow=True)
    assert views.UNCHANGED.format(purpose="Matching", state="on",
                                  scope=views.ALL_SERVICES) in messages_of(response)
    assert ConsentEvent.objects.filter(user=user).count() == 1


def test_unsafe_next_is_ignored(client_in):
    response = toggle(client_in, purpose="matching", granted="on", next="https://evil.example/")
    assert response.status_code == 302
    assert response["Location"] == reverse("consent:settings")
    response = toggle(client_in, purpose="matching", granted="off", next="//evil.example/x")
    assert response["Location"] == reverse("consent:settings")


def test_safe_next_is_followed(client_in):
    target = reverse("integrations:connected_services")
    response = toggle(client_in, purpose="matching", granted="on", next=target)
    assert response["Location"] == target


@pytest.mark.parametrize("data", [
    {"purpose": "advertising", "provider": "", "granted": "on"},
    {"purpose": "matching", "provider": "myspace", "granted": "on"},
    {"purpose": "matching", "provider": "", "granted": "maybe"},
    {},
])
def test_bad_toggle_is_400_and_changes_nothing(client_in, data):
    response = client_in.post(reverse("consent:set"), data)
    assert response.status_code == 400
    assert views.BAD_REQUEST in response.content.decode()
    assert not ConsentGrant.objects.exists()
    assert not ConsentEvent.objects.exists()


def test_settings_shows_overrides_and_history(client_in, user):
    Connection.objects.create(user=user, provider="openlibrary", external_account_id="bookworm")
    consent_set(user=user, purpose="matching", granted=True)
    consent_set(user=user, purpose="matching", granted=False, provider="openlibrary")
    html = client_in.get(reverse("consent:settings")).content.decode()
    assert "Set for this service (overrides all services)" in html
    assert "Using your all-services choice" in html
    assert "Turned off" in html and "Turned on" in html
    assert "Open Library" in html


def test_history_is_only_the_users_own(client_in):
    other = get_user_model().objects.create_user("bob", "bob@example.com", "pw-bob-123")
    consent_set(user=other, purpose="matching", granted=True, provider="spotify")
    html = client_in.get(reverse("consent:settings")).content.decode()
    assert "You have not changed any consent yet." in html
