"""/api/v1/providers/: the catalog with the caller's state, and a provider's connect fields."""

import pytest
from django.utils import timezone

from integrations.models import Connection
from integrations.providers.registry import PROVIDERS
from tests.factories import make_connection, make_user

from .conftest import error_code
from .queries import queries_of

pytestmark = pytest.mark.django_db


def by_slug(response) -> dict[str, dict]:
    return {row["slug"]: row for row in response.json()["results"]}


def test_the_catalog_lists_every_provider_with_the_callers_state(api, user, other_user):
    connected = make_connection(user, "spotify")
    Connection.objects.filter(pk=connected.pk).update(last_sync_at=timezone.now())
    make_connection(user, "github", status=Connection.Status.NEEDS_REAUTH)
    make_connection(other_user, "telegram")  # someone else's: not the caller's state

    response = api.get("/api/v1/providers/")

    assert response.status_code == 200
    rows = by_slug(response)
    assert list(rows) == sorted(PROVIDERS)
    assert rows["spotify"]["status"] == "connected"
    assert rows["spotify"]["connection_id"] == connected.pk
    assert rows["spotify"]["last_sync"] is not None
    assert rows["spotify"]["needs_oauth"] is True and rows["spotify"]["auth_kind"] == "oauth2"
    assert rows["github"]["status"] == "needs_reauth"
    assert (rows["telegram"]["status"], rows["telegram"]["connection_id"]) == ("disconnected",
                                                                               None)
    assert rows["telegram"]["needs_oauth"] is False
    assert rows["telegram"]["actions"] == [{"name": "send_message", "label": "Send a message"}]
    assert rows["stripe"]["proxy_available"] is (PROVIDERS["stripe"].proxy is not None)
    assert {s["name"] for s in rows["sandbox"]["streams"]} == {
        s.name for s in PROVIDERS["sandbox"].streams}


def test_an_unreadable_credential_shows_as_needs_reauth(api, user, fernet_keys):
    make_connection(user, "spotify")
    fernet_keys(["another-key-entirely"])
    assert by_slug(api.get("/api/v1/providers/"))["spotify"]["status"] == "needs_reauth"


def test_the_catalog_is_paged_by_slug_both_ways(api):
    first = api.get("/api/v1/providers/?page_size=4").json()
    assert [r["slug"] for r in first["results"]] == sorted(PROVIDERS)[:4]
    assert first["previous"] is None and first["next"]
    second = api.get(first["next"]).json()
    assert [r["slug"] for r in second["results"]] == sorted(PROVIDERS)[4:8]
    back = api.get(second["previous"]).json()
    assert [r["slug"] for r in back["results"]] == sorted(PROVIDERS)[:4]
    assert back["previous"] is None
    last = api.get(api.get(second["next"]).json()["previous"]).json()
    assert [r["slug"] for r in last["results"]] == sorted(PROVIDERS)[4:8]


def test_a_forged_cursor_is_404_not_500(api):
    response = api.get("/api/v1/providers/?cursor=not-base64!")
    assert response.status_code == 404


def test_the_catalog_needs_credentials(anon):
    assert anon.get("/api/v1/providers/").status_code == 401
    assert anon.get("/api/v1/providers/stripe/").status_code == 401


def test_a_provider_lists_the_fields_its_connect_asks_for(api):
    response = api.get("/api/v1/providers/custom_api/")
    assert response.status_code == 200
    data = response.json()
    declared = PROVIDERS["custom_api"].connect_fields()
    assert [f["name"] for f in data["connect_fields"]] == [f.name for f in declared]
    assert [f["secret"] for f in data["connect_fields"]] == [f.secret for f in declared]
    assert any(f["choices"] for f in data["connect_fields"])  # the header/auth choice


def test_an_oauth_provider_asks_for_no_fields_and_declares_its_actions(api):
    data = api.get("/api/v1/providers/anilist/").json()
    assert data["connect_fields"] == []
    declared = PROVIDERS["anilist"].actions[0]
    action = data["action_declarations"][0]
    assert action["name"] == declared.name
    assert [f["name"] for f in action["fields"]] == [f.name for f in declared.fields]


def test_an_unknown_provider_is_404(api):
    response = api.get("/api/v1/providers/nope/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_the_catalog_costs_the_same_queries_however_many_connections(api, user):
    make_connection(user, "spotify")
    one = queries_of(api, "/api/v1/providers/")
    for n, slug in enumerate(sorted(PROVIDERS)):
        if slug != "spotify":
            make_connection(user, slug, external_id=f"ext-{n}")
    for n in range(20):  # other people's connections cost nothing either
        make_connection(make_user(f"p{n}@example.com"), "spotify", external_id=f"o-{n}")
    assert queries_of(api, "/api/v1/providers/") == one
