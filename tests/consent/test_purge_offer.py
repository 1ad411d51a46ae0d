"""The consent page offers to delete what a stream collected once no allowed purpose uses it.

consent/views.py (offer and POST), integrations/selectors.unconsented_streams_for_owner and
integrations/services.connection_stream_purge.
"""

import pytest
from django.urls import reverse

from consent import views
from consent.services import consent_set
from integrations.interests import interests_recompute
from integrations.models import AuditEvent, ExternalItem, StreamState, UserInterest
from integrations.providers.registry import get_provider
from integrations.selectors import unconsented_streams_for_owner
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

PURGE_BUTTON = 'name="stream" value="{}"'


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def sandbox(user):
    """A sandbox connection holding tracks (both purposes) and top artists (matching only)."""
    connection = make_connection(user, "sandbox")
    for kind, genres in (("track", ["rock"]), ("track", ["folk"]), ("artist", ["jazz"])):
        ExternalItem.objects.create(
            connection=connection, kind=kind, external_id=f"{kind}-{genres[0]}",
            title=genres[0], attrs={"genres": genres}, content_hash="h")
    StreamState.objects.create(connection=connection, stream="top_artists", cursor={"a": 1})
    StreamState.objects.create(connection=connection, stream="tracks", cursor={"t": 1})
    interests_recompute(connection=connection, provider=get_provider("sandbox"))
    return connection


def offered(user):
    return {(o.connection.provider, o.stream.name, o.items)
            for o in unconsented_streams_for_owner(user=user)}


def page(client, user):
    client.force_login(user)
    return client.get(reverse("consent:settings")).content.decode()


def test_offer_appears_only_for_streams_no_allowed_purpose_uses(user, sandbox, client):
    consent_set(user=user, purpose="matching", granted=True)
    consent_set(user=user, purpose="community_recommendation", granted=True)
    assert offered(user) == set()
    assert PURGE_BUTTON.format("top_artists") not in page(client, user)

    consent_set(user=user, purpose="matching", granted=False)  # tracks still serve the other
    assert offered(user) == {("sandbox", "top_artists", 1)}
    html = page(client, user)
    assert PURGE_BUTTON.format("top_artists") in html
    assert PURGE_BUTTON.format("tracks") not in html

    consent_set(user=user, purpose="community_recommendation", granted=False,
                provider="sandbox")  # a per-service answer counts the same way
    assert offered(user) == {("sandbox", "top_artists", 1), ("sandbox", "tracks", 2)}

    consent_set(user=user, purpose="matching", granted=True, provider="sandbox")
    assert offered(user) == set()


def test_no_offer_for_a_stream_that_holds_nothing(user, client):
    make_connection(user, "sandbox")
    assert offered(user) == set()
    assert 'action="/consent/purge-stream/"' not in page(client, user)


def test_nothing_is_deleted_without_the_person_asking(user, sandbox, client):
    consent_set(user=user, purpose="matching", granted=True)
    consent_set(user=user, purpose="matching", granted=False)
    page(client, user)
    assert ExternalItem.objects.count() == 3


def test_deleting_removes_only_that_streams_items_and_checkpoint(user, sandbox, client):
    other = make_connection(make_user("bob@example.com"), "sandbox", external_id="bob")
    ExternalItem.objects.create(connection=other, kind="artist", external_id="b", title="b",
                                content_hash="h")
    client.force_login(user)

    response = client.post(reverse("consent:purge_stream"),
                           {"connection": sandbox.pk, "stream": "top_artists"}, follow=True)

    assert response.status_code == 200
    assert views.STREAM_PURGED.format(items=1, name="Sandbox", stream="top artists") in [
        str(m) for m in response.context["messages"]]
    assert set(ExternalItem.objects.filter(connection=sandbox).values_list("kind", flat=True)) \
        == {"track"}
    assert ExternalItem.objects.filter(connection=other).count() == 1
    assert list(StreamState.objects.filter(connection=sandbox).values_list("stream", flat=True)) \
        == ["tracks"]
    # Interests follow: jazz came only from top artists.
    slugs = set(UserInterest.objects.filter(connection=sandbox).values_list(
        "interest__slug", flat=True))
    assert slugs == {"music-rock", "music-folk"}
    audit = AuditEvent.objects.get(action=AuditEvent.Action.DATA_PURGED)
    assert audit.message == "Top artists: 1 items" and audit.actor == f"user:{user.pk}"


def test_purge_is_scoped_to_the_owner_and_to_declared_streams(user, sandbox, client):
    stranger = make_user("eve@example.com")
    client.force_login(stranger)
    url = reverse("consent:purge_stream")
    assert client.post(url, {"connection": sandbox.pk, "stream": "tracks"}).status_code == 404
    client.force_login(user)
    response = client.post(url, {"connection": sandbox.pk, "stream": "nope"})
    assert response.status_code == 400 and views.UNKNOWN_STREAM in response.content.decode()
    assert client.post(url, {"connection": "x", "stream": "tracks"}).status_code == 400
    assert client.get(url).status_code == 405
    assert ExternalItem.objects.count() == 3
