"""The staff health overview (admin), its figures against the database, and the daily digest."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations import digest
from integrations.digest import staff_digest_send
from integrations.health_report import health_overview
from integrations.models import ApiCall, Connection, ProxyStat, StaffDigest, SyncRun, UsageDay
from integrations.tasks import send_staff_health_digest
from tests.factories import make_connection, make_user

URL = "/admin/integrations/healthoverview/"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TOKEN = "AT-fake-access-0001"


@pytest.fixture
def world(db):
    """Spotify: one healthy, one failing; sandbox: one needing reconnecting. Errors, waits,
    proxy answers; and an old error outside the 7 days."""
    with time_machine.travel(NOW, tick=False):
        alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
        healthy = make_connection(alice, "spotify")
        Connection.objects.filter(pk=healthy.pk).update(
            last_success_at=NOW - timedelta(minutes=5), last_sync_at=NOW - timedelta(minutes=5))
        failing = make_connection(bob, "spotify", external_id="ext-2",
                                  access_token="AT-fake-access-0002")
        Connection.objects.filter(pk=failing.pk).update(
            consecutive_failures=4, last_error="Spotify is having problems (HTTP 503)",
            last_sync_at=NOW)
        reauth = make_connection(alice, "sandbox", external_id="ext-3",
                                 status=Connection.Status.NEEDS_REAUTH,
                                 access_token="AT-fake-access-0003")
        for _ in range(3):
            SyncRun.objects.create(connection=failing, trigger="scheduled", status="failed",
                                   error_code="try_later",
                                   error_message="Spotify is having problems (HTTP 503)")
        SyncRun.objects.create(connection=reauth, trigger="scheduled", status="failed",
                               error_code="reauth",
                               error_message=f"refused access_token={TOKEN}")
        for _ in range(2):
            ApiCall.objects.create(connection=failing, provider="spotify", method="GET",
                                   host="api.spotify.com", path="/v1/me", status_code=503)
        ApiCall.objects.create(connection=healthy, provider="spotify", method="GET",
                               host="api.spotify.com", path="/v1/me", status_code=200)
        today = NOW.date()
        UsageDay.objects.create(connection=healthy, provider="spotify", day=today,
                                requests=40, errors=0, rate_limit_waits=3, wait_seconds=4.5)
        UsageDay.objects.create(connection=failing, provider="spotify",
                                day=today - timedelta(days=2), requests=10, errors=8,
                                rate_limit_waits=2, wait_seconds=1.0)
        UsageDay.objects.create(connection=reauth, provider="sandbox",
                                day=today - timedelta(days=20), requests=99,
                                rate_limit_waits=50)  # charted, not in the 7-day figures
        ProxyStat.objects.create(connection=healthy, day=today, hits=30, misses=10)
        ProxyStat.objects.create(connection=reauth, day=today - timedelta(days=1), hits=0,
                                 misses=4, errors=1)
    with time_machine.travel(NOW - timedelta(days=9), tick=False):
        old = SyncRun.objects.create(connection=failing, trigger="scheduled", status="failed",
                                     error_code="ancient", error_message="long ago")
    assert old.queued_at < NOW - timedelta(days=8)
    return {"alice": alice, "bob": bob, "healthy": healthy, "failing": failing,
            "reauth": reauth}


def test_the_overview_figures_match_the_database(world):
    overview = health_overview(now=NOW)
    states = {row.provider: {k: v for k, v in row.states.items() if v}
              for row in overview.health}
    assert states == {"spotify": {"healthy": 1, "failing": 1},
                      "sandbox": {"needs_reconnect": 1}}
    assert overview.totals["healthy"] == 1 and overview.totals["idle"] == 0
    errors = [(e.source, e.provider, e.count) for e in overview.errors]
    assert errors[0] == ("sync", "spotify", 3)
    assert ("request", "spotify", 2) in errors and ("sync", "sandbox", 1) in errors
    assert all("ancient" not in e.what for e in overview.errors)  # older than 7 days
    assert not any(TOKEN in e.what for e in overview.errors)  # redacted
    usage = {row.provider: (row.requests, row.errors, row.rate_limit_waits, row.wait_seconds)
             for row in overview.usage}
    assert usage == {"spotify": (50, 8, 5, 5.5)}
    cache = {row.provider: (row.hits, row.answered, row.hit_rate_text) for row in overview.cache}
    assert cache == {"spotify": (30, 40, "75%"), "sandbox": (0, 4, "0%")}
    charts = {item.provider: item.chart for item in overview.charts}
    assert set(charts) == {"spotify", "sandbox"}
    sandbox_rows = {row[0]: row for row in charts["sandbox"].rows}
    day = (NOW.date() - timedelta(days=20)).isoformat()
    assert sandbox_rows[day][1:] == ["99", "0", "50", "0"]
    assert len(charts["spotify"].rows) == 30


def test_the_overview_takes_the_same_number_of_queries_whatever_the_size(world):
    with CaptureQueriesContext(db_connection) as small:
        health_overview(now=NOW)
    for n in range(15):
        extra = make_connection(make_user(f"more-{n}@example.com"), "spotify",
                                external_id=f"more-{n}",
                                access_token=f"AT-fake-more-{n:04d}")
        UsageDay.objects.create(connection=extra, provider="spotify", day=NOW.date(),
                                requests=n)
        SyncRun.objects.create(connection=extra, trigger="scheduled", status="failed",
                               error_code=f"code-{n}", error_message="x")
    with CaptureQueriesContext(db_connection) as large:
        health_overview(now=NOW)
    assert len(large.captured_queries) == len(small.captured_queries) <= 8


@pytest.fixture
def staff(db):
    user = make_user("staff@example.com")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_healthoverview"))
    return user


def test_staff_with_the_permission_see_the_overview(client, world, staff):
    client.force_login(staff)
    with time_machine.travel(NOW, tick=False):
        response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Connections by health" in body
    # Waits per provider, then the usage of spotify and of sandbox.
    assert body.count('class="svg-chart"') == 3
    assert "Spotify is having problems (HTTP 503)" in body
    assert "75%" in body
    assert TOKEN not in body and "AT-fake-access-0002" not in body
    assert "alice@example.com" not in body and "bob@example.com" not in body
    # Linked from the admin index.
    assert URL in client.get(reverse("admin:index")).content.decode()


def test_people_who_are_not_staff_are_sent_to_log_in(client, world):
    client.force_login(world["alice"])
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.logout()
    assert client.get(URL).status_code == 302


def test_staff_without_the_permission_are_refused(client, world, staff):
    staff.user_permissions.clear()
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("admin:index")).content.decode()


# --- the daily digest -----------------------------------------------------------------------

@pytest.fixture
def recipients(world, staff):
    other = make_user("ops@example.com")
    other.is_staff = True
    other.save()
    gone = make_user("gone@example.com")
    gone.is_staff, gone.is_active = True, False
    gone.save()
    blank = make_user("blank@example.com")
    blank.is_staff, blank.email = True, ""
    blank.save()
    return ["ops@example.com", "staff@example.com"]


def test_the_digest_goes_to_active_staff_with_an_email_once_a_day(recipients):
    with time_machine.travel(NOW, tick=False):
        assert staff_digest_send() == 2
        assert staff_digest_send() == 0  # the same day: nothing more
        assert send_staff_health_digest() == 0
    assert sorted(to for message in mail.outbox for to in message.to) == recipients
    assert all(len(message.to) == 1 for message in mail.outbox)  # nobody sees the others
    assert StaffDigest.objects.get().day == NOW.date()
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert send_staff_health_digest() == 2
    assert len(mail.outbox) == 4


def test_the_digest_holds_the_figures_and_nothing_personal(recipients):
    with time_machine.travel(NOW, tick=False):
        staff_digest_send()
    message = mail.outbox[0]
    assert message.subject == "ThinkAlike connected services: health on 2026-11-25"
    body = message.body
    assert "healthy 1, degraded 0, failing 1, needs reconnecting 1, not checked 0" in body
    assert "Spotify: healthy 1, failing 1 (all 2)" in body
    assert "3 x sync spotify: try_later: Spotify is having problems (HTTP 503)" in body
    assert "Spotify: 50 requests, 8 errors, 5 rate-limit waits (5.5 s)" in body
    assert "Spotify: 75% of 40 answers, 0 errors" in body
    assert "/admin/integrations/healthoverview/" in body
    for private in (TOKEN, "AT-fake-access-0002", "alice@example.com", "bob@example.com",
                    "label-ext-1"):
        assert private not in body
    assert not re.search(r"[\w.]+@example\.com", body)


def test_a_failed_send_gives_the_day_back(recipients, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("smtp away")

    monkeypatch.setattr(digest, "send_mass_mail", broken)
    with time_machine.travel(NOW, tick=False), pytest.raises(OSError):
        staff_digest_send()
    assert not StaffDigest.objects.exists()
    monkeypatch.undo()
    with time_machine.travel(NOW, tick=False):
        assert staff_digest_send() == 2


def test_no_staff_no_digest(world):
    assert staff_digest_send(now=timezone.now()) == 0
    assert mail.outbox == [] and not StaffDigest.objects.exists()


def test_the_entry_has_no_per_connection_page_of_its_own(client, world, staff):
    client.force_login(staff)
    url = reverse("admin:integrations_healthoverview_change", args=[world["healthy"].pk])
    body = client.get(url).content.decode()
    assert "Connections by health" in body and "label-ext-1" not in body
    staff.user_permissions.clear()
    assert client.get(url).status_code == 403
