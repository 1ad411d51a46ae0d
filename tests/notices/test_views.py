"""The notices page, its forms, and the unread count in the nav."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notices.models import Notice, NotificationSettings
from notices.selectors import email_on_health
from notices.views import MARKED_READ
from tests.factories import make_connection, make_user
from tests.notices.factories import make_notice

pytestmark = pytest.mark.django_db

PAGE = reverse("notices:notices")


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def test_the_page_lists_unread_first_each_linking_to_its_connection(client_in, user):
    connection = make_connection(user, "openlibrary", expires_in=None)
    old_unread = make_notice(user, connection, title="Old unread", minutes_ago=60)
    make_notice(user, connection, title="New read", read=True)
    make_notice(user, None, title="Gone one", minutes_ago=30, read=True)
    html = client_in.get(PAGE).content.decode()
    assert html.index("Old unread") < html.index("New read") < html.index("Gone one")
    assert reverse("integrations:connection_detail", args=[connection.pk]) in html
    assert f'id="notice-{old_unread.pk}"' in html
    assert "that connection has since been removed" in html


def test_other_peoples_notices_are_absent(client_in, user):
    other = make_user("grace@example.com")
    make_notice(other, make_connection(other, "openlibrary", expires_in=None),
                title="Grace's secret notice")
    response = client_in.get(PAGE)
    assert "Grace&#x27;s secret notice" not in response.content.decode()
    assert "Grace" not in response.content.decode()
    assert response.context["notices_unread"] == 0


def test_mark_all_read(client_in, user):
    mine = make_notice(user)
    other = make_user("grace@example.com")
    theirs = make_notice(other)
    response = client_in.post(reverse("notices:mark_all_read"), follow=True)
    assert MARKED_READ in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert client_in.get(reverse("notices:mark_all_read")).status_code == 405


def test_the_nav_shows_the_unread_count_with_one_query(client_in, user):
    for _ in range(3):
        make_notice(user)
    make_notice(user, read=True)
    page = reverse("consent:settings")
    html = client_in.get(page).content.decode()
    assert 'class="badge badge-health-failing nav-count"' in html
    assert ">3<span class=\"visually-hidden\"> unread</span>" in html

    with CaptureQueriesContext(db_connection) as ctx:
        client_in.get(page)
    counts = [q["sql"] for q in ctx.captured_queries if "notices_notice" in q["sql"]]
    assert len(counts) == 1 and "COUNT" in counts[0]

    Notice.objects.all().delete()
    assert "nav-count" not in client_in.get(page).content.decode()


def test_no_count_and_no_query_for_anonymous_visitors(client):
    with CaptureQueriesContext(db_connection) as ctx:
        html = client.get(reverse("account_login")).content.decode()
    assert "nav-count" not in html
    assert not [q for q in ctx.captured_queries if "notices_notice" in q["sql"]]


def test_the_email_preference_form(client_in, user):
    assert email_on_health(user_id=user.pk) is True
    assert 'id="id_email_on_health" checked' in client_in.get(PAGE).content.decode()
    client_in.post(reverse("notices:settings"), {})  # unticked
    assert NotificationSettings.objects.get(user=user).email_on_health is False
    assert 'id="id_email_on_health" checked' not in client_in.get(PAGE).content.decode()
    client_in.post(reverse("notices:settings"), {"email_on_health": "on"})
    assert email_on_health(user_id=user.pk) is True


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
