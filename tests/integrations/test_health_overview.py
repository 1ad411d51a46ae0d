"""The staff health overview (admin), its figures against the database, and the daily digest."""

import re
import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.mail.backends import locmem
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
            last_success_at=NOW - timedelta(minutes=5), last_sync_at=NOW - timedelta(minutes=5),
            health_state="healthy")
        failing = make_connection(bob, "spotify", external_id="ext-2",
                                  access_token="AT-fake-access-0002")
        Connection.objects.filter(pk=failing.pk).update(
            consecutive_failures=4, last_error="Spotify is having problems (HTTP 503)",
            last_sync_at=NOW, health_state="failing")
        reauth = make_connection(alice, "sandbox", external_id="ext-3",
                                 status=Connection.Status.NEEDS_REAUTH,
                                 access_token="AT-fake-access-0003")
        Connection.objects.filter(pk=reauth.pk).update(health_state="needs_reconnect")
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
    assert all(e.code != "ancient" for e in overview.errors)  # older than 7 days
    assert ("sync", "spotify", "try_later", "A temporary problem: the next run tries again",
            3) in [(e.source, e.provider, e.code, e.what, e.count) for e in overview.errors]
    assert not any(TOKEN in e.what for e in overview.errors)
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


def test_health_is_counted_from_the_recorded_state_without_reading_credentials(world):
    """Counted in the database by (provider, health_state): no credential is read or decrypted,
    and a connection never recorded shows as such instead of being judged row by row."""
    make_connection(make_user("new@example.com"), "spotify", external_id="ext-new",
                    access_token="AT-fake-access-0009")  # health_state still blank
    # Judged now this one would be failing; the overview trusts what was recorded.
    Connection.objects.filter(pk=world["failing"].pk).update(health_state="degraded")
    with CaptureQueriesContext(db_connection) as queries:
        overview = health_overview(now=NOW, with_charts=False)
    assert not any("credential" in q["sql"].lower() for q in queries.captured_queries)
    states = {row.provider: {k: v for k, v in row.states.items() if v}
              for row in overview.health}
    assert states == {"spotify": {"healthy": 1, "degraded": 1, "unrecorded": 1},
                      "sandbox": {"needs_reconnect": 1}}
    assert ("unrecorded", "Not recorded yet") in overview.state_words


def test_the_recent_errors_query_uses_an_index_on_failed_runs_by_time(world):
    """top_errors filters on queued_at and a set error_code: an index serves it, so it does
    not scan every sync run ever recorded."""
    since = NOW - timedelta(days=7)
    query = SyncRun.objects.filter(queued_at__gte=since).exclude(error_code="").values("pk")
    sql, params = query.query.sql_with_params()
    with db_connection.cursor() as cursor:
        if db_connection.vendor == "postgresql":
            # A handful of rows: make the planner show the index it would use at scale.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "integrations_run_errors" in plan


def test_no_provider_wording_reaches_the_overview_or_the_digest(recipients, client, staff):
    """A provider's error text may name a person (AniList's GraphQL errors quote the user):
    only our code and its fixed description are shown and mailed."""
    leaky = "User 'alice_reads' (alice@example.com) not found in GraphQL query"
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            SyncRun.objects.create(connection=make_connection(
                make_user(f"ani-{_}@example.com"), "anilist", external_id=f"ani-{_}",
                access_token=f"AT-fake-ani-{_:04d}"), trigger="scheduled", status="failed",
                error_code="bad_provider_data", error_message=leaky)
        ApiCall.objects.create(provider="anilist", method="POST", host="graphql.anilist.co",
                               path="/", status_code=None, error="alice_reads not found")
        staff_digest_send()
        client.force_login(staff)
        page = client.get(URL).content.decode()
    body = mail.outbox[0].body
    assert "5 x sync anilist: bad_provider_data (The provider's answer was not what its API " \
        "promises)" in body
    for text in (body, page):
        assert "alice_reads" not in text and "GraphQL" not in text
        assert "alice@example.com" not in text


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
    assert "try_later" in body and "A temporary problem: the next run tries again" in body
    assert "Spotify is having problems" not in body  # provider wording is not shown
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
    """staff@ has the permission itself, ops@ through a group, root@ is a superuser; the others
    may not receive it: inactive, no address, or staff without the permission."""
    ops = make_user("ops@example.com")
    ops.is_staff = True
    ops.save()
    group = Group.objects.create(name="operators")
    group.permissions.add(Permission.objects.get(codename="view_healthoverview"))
    ops.groups.add(group)
    root = make_user("root@example.com")
    root.is_staff = root.is_superuser = True
    root.save()
    gone = make_user("gone@example.com")
    gone.is_staff, gone.is_active = True, False
    gone.save()
    gone.user_permissions.add(Permission.objects.get(codename="view_healthoverview"))
    blank = make_user("blank@example.com")
    blank.is_staff, blank.email = True, ""
    blank.save()
    blank.user_permissions.add(Permission.objects.get(codename="view_healthoverview"))
    nosy = make_user("nosy@example.com")  # staff, but may not see the overview
    nosy.is_staff = True
    nosy.save()
    not_staff = make_user("member@example.com")
    not_staff.user_permissions.add(Permission.objects.get(codename="view_healthoverview"))
    return ["ops@example.com", "root@example.com", "staff@example.com"]


def test_the_digest_goes_once_a_day_to_active_staff_who_may_see_the_overview(recipients):
    with time_machine.travel(NOW, tick=False):
        assert staff_digest_send() == 3
        assert staff_digest_send() == 0  # the same day: nothing more
        assert send_staff_health_digest() == 0
    assert sorted(to for message in mail.outbox for to in message.to) == recipients
    assert all(len(message.to) == 1 for message in mail.outbox)  # nobody sees the others
    row = StaffDigest.objects.get()
    assert row.day == NOW.date() and row.finished_at and row.sent_to == recipients
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert send_staff_health_digest() == 3
    assert len(mail.outbox) == 6


def test_the_digest_waits_for_the_configured_hour(recipients, settings):
    settings.THINKALIKE_DIGEST_HOUR = 10
    with time_machine.travel(NOW, tick=False):  # 09:00 UTC
        assert staff_digest_send() == 0
    assert mail.outbox == [] and not StaffDigest.objects.exists()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert staff_digest_send() == 3


def test_the_digest_holds_the_figures_and_nothing_personal(recipients):
    with time_machine.travel(NOW, tick=False):
        staff_digest_send()
    message = mail.outbox[0]
    assert message.subject == "ThinkAlike connected services: health on 2026-11-25"
    body = message.body
    assert ("healthy 1, degraded 0, failing 1, needs reconnecting 1, not checked 0, "
            "not recorded yet 0") in body
    assert "Spotify: healthy 1, failing 1 (all 2)" in body
    assert ("3 x sync spotify: try_later (A temporary problem: the next run tries again)"
            in body)
    assert "2 x request spotify: HTTP 503 (Provider error)" in body
    assert "Spotify is having problems" not in body
    assert "Spotify: 50 requests, 8 errors, 5 rate-limit waits (5.5 s)" in body
    assert "Spotify: 75% of 40 answers, 0 errors" in body
    assert "/admin/integrations/healthoverview/" in body
    for private in (TOKEN, "AT-fake-access-0002", "alice@example.com", "bob@example.com",
                    "label-ext-1"):
        assert private not in body
    assert not re.search(r"[\w.]+@example\.com", body)


class FlakyBackend(locmem.EmailBackend):
    """Delivers like locmem, but refuses the addresses in ``refuse`` (an SMTP error)."""

    refuse: set[str] = set()

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & self.refuse:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"no")})
            super().send_messages([message])
        return len(messages)


FLAKY = "tests.integrations.test_health_overview.FlakyBackend"


def test_a_failure_building_the_digest_loses_nothing(recipients, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(digest, "health_overview", broken)
    with time_machine.travel(NOW, tick=False), pytest.raises(RuntimeError):
        staff_digest_send()
    assert mail.outbox == [] and not StaffDigest.objects.filter(
        finished_at__isnull=False).exists()
    monkeypatch.undo()
    # Nothing was claimed: a retry at once (not only after a lease ran out) sends it.
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert send_staff_health_digest() == 3
    assert len(mail.outbox) == 3


def test_a_partial_send_is_completed_for_the_others_only(recipients, settings, monkeypatch):
    settings.EMAIL_BACKEND = FLAKY
    monkeypatch.setattr(FlakyBackend, "refuse", {"root@example.com"})
    with time_machine.travel(NOW, tick=False), pytest.raises(smtplib.SMTPException):
        staff_digest_send()
    assert [m.to for m in mail.outbox] == [["ops@example.com"]]  # sent before the error
    row = StaffDigest.objects.get()
    assert row.sent_to == ["ops@example.com"] and row.finished_at is None
    monkeypatch.setattr(FlakyBackend, "refuse", set())
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert send_staff_health_digest() == 2
        assert send_staff_health_digest() == 0
    assert sorted(m.to[0] for m in mail.outbox) == recipients  # each exactly once
    assert StaffDigest.objects.get().finished_at is not None


def test_a_run_holding_the_day_is_not_doubled_but_a_dead_one_is_taken_over(recipients):
    StaffDigest.objects.create(day=NOW.date(), claimed_until=NOW + timedelta(minutes=10),
                               sent_to=["ops@example.com"])
    with time_machine.travel(NOW, tick=False):
        assert staff_digest_send() == 0  # another worker is sending
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert staff_digest_send() == 2  # its lease ran out: the others get it
    assert sorted(m.to[0] for m in mail.outbox) == ["root@example.com", "staff@example.com"]


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


@pytest.mark.django_db
def test_the_cache_figures_outlive_a_disconnect():
    """A disconnect (or an account deletion) keeps the staff's cache hit figures: the rows stay,
    with the provider and no link to the person."""
    from integrations.health_report import cache_by_provider
    from integrations.services import connection_disconnect

    today = timezone.now().date()
    gone = make_connection(make_user("leaving@example.com"), "stripe", expires_in=None)
    ProxyStat.objects.create(connection=gone, day=today, hits=8, misses=2)
    before = {row.provider: (row.hits, row.answered) for row in cache_by_provider(since=today)}

    connection_disconnect(connection=gone)

    after = {row.provider: (row.hits, row.answered) for row in cache_by_provider(since=today)}
    assert before == after == {"stripe": (8, 10)}
    assert ProxyStat.objects.get().connection_id is None
