"""A merge and a person's edit of the same entry at once (CI's PostgreSQL leg: threads hold
their own connections, so the row locks are raced for real): the edit is never lost."""

import threading

import pytest
from django.db import connection as db
from django.db import connections

from library import batch as batch_module
from library.models import LibraryEntry
from library.services import library_entry_update
from tests.library.test_sync import T0, item, make_connection, make_user, pulled

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql",
                       reason="row locks are raced for real only on PostgreSQL"),
]


def test_an_edit_made_while_a_merge_holds_the_entry_is_applied_after_it(monkeypatch):
    user = make_user()
    mal = make_connection(user, "myanimelist", external_id="m")
    mal_item = item(mal, "21", status="watching", progress=10, score=8)
    from library.pull import library_pull_merge

    library_pull_merge(connection=mal)
    entry = LibraryEntry.objects.get()
    inside, editing = threading.Event(), threading.Event()
    real = batch_module.Batch.reconcile
    errors = []

    def held(self, *args, **kwargs):  # the merge has its locks: let the edit try now
        inside.set()
        editing.wait(timeout=10)
        threading.Event().wait(0.3)  # give the edit time to reach the lock (no assertion on it)
        return real(self, *args, **kwargs)

    def edit():
        try:
            inside.wait(timeout=10)
            editing.set()
            library_entry_update(entry=entry, values={"progress": 12})
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    monkeypatch.setattr(batch_module.Batch, "reconcile", held)
    editor = threading.Thread(target=edit)
    editor.start()
    pulled(mal_item, score=6, updated_at=T0 + 100)  # MAL's merge: the score changed there
    editor.join(timeout=30)
    assert not errors, errors
    entry.refresh_from_db()
    assert (entry.progress, entry.score) == (12, 60)  # both changes, neither lost
