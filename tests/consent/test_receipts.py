"""A consent receipt per change (consent/receipts.py and the view): a JSON attachment with the
event's own values, reached from the history, and only by its person."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from consent.models import ConsentEvent
from consent.receipts import RECEIPT_FORMAT
from consent.services import consent_clear_provider, consent_set

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def receipt_of(client, event):
    return client.get(reverse("consent:receipt", args=[event.pk]))


def test_a_grant_has_a_receipt_with_what_when_which_policy_and_where(client_in, user, settings):
    settings.THINKALIKE_CONSENT_POLICY_VERSION = "2026-03"
    with time_machine.travel(AT, tick=False):
        consent_set(user=user, purpose="matching", granted=True, provider="spotify",
                    source=ConsentEvent.Source.PAGE)
    event = ConsentEvent.objects.get(user=user)
    settings.THINKALIKE_CONSENT_POLICY_VERSION = "2027-01"  # a later policy changes no receipt

    response = receipt_of(client_in, event)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{event.pk}.json"')
    assert "no-store" in response["Cache-Control"]
    body = json.loads(response.content)
    issued = body.pop("issued_at")
    assert issued
    assert body == {
        "format": RECEIPT_FORMAT,
        "receipt_id": event.pk,
        "person": "alice",
        "purpose": {"slug": "matching", "name": "Matching"},
        "provider": {"slug": "spotify", "name": "Spotify"},
        "answer": "granted",
        "granted": True,
        "at": "2026-03-04T05:06:07+00:00",
        "policy_version": "2026-03",
        "source": {"code": "page", "name": "Consent page"},
    }


def test_a_withdrawal_for_every_service_through_the_api(client_in, user):
    consent_set(user=user, purpose="matching", granted=True, source=ConsentEvent.Source.API)
    consent_set(user=user, purpose="matching", granted=False, source=ConsentEvent.Source.API)
    event = ConsentEvent.objects.filter(user=user).order_by("-pk").first()

    body = json.loads(receipt_of(client_in, event).content)

    assert body["answer"] == "withdrawn" and body["granted"] is False
    assert body["provider"] == {"slug": "", "name": "all services"}
    assert body["source"] == {"code": "api", "name": "API"}


def test_a_disconnect_has_a_receipt_too(client_in, user):
    consent_set(user=user, purpose="matching", granted=True, provider="spotify")
    consent_clear_provider(user=user, provider="spotify", source=ConsentEvent.Source.DISCONNECT)
    event = ConsentEvent.objects.get(user=user, source=ConsentEvent.Source.DISCONNECT)

    body = json.loads(receipt_of(client_in, event).content)

    assert body["source"]["code"] == "disconnect"
    assert body["provider"]["slug"] == "spotify"


def test_the_history_links_each_change_to_its_receipt(client_in, user):
    consent_set(user=user, purpose="matching", granted=True)
    consent_set(user=user, purpose="matching", granted=False)
    html = client_in.get(reverse("consent:settings")).content.decode()
    for event in ConsentEvent.objects.filter(user=user):
        assert f'href="{reverse("consent:receipt", args=[event.pk])}"' in html


def test_another_persons_receipt_is_404(client, user):
    consent_set(user=user, purpose="matching", granted=True)
    event = ConsentEvent.objects.get(user=user)
    other = get_user_model().objects.create_user("bob", "bob@example.com", "pw-bob-12345")
    client.force_login(other)
    assert receipt_of(client, event).status_code == 404


def test_a_receipt_needs_a_login_and_a_get(client, client_in, user):
    consent_set(user=user, purpose="matching", granted=True)
    event = ConsentEvent.objects.get(user=user)
    assert client_in.post(reverse("consent:receipt", args=[event.pk])).status_code == 405
    client.logout()
    response = receipt_of(client, event)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
