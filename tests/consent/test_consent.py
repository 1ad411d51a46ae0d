"""consent/: allows() semantics, the append-only history, and what reaches a purpose."""

import pytest
from django.urls import reverse

import consent
from consent.models import ConsentEvent, ConsentGrant
from consent.services import UnknownPurpose, consent_set
from integrations.models import Interest, UserInterest
from integrations.selectors import interests_for_owner, interests_for_purpose
from tests.factories import make_connection, make_user


@pytest.fixture
def user(db):
    return make_user()


def test_consent_is_opt_in(user):
    assert consent.allows(user, "matching") is False
    assert consent.allows(user, "matching", "spotify") is False


def test_all_providers_grant_applies_to_each_provider(user):
    consent_set(user=user, purpose="matching", granted=True)
    assert consent.allows(user, "matching")
    assert consent.allows(user, "matching", "spotify")
    assert not consent.allows(user, "community_recommendation", "spotify")


def test_per_provider_answer_overrides_the_all_providers_one(user):
    consent_set(user=user, purpose="matching", granted=True)
    consent_set(user=user, purpose="matching", granted=False, provider="spotify")
    assert not consent.allows(user, "matching", "spotify")
    assert consent.allows(user, "matching", "sandbox")
    consent_set(user=user, purpose="matching", granted=False)
    consent_set(user=user, purpose="matching", granted=True, provider="sandbox")
    assert consent.allows(user, "matching", "sandbox")
    assert not consent.allows(user, "matching")


def test_every_change_is_an_event_and_no_change_is_none(user):
    assert consent_set(user=user, purpose="matching", granted=True) is True
    assert consent_set(user=user, purpose="matching", granted=True) is False
    assert consent_set(user=user, purpose="matching", granted=False, source="api") is True
    events = list(ConsentEvent.objects.order_by("pk").values_list("purpose", "granted", "source"))
    assert events == [("matching", True, "page"), ("matching", False, "api")]
    assert ConsentEvent.objects.first().policy_version
    assert ConsentGrant.objects.get().granted is False


def test_unknown_purpose_is_refused(user):
    with pytest.raises(UnknownPurpose):
        consent_set(user=user, purpose="advertising", granted=True)
    with pytest.raises(KeyError):
        consent.allows(user, "advertising")
    assert not ConsentEvent.objects.exists()


def test_anonymous_users_allow_nothing(db):
    from django.contrib.auth.models import AnonymousUser

    assert consent.allows(AnonymousUser(), "matching") is False


def test_interests_reach_a_purpose_only_with_consent(user):
    connection = make_connection(user, "sandbox")
    rock = Interest.objects.create(slug="music-rock", label="Rock", category="music")
    jazz = Interest.objects.create(slug="music-jazz", label="Jazz", category="music")
    for purpose in ("matching", "community_recommendation"):
        UserInterest.objects.create(user=user, interest=rock, connection=connection, weight=1.0,
                                    purpose=purpose)
    UserInterest.objects.create(user=user, interest=jazz, connection=connection, weight=0.5,
                                purpose="matching")
    assert interests_for_purpose(user=user, purpose="matching") == {}
    consent_set(user=user, purpose="matching", granted=True)
    assert interests_for_purpose(user=user, purpose="matching") == {
        "music-rock": 1.0, "music-jazz": 0.5}
    assert interests_for_purpose(user=user, purpose="community_recommendation") == {}
    consent_set(user=user, purpose="community_recommendation", granted=True)
    # jazz came only from a stream that serves matching: never handed to recommendations
    assert interests_for_purpose(user=user, purpose="community_recommendation") == {
        "music-rock": 1.0}
    consent_set(user=user, purpose="matching", granted=False)
    assert interests_for_purpose(user=user, purpose="matching") == {}  # hidden at once
    views = {v.label: v.purposes for v in interests_for_owner(user=user)}
    assert views == {"Rock": ["community_recommendation"], "Jazz": []}


def test_another_users_consent_does_not_leak(user):
    other = make_user("bob@example.com")
    consent_set(user=other, purpose="matching", granted=True)
    assert not consent.allows(user, "matching")


# --- the history explains the state: a disconnect forgets per-service answers -----------------

def test_clearing_a_provider_writes_one_event_per_removed_answer_granted_or_not(user):
    from consent.services import consent_clear_provider

    consent_set(user=user, purpose="matching", granted=True, provider="openlibrary")
    consent_set(user=user, purpose="community_recommendation", granted=False,
                provider="openlibrary")
    consent_set(user=user, purpose="matching", granted=True)  # all services: kept
    consent_set(user=user, purpose="matching", granted=True, provider="sandbox")  # kept
    before = ConsentEvent.objects.count()

    assert consent_clear_provider(user=user, provider="openlibrary") == 2

    new = ConsentEvent.objects.order_by("pk")[before:]
    assert [(e.provider, e.purpose, e.granted, e.source) for e in new] == [
        ("openlibrary", "community_recommendation", False, "disconnect"),
        ("openlibrary", "matching", False, "disconnect"),
    ]
    assert set(ConsentGrant.objects.values_list("provider", "purpose")) == {
        ("", "matching"), ("sandbox", "matching")}


def test_disconnect_records_each_forgotten_answer_in_the_history(user, client):
    from consent.views import ANSWER_FORGOTTEN
    from integrations.services import connection_disconnect

    connection = make_connection(user, "openlibrary", access_token="", refresh_token="")
    consent_set(user=user, purpose="matching", granted=False, provider="openlibrary")
    consent_set(user=user, purpose="community_recommendation", granted=True,
                provider="openlibrary")

    connection_disconnect(connection=connection, actor="test")

    assert not ConsentGrant.objects.filter(provider="openlibrary").exists()
    forgotten = ConsentEvent.objects.filter(source=ConsentEvent.Source.DISCONNECT)
    assert sorted(forgotten.values_list("purpose", flat=True)) == [
        "community_recommendation", "matching"]
    client.force_login(user)
    html = client.get(reverse("consent:settings")).content.decode()
    assert html.count(ANSWER_FORGOTTEN) == 2


@pytest.mark.django_db
def test_clearing_a_per_provider_answer_is_an_event_and_the_all_providers_answer_applies():
    from consent.models import ALL_PROVIDERS
    from consent.selectors import allows
    from consent.services import consent_clear

    user = make_user(email="cleo@example.com")
    consent_set(user=user, purpose="matching", granted=True)
    consent_set(user=user, purpose="matching", granted=False, provider="spotify")
    assert consent_clear(user=user, purpose="matching", provider="spotify")
    assert allows(user, "matching", "spotify")
    event = ConsentEvent.objects.filter(user=user).first()
    assert (event.provider, event.granted) == ("spotify", None)
    assert not consent_clear(user=user, purpose="matching", provider="spotify")
    assert ConsentEvent.objects.filter(user=user).count() == 3
    with pytest.raises(ValueError):
        consent_clear(user=user, purpose="matching", provider=ALL_PROVIDERS)
