"""A connection whose provider left the registry can still be seen, purged and disconnected."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from consent.models import ConsentGrant
from consent.services import consent_set
from integrations import views
from integrations.models import (
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.providers.registry import PROVIDERS
from integrations.providers.retired import RETIRED_REASON, RETIRED_REVOKE_HELP
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

GONE = "lastfm"  # a provider this installation used to offer


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def retired(user):
    assert GONE not in PROVIDERS
    connection = make_connection(user, GONE)
    ExternalItem.objects.create(connection=connection, kind="track", external_id="t1",
                                title="Song", content_hash="h")
    interest = Interest.objects.create(slug="music:rock", label="Rock", category="music")
    UserInterest.objects.create(user=user, interest=interest, connection=connection, weight=1.0,
                                purpose="matching")
    StreamState.objects.create(connection=connection, stream="scrobbles", cursor={"page": 3})
    return connection


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_detail_page_renders_and_says_the_service_is_gone(client_in, retired):
    response = client_in.get(reverse("integrations:connection_detail", args=[retired.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert RETIRED_REASON in html
    assert reverse("integrations:disconnect", args=[retired.pk]) in html
    assert reverse("integrations:purge_data", args=[retired.pk]) in html
    assert reverse("integrations:sync_now", args=[retired.pk]) not in html


def test_disconnect_confirm_page_says_nothing_is_revoked(client_in, retired):
    response = client_in.get(reverse("integrations:disconnect", args=[retired.pk]))

    assert response.status_code == 200
    assert escape(RETIRED_REVOKE_HELP) in response.content.decode()
    assert Connection.objects.filter(pk=retired.pk).exists()


def test_disconnect_deletes_locally_and_revokes_nothing(client_in, user, retired,
                                                        mocked_responses):
    consent_set(user=user, purpose="matching", granted=True, provider=GONE)

    response = client_in.post(reverse("integrations:disconnect", args=[retired.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("integrations:connected_services")
    shown = messages_of(response)
    assert views.DISCONNECTED.format(name=GONE, items=1) in shown
    assert views.NOT_REVOKED.format(name=GONE, note=RETIRED_REVOKE_HELP) in shown
    assert len(mocked_responses.calls) == 0  # no provider to ask
    for model in (Connection, Credential, ExternalItem, UserInterest, StreamState):
        assert not model.objects.exists(), model.__name__
    assert not ConsentGrant.objects.filter(provider=GONE).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert AuditEvent.Action.DISCONNECTED in actions
    assert AuditEvent.Action.REVOKED not in actions


def test_purge_deletes_the_imported_data_and_keeps_the_connection(client_in, retired):
    response = client_in.post(reverse("integrations:purge_data", args=[retired.pk]), follow=True)

    assert views.DATA_PURGED.format(count=1, entries=0, name=GONE) in messages_of(response)
    assert not ExternalItem.objects.exists()
    assert not UserInterest.objects.exists()
    assert not StreamState.objects.exists()
    assert Connection.objects.filter(pk=retired.pk).exists()


def test_sync_now_is_refused(client_in, retired):
    response = client_in.post(reverse("integrations:sync_now", args=[retired.pk]), follow=True)

    assert views.SYNC_RETIRED.format(name=GONE) in messages_of(response)
    assert not SyncRun.objects.exists()


def test_another_person_still_cannot_touch_it(client, retired):
    client.force_login(make_user("mallory@example.com"))

    for method, name in (("get", "connection_detail"), ("post", "disconnect"),
                         ("post", "purge_data")):
        url = reverse(f"integrations:{name}", args=[retired.pk])
        assert getattr(client, method)(url).status_code == 404, name
    assert ExternalItem.objects.filter(connection=retired).exists()


def test_connected_services_lists_it_with_a_way_out_and_no_sync(client_in, retired):
    Connection.objects.filter(pk=retired.pk).update(status=Connection.Status.NEEDS_REAUTH)

    response = client_in.get(reverse("integrations:connected_services"))

    assert response.status_code == 200
    html = response.content.decode()
    assert RETIRED_REASON in html
    assert reverse("integrations:connection_detail", args=[retired.pk]) in html
    assert reverse("integrations:disconnect", args=[retired.pk]) in html
    assert reverse("integrations:sync_now", args=[retired.pk]) not in html
    assert "Reconnect" not in html  # there is nothing left to reconnect to
