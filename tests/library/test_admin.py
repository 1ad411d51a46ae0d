"""The library's admin pages render, read-only: the sync services write these rows."""

import html
import json
import re

import pytest
from django.urls import reverse

from integrations.models import ExternalItem
from library.models import (
    LibraryConflict,
    LibraryEntry,
    LibraryPush,
    ListSyncSettings,
    MediaTitle,
)
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db
MODELS = [MediaTitle, LibraryEntry, LibraryConflict, LibraryPush]


@pytest.fixture
def entry():
    user = make_user()
    connection = make_connection(user, "anilist", access_token="AT-library-secret-0001")
    title = MediaTitle.objects.create(kind="anime", titles={"en": "Cowboy Bebop"}, mal_id=1)
    entry = LibraryEntry.objects.create(user=user, title=title, status="completed", score=90)
    ExternalItem.objects.create(connection=connection, kind="anime", external_id="1",
                                title="Cowboy Bebop", content_hash="h", library_entry=entry,
                                synced={"status": "COMPLETED", "score": 90})
    LibraryConflict.objects.create(entry=entry, field="score", local_value=90, remote_value=70,
                                   winner="local", provider="anilist")
    LibraryPush.objects.create(entry=entry, connection=connection, values={"score": 90})
    return entry


def url(model, view, *args):
    return reverse(f"admin:library_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_pages_render_read_only(admin_client, entry, model):
    obj = model.objects.get()

    listing = admin_client.get(url(model, "changelist")).content.decode()
    page = admin_client.get(url(model, "change", obj.pk)).content.decode()

    assert "Cowboy Bebop" in listing and "Cowboy Bebop" in page
    assert 'name="_save"' not in page
    assert "AT-library-secret-0001" not in listing + page
    assert admin_client.get(url(model, "add")).status_code == 403


def test_an_entry_shows_its_services_and_conflicts(admin_client, entry):
    page = admin_client.get(url(LibraryEntry, "change", entry.pk)).content.decode()

    def cell(field: str) -> str:
        return re.search(rf'field-{field}">\s*<p>(.*?)</p>', page, re.S).group(1)

    # Compared as JSON: PostgreSQL's jsonb keeps its own key order.
    assert json.loads(html.unescape(cell("synced"))) == {"status": "COMPLETED", "score": 90}
    assert (cell("remote_value"), cell("provider")) == ("70", "anilist")  # the conflict


def test_list_sync_settings_render_read_only(admin_client, entry):
    connection = entry.external_items.get().connection
    row = ListSyncSettings.objects.create(connection=connection, sync_ratings=False)

    listing = admin_client.get(url(ListSyncSettings, "changelist")).content.decode()
    page = admin_client.get(url(ListSyncSettings, "change", row.pk)).content.decode()

    assert "AniList" in listing and "AniList" in page
    assert 'name="_save"' not in page
    assert "AT-library-secret-0001" not in listing + page
    assert admin_client.get(url(ListSyncSettings, "add")).status_code == 403
