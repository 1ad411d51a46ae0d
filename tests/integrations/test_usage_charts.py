"""The person's charts: usage and sync history on the connection page, interests on My
interests. Only their own figures, at a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING, PURPOSES
from consent.services import consent_set
from integrations.health_report import interest_charts
from integrations.models import Interest, ProxyStat, SyncRun, UsageDay, UserInterest
from integrations.selectors import interests_for_purpose
from tests.factories import make_connection, make_user


@pytest.fixture
def alice(db):
    return make_user("alice@example.com")


@pytest.fixture
def mine(alice):
    return make_connection(alice, "spotify")


@pytest.fixture
def theirs(db):
    return make_connection(make_user("bob@example.com"), "spotify", external_id="bob-1",
                           access_token="AT-fake-bob-0001")


def add_usage(connection, *, days: int, requests: int, errors: int = 0, waits: int = 0,
              hits: int = 0):
    today = timezone.now().date()
    for age in range(days):
        UsageDay.objects.create(connection=connection, provider=connection.provider,
                                day=today - timedelta(days=age), requests=requests,
                                errors=errors, rate_limit_waits=waits)
        ProxyStat.objects.create(connection=connection, day=today - timedelta(days=age),
                                 hits=hits)


def add_runs(connection, count: int, *, fetched: int, created: int):
    now = timezone.now()
    for n in range(count):
        SyncRun.objects.create(connection=connection, trigger="scheduled", status="succeeded",
                               started_at=now - timedelta(hours=n, seconds=42),
                               finished_at=now - timedelta(hours=n), fetched=fetched,
                               created=created)


def chart_rows(response, name):
    return response.context[name].rows


def test_the_connection_page_charts_its_own_usage_and_syncs(client, alice, mine, theirs):
    add_usage(mine, days=3, requests=12, errors=2, waits=1, hits=5)
    add_usage(theirs, days=3, requests=777, errors=666, waits=555, hits=444)
    add_runs(mine, 2, fetched=31, created=7)
    add_runs(theirs, 2, fetched=9191, created=8181)
    client.force_login(alice)
    response = client.get(reverse("integrations:connection_detail", args=[mine.pk]))
    body = response.content.decode()
    assert body.count('class="svg-chart"') == 3
    assert "Usage and sync history" in body
    today = timezone.now().date().isoformat()
    assert {row[0]: row[1:] for row in chart_rows(response, "usage_chart")}[today] == [
        "12", "2", "1", "5"]
    assert len(chart_rows(response, "usage_chart")) == 30
    items = response.context["sync_charts"].items
    assert [row[1:] for row in items.rows] == [["31", "7"], ["31", "7"]]
    assert response.context["sync_charts"].duration.rows[0][1] == "42"
    for other in ("777", "666", "555", "444", "9191", "8181"):
        assert f">{other}<" not in body


def test_another_persons_connection_page_is_a_404(client, alice, theirs):
    client.force_login(alice)
    assert client.get(
        reverse("integrations:connection_detail", args=[theirs.pk])).status_code == 404


def test_a_new_connection_shows_no_data_charts(client, alice, mine):
    client.force_login(alice)
    body = client.get(reverse("integrations:connection_detail", args=[mine.pk])).content.decode()
    assert body.count("No data") >= 3


def queries_for(client, url) -> int:
    with CaptureQueriesContext(db_connection) as counted:
        assert client.get(url).status_code == 200
    return len(counted.captured_queries)


def test_the_connection_page_takes_constant_queries(client, alice, mine):
    client.force_login(alice)
    url = reverse("integrations:connection_detail", args=[mine.pk])
    add_usage(mine, days=1, requests=1)
    add_runs(mine, 1, fetched=1, created=1)
    few = queries_for(client, url)
    UsageDay.objects.all().delete()
    ProxyStat.objects.all().delete()
    add_usage(mine, days=30, requests=3)
    add_runs(mine, 40, fetched=2, created=1)
    assert queries_for(client, url) == few


def make_interest(connection, label: str, purpose: str, weight: float):
    interest, _ = Interest.objects.get_or_create(
        slug=label.lower().replace(" ", "-"), defaults={"label": label, "category": "genre"})
    UserInterest.objects.create(user=connection.user, interest=interest, connection=connection,
                                purpose=purpose, weight=weight)


def test_my_interests_charts_the_strongest_per_purpose_as_consent_allows(
        client, alice, mine, theirs):
    consent_set(user=alice, purpose=MATCHING, granted=True)
    for n in range(12):
        make_interest(mine, f"Genre {n:02d}", MATCHING, weight=(n + 1) / 12)
    make_interest(mine, "Hidden jazz", COMMUNITY_RECOMMENDATION, 1.0)  # consent off
    make_interest(theirs, "Bobs <b>secret</b> taste", MATCHING, 1.0)
    client.force_login(alice)
    response = client.get(reverse("integrations:interests"))
    charts = response.context["charts"]
    assert [item.purpose for item in charts] == [MATCHING]
    rows = charts[0].chart.rows
    assert len(rows) == 10  # the top ten
    assert rows[0] == ["Genre 11", "100%"] and rows[-1] == ["Genre 02", "25%"]
    body = response.content.decode()
    assert body.count('class="chart-bar"') == 10
    assert f"Top interests for {PURPOSES[MATCHING].name}" in body
    # Consent off for that purpose: no chart shows it (the table below still lists it).
    assert not any("Hidden jazz" in item.chart.markup for item in charts)
    assert "secret" not in body


def test_two_interests_with_one_label_are_two_bars_as_for_matching(client, alice, mine):
    """Grouped by slug, as interests_for_purpose hands them out; the label is for display."""
    consent_set(user=alice, purpose=MATCHING, granted=True)
    for slug, weight in (("music-jazz", 0.9), ("book-jazz", 0.4)):
        interest = Interest.objects.create(slug=slug, label="Jazz", category="genre")
        UserInterest.objects.create(user=alice, interest=interest, connection=mine,
                                    purpose=MATCHING, weight=weight)
    assert interests_for_purpose(user=alice, purpose=MATCHING) == {
        "music-jazz": 0.9, "book-jazz": 0.4}
    charts = interest_charts(user=alice)
    assert charts[0].chart.rows == [["Jazz (music-jazz)", "90%"], ["Jazz (book-jazz)", "40%"]]


def test_my_interests_chart_takes_constant_queries(client, alice, mine):
    consent_set(user=alice, purpose=MATCHING, granted=True)
    client.force_login(alice)
    url = reverse("integrations:interests")
    make_interest(mine, "Genre a", MATCHING, 1.0)
    few = queries_for(client, url)
    for n in range(20):
        make_interest(mine, f"Genre {n}", MATCHING, 0.5)
    assert queries_for(client, url) == few
