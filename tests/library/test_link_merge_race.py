"""A library link against a merge of the person's other list service (PostgreSQL): the link locks
the connection row FOR NO KEY UPDATE; the merge holds its chunk's entries FOR UPDATE and
writes a push to this connection. With a plain FOR UPDATE the two deadlock: Django's foreign
keys are DEFERRABLE INITIALLY DEFERRED, and each commit's check takes FOR KEY SHARE on the row
the other holds FOR UPDATE."""
import threading

import pytest
from django.db import connection as db
from django.db import connections, transaction

from library import linking
from library.models import LibraryEntry, LibraryPush
from tests.library.builders import linked_entry, list_item, list_person

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(db.vendor != "postgresql", reason="row locks")]


def test_a_link_and_the_other_services_merge_do_not_deadlock(monkeypatch):
    person = list_person()
    anilist, mal = person["anilist"], person["myanimelist"]
    f = linked_entry(anilist, "1", status="CURRENT", mal_id=1)      # A item already linked
    e = linked_entry(mal, "2", status="watching", mal_id=2)          # entry made by B
    list_item(anilist, "2", status="CURRENT", mal_id=2)              # A item, not linked yet
    linked, pushed = threading.Event(), threading.Event()
    real = linking._link_chunk
    errors = []

    def held(connection, items):
        result = real(connection, items)       # item -> entry e written, not committed
        linked.set()
        pushed.wait(timeout=10)
        return result

    def link():
        try:
            linking.library_link_connection(connection=anilist)
        except Exception as exc:
            errors.append(("link", exc))
        finally:
            connections.close_all()

    def merge_of_mal():   # what _locked_chunk + batch.write of the MAL merge do
        try:
            with transaction.atomic():
                list(LibraryEntry.objects.select_for_update().filter(pk__in=[e.pk, f.pk]))
                linked.wait(timeout=10)
                LibraryPush.objects.create(entry=f, connection=anilist, values={"status": "x"})
                pushed.set()
        except Exception as exc:
            errors.append(("merge", exc))
        finally:
            connections.close_all()

    monkeypatch.setattr(linking, "_link_chunk", held)
    threads = [threading.Thread(target=link), threading.Thread(target=merge_of_mal)]
    threads[1].start()
    threads[0].start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
