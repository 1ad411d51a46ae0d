"""A library link and a disconnect (or a purge) of the same connection at once (CI's
PostgreSQL leg: threads hold their own connections, so the row locks are raced for real): no
library entry is left that no item links."""

import threading

import pytest
from django.db import connection as db
from django.db import connections

from integrations.models import Connection, ExternalItem
from integrations.services import connection_data_purge, connection_disconnect
from library import linking
from library.models import LibraryEntry
from tests.library.test_sync import item, make_connection, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql",
                       reason="row locks are raced for real only on PostgreSQL"),
]


def _link_while(delete, monkeypatch) -> tuple[object, Connection]:
    """The link holds its chunk (items read, entries not yet created) when ``delete`` starts."""
    user = make_user()
    mal = make_connection(user, "myanimelist", external_id="m")
    for external_id in ("21", "22"):
        item(mal, external_id, status="watching", mal_id=int(external_id))
    inside, deleting = threading.Event(), threading.Event()
    real = linking._link_chunk
    errors = []

    def held(connection, items):  # the link's transaction is open: let the delete try now
        inside.set()
        deleting.wait(timeout=10)
        threading.Event().wait(0.3)  # give the delete time to reach the lock (no assertion)
        return real(connection, items)

    def link():
        try:
            linking.library_link_connection(connection=mal)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    monkeypatch.setattr(linking, "_link_chunk", held)
    linker = threading.Thread(target=link)
    linker.start()
    assert inside.wait(timeout=10)
    deleting.set()
    delete(mal)
    linker.join(timeout=30)
    assert not errors, errors
    return user, mal


def test_a_disconnect_during_a_link_leaves_no_orphan_entry(monkeypatch):
    user, mal = _link_while(lambda mal: connection_disconnect(connection=mal), monkeypatch)
    assert not Connection.objects.filter(pk=mal.pk).exists()
    assert not LibraryEntry.objects.filter(user=user).exists()


def test_a_purge_during_a_link_leaves_no_orphan_entry(monkeypatch):
    user, mal = _link_while(lambda mal: connection_data_purge(connection=mal), monkeypatch)
    assert not ExternalItem.objects.filter(connection=mal).exists()
    assert not LibraryEntry.objects.filter(user=user, external_items__isnull=True).exists()
