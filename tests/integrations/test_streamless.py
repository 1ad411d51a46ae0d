"""A provider with no data to sync (a Telegram bot, a custom API) is connected for its actions:
no run is ever queued for it, and its pages offer no sync."""

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import Connection, SyncRun
from integrations.providers.registry import PROVIDERS, syncing_provider_slugs
from integrations.sync import sync_dispatch_due, sync_request
from integrations.views import NOTHING_TO_SYNC
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

STREAMLESS = sorted(slug for slug, p in PROVIDERS.items() if not p.streams)


def test_the_catalog_has_streamless_providers_and_they_do_not_sync():
    assert {"telegram", "custom_api"} <= set(STREAMLESS)
    assert not set(STREAMLESS) & set(syncing_provider_slugs())


@pytest.mark.parametrize("slug", STREAMLESS)
def test_no_run_is_ever_queued(slug):
    connection = make_connection(make_user(), slug, access_token="", refresh_token="",
                                 expires_in=None)
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=timezone.now())

    assert sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None
    assert sync_dispatch_due() == 0
    assert not SyncRun.objects.exists()


def test_connecting_leaves_it_never_due(settings, mocked_responses,
                                        django_capture_on_commit_callbacks):
    from integrations.providers.registry import get_provider
    from integrations.services import connection_connect_with_form

    token = "123456789:AAFdemoStandInToken000000000000"
    mocked_responses.get(f"https://api.telegram.org/bot{token}/getMe", json={
        "ok": True, "result": {"id": 123456789, "is_bot": True, "first_name": "Hub",
                               "username": "hub_bot"}})
    connection = connection_connect_with_form(user=make_user(), provider=get_provider("telegram"),
                                              fields={"bot_token": token})
    assert connection.next_sync_at is None
    assert not SyncRun.objects.exists()


def test_the_pages_offer_no_sync(client):
    user = make_user()
    connection = make_connection(user, "telegram", access_token="", refresh_token="",
                                 expires_in=None)
    client.force_login(user)

    catalog = client.get(reverse("integrations:connected_services")).content.decode()
    detail = client.get(reverse("integrations:connection_detail", args=[connection.pk]))
    answer = client.post(reverse("integrations:sync_now", args=[connection.pk]), follow=True)

    assert "Reads none of your data" in catalog
    assert reverse("integrations:sync_now", args=[connection.pk]) not in catalog
    assert reverse("integrations:sync_now", args=[connection.pk]) not in detail.content.decode()
    assert "What is synced" not in detail.content.decode()
    assert NOTHING_TO_SYNC.format(name="Telegram") in answer.content.decode()
    assert not SyncRun.objects.exists()


def test_a_provider_read_only_through_the_dashboard_says_so(client):
    user = make_user()
    client.force_login(user)
    catalog = client.get(reverse("integrations:connected_services")).content.decode()
    plausible = catalog.split("Plausible Analytics", 1)[1].split('class="actions"', 1)[0]
    assert "Stores nothing: read only when" in plausible
    assert "Reads none of your data" not in plausible
