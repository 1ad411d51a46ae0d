"""POST /api/v1/connections/{id}/purge/: one service's imported data goes, the connection
stays; the answer (checked against the schema) counts what went; another person's is 404."""

import pytest

from integrations.models import (
    AuditEvent,
    Connection,
    ExternalItem,
    Interest,
    SyncRun,
    UserInterest,
)
from integrations.services import PURGE_WHILE_SYNCING
from integrations.sync import sync_request
from library.models import LibraryEntry
from tests.factories import make_connection
from tests.library.builders import linked_entry

from .conftest import error_code

pytestmark = pytest.mark.django_db


def imported(connection, external_id="1"):
    entry = linked_entry(connection, external_id, status="CURRENT", mal_id=int(external_id))
    interest, _ = Interest.objects.get_or_create(slug="anime-action", label="Action",
                                                 category="anime")
    UserInterest.objects.create(user=connection.user, interest=interest, connection=connection,
                                weight=1.0, purpose="matching")
    return entry


def test_purge_deletes_the_imported_data_and_keeps_the_connection(api, user):
    connection = make_connection(user, "anilist")
    entry = imported(connection)

    response = api.post(f"/api/v1/connections/{connection.pk}/purge/")

    assert response.status_code == 200
    assert response.json() == {"items": 1, "interests": 1, "checkpoints": 0,
                               "library_entries": 1, "library_pushes": 0,
                               "library_conflicts": 0}
    assert not ExternalItem.objects.filter(connection=connection).exists()
    assert not UserInterest.objects.exists()
    assert not LibraryEntry.objects.filter(pk=entry.pk).exists()
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert api.get(f"/api/v1/connections/{connection.pk}/").status_code == 200
    assert AuditEvent.objects.filter(connection_ref=connection.pk, actor=f"api:{user.pk}",
                                     action=AuditEvent.Action.DATA_PURGED).exists()


def test_another_persons_connection_is_404_and_untouched(api, other_user):
    theirs = make_connection(other_user, "anilist", external_id="grace")
    entry = imported(theirs)

    response = api.post(f"/api/v1/connections/{theirs.pk}/purge/")

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert ExternalItem.objects.filter(connection=theirs).count() == 1
    assert LibraryEntry.objects.filter(pk=entry.pk).exists()


def test_a_purge_of_nothing_is_all_zeros(api, user):
    connection = make_connection(user, "sandbox")
    response = api.post(f"/api/v1/connections/{connection.pk}/purge/")
    assert response.status_code == 200
    assert set(response.json().values()) == {0}


def test_a_purge_while_a_sync_is_queued_is_409_and_deletes_nothing(api, user):
    connection = make_connection(user, "anilist")
    imported(connection)
    assert sync_request(connection=connection, trigger=SyncRun.Trigger.API) is not None

    response = api.post(f"/api/v1/connections/{connection.pk}/purge/")

    assert response.status_code == 409
    assert error_code(response) == "sync_running"
    assert response.json()["error"]["message"] == PURGE_WHILE_SYNCING
    assert ExternalItem.objects.filter(connection=connection).count() == 1
