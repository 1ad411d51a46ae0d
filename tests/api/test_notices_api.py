"""/api/v1/notices/: the caller's own notices only, and marking them read."""

import pytest

from notices.models import Notice
from tests.factories import make_connection
from tests.notices.factories import make_notice

pytestmark = pytest.mark.django_db

URL = "/api/v1/notices/"


def test_the_list_holds_only_the_callers_notices(api, user, other_user):
    connection = make_connection(user, "openlibrary", expires_in=None)
    mine = make_notice(user, connection)
    make_notice(other_user, make_connection(other_user, "openlibrary", expires_in=None),
                title="FOREIGN is failing")
    response = api.get(URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [n["id"] for n in results] == [mine.pk]
    assert results[0] | {"created_at": None} == {
        "id": mine.pk, "kind": "failing", "state": "open", "title": "Open Library is failing",
        "body": "The last 3 syncs failed: down", "provider": "openlibrary",
        "connection": connection.pk, "created_at": None, "read_at": None, "resolved_at": None,
        "emailed": False,
    }
    assert "FOREIGN" not in response.content.decode()


def test_read_marks_only_the_callers_unread_notices(api, user, other_user):
    make_notice(user)
    make_notice(user, read=True)
    theirs = make_notice(other_user)
    response = api.post(URL + "read/")
    assert (response.status_code, response.json()) == (200, {"marked": 1})
    assert not Notice.objects.filter(user=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api.get(URL).json()["results"][0]["read_at"] is not None
