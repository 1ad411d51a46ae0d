"""The Dashboard page and widget bodies, through the real proxy service with the upstream
mocked by ``responses``: polling at the cache TTL, the data's age, refresh, errors with what to
do, escaping, and 404 for another person's widget or connection."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import responses
import time_machine
from django.urls import reverse

from dashboard import loading, selectors
from dashboard.models import Widget
from dashboard.services import widget_create
from integrations.models import ApiCall
from tests.factories import make_connection

CHARGES_URL = "https://api.stripe.com/v1/charges"
STATS_URL = "https://api.sendgrid.com/v3/stats"
KEY = "rk_test_SECRETSECRET01"
START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
T0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def charges(*amounts, **extra):
    return {"object": "list", "url": "/v1/charges", "has_more": False, "data": [
        {"id": f"ch_{n}", "object": "charge", "amount": a, "created": T0 + n * 86400, **extra}
        for n, a in enumerate(amounts)]}


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def chart(user, stripe):
    return widget_create(user=user, connection=stripe, title="Charges per day",
                         path="/v1/charges", params=[["created[gte]", "-30d"]], view="line",
                         value_path="amount")


def body(client, widget, method="get"):
    response = getattr(client, method)(reverse("dashboard:widget_body", args=[widget.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_needs_a_login(client):
    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_each_widget_polls_at_its_providers_cache_ttl(logged_in, user, stripe, custom, chart):
    sendgrid = make_connection(user, "sendgrid", external_id="k", access_token="",
                               secret='{"token": "SG.x"}')
    stats = widget_create(user=user, connection=sendgrid, title="Stats", path="/v3/stats",
                          params=[["start_date", "-30d:date"]], view="table")
    custom.config["proxy_ttl_seconds"] = 120  # the person's own TTL
    custom.save()
    status = widget_create(user=user, connection=custom, title="Status", path="/status")
    page = logged_in.get(reverse("dashboard:dashboard")).content.decode()
    for widget, seconds in ((chart, 60), (stats, 300), (status, 120)):
        url = reverse("dashboard:widget_body", args=[widget.pk])
        assert re.search(rf'hx-get="{url}" hx-trigger="load, every {seconds}s"', page), widget
    assert page.index("Charges per day") < page.index("Stats") < page.index("Status")


def test_a_zero_ttl_still_polls_at_a_floor(logged_in, user, custom):
    custom.config["proxy_ttl_seconds"] = 0
    custom.save()
    widget_create(user=user, connection=custom, title="Status", path="/status")
    page = logged_in.get(reverse("dashboard:dashboard")).content.decode()
    assert f"every {selectors.MIN_POLL_SECONDS}s" in page


def test_the_add_form_offers_only_connections_with_a_proxy_spec(logged_in, user, stripe):
    make_connection(user, "spotify")
    page = logged_in.get(reverse("dashboard:dashboard")).content.decode()
    assert "Stripe: label-test_abc" in page and "Spotify" not in page.split("Add a widget")[1]
    assert f'value="{stripe.pk} /v1/charges"' in page


def test_adding_a_widget(logged_in, user, stripe):
    response = logged_in.post(reverse("dashboard:dashboard"), {
        "title": "Balance", "source": f"{stripe.pk} /v1/balance", "view": "number",
        "value_path": "available.0.amount", "params": ""})
    assert response.status_code == 302
    widget = Widget.objects.get(user=user)
    assert (widget.path, widget.value_path) == ("/v1/balance", "available.0.amount")


def test_adding_a_widget_with_bad_params_shows_why(logged_in, user, stripe):
    response = logged_in.post(reverse("dashboard:dashboard"), {
        "title": "Charges", "source": f"{stripe.pk} /v1/charges", "view": "number",
        "params": "limit=lots\nnot a pair"})
    assert response.status_code == 400 and "Line 2 is not name=value." in response.content.decode()
    response = logged_in.post(reverse("dashboard:dashboard"), {
        "title": "Charges", "source": f"{stripe.pk} /v1/charges", "view": "number",
        "params": "limit=lots"})
    assert response.status_code == 400 and "limit: " in response.content.decode()
    assert not Widget.objects.exists()


def test_another_persons_connection_is_404(client, other_user, stripe):
    client.force_login(other_user)
    make_connection(other_user, "sendgrid", external_id="k")
    response = client.post(reverse("dashboard:dashboard"), {
        "title": "Theirs", "source": f"{stripe.pk} /v1/balance", "view": "number"})
    assert response.status_code == 404 and not Widget.objects.exists()


@pytest.mark.parametrize(("name", "method"), [("widget_body", "get"), ("widget_body", "post"),
                                              ("widget_edit", "get"), ("widget_edit", "post"),
                                              ("widget_move", "post"),
                                              ("widget_delete", "post")])
def test_another_persons_widget_is_404(client, other_user, chart, mocked_responses, name, method):
    client.force_login(other_user)
    response = getattr(client, method)(reverse(f"dashboard:{name}", args=[chart.pk]))
    assert response.status_code == 404
    assert Widget.objects.filter(pk=chart.pk).exists() and not mocked_responses.calls


def test_a_line_widget_draws_its_svg_and_says_how_old_the_data_is(
        logged_in, chart, mocked_responses, clock):
    mocked_responses.get(CHARGES_URL, json=charges(1099, 2500, 500))
    html = body(logged_in, chart)
    svg = ET.fromstring(re.search(r"<svg.*</svg>", html, re.S).group(0))
    assert svg.find("{http://www.w3.org/2000/svg}title").text == "Charges per day"
    assert loading.UPDATED.format(age="0 s") in html
    # The relative date went out resolved, the key on the server side only.
    request = mocked_responses.calls[0].request
    midnight_30_days_ago = int(datetime(2026, 10, 30, tzinfo=UTC).timestamp())
    assert f"created%5Bgte%5D={midnight_30_days_ago}" in request.url
    assert request.headers["Authorization"] == f"Bearer {KEY}" and KEY not in html

    clock.shift(40)
    html = body(logged_in, chart)
    assert loading.UPDATED.format(age="40 s") in html and len(mocked_responses.calls) == 1
    assert ApiCall.objects.count() == 1


def test_refresh_asks_the_provider_again(logged_in, chart, mocked_responses, clock):
    mocked_responses.get(CHARGES_URL, json=charges(1))
    body(logged_in, chart)
    clock.shift(10)
    html = body(logged_in, chart, method="post")
    assert len(mocked_responses.calls) == 2 and loading.UPDATED.format(age="0 s") in html


def test_a_stale_answer_says_the_provider_is_unreachable(logged_in, chart, mocked_responses,
                                                         clock):
    mocked_responses.get(CHARGES_URL, json=charges(1))
    body(logged_in, chart)
    mocked_responses.replace(responses.GET, CHARGES_URL, status=503, json={"error": {}})
    clock.shift(61)
    html = body(logged_in, chart)
    assert loading.STALE_TEXT.format(age="1 min") in html
    assert "<svg" in html


def test_a_refused_key_says_to_reconnect(logged_in, chart, mocked_responses, stripe):
    mocked_responses.get(CHARGES_URL, status=401, json={"error": {
        "message": f"Invalid API Key provided: {KEY}", "type": "invalid_request_error"}})
    html = body(logged_in, chart)
    assert loading.RECONNECT.format(name="Stripe") in html
    assert reverse("integrations:connection_detail", args=[stripe.pk]) in html
    assert KEY not in html and "<svg" not in html


def test_an_unreachable_provider_without_a_cached_answer_says_try_later(
        logged_in, chart, mocked_responses):
    mocked_responses.get(CHARGES_URL, status=503, json={"error": {}})
    html = body(logged_in, chart)
    assert 'role="alert"' in html
    assert loading.TRY_LATER in html or "Try again in" in html


def test_provider_data_is_escaped_in_a_table(logged_in, user, stripe, mocked_responses):
    widget = widget_create(user=user, connection=stripe, title="<b>Table</b>",
                           path="/v1/charges", view="table")
    mocked_responses.get(CHARGES_URL, json=charges(1, description="<script>alert(1)</script>"))
    html = body(logged_in, widget)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Table&lt;/b&gt;" in html  # the refresh button's label


def test_a_number_widget(logged_in, user, stripe, mocked_responses):
    widget = widget_create(user=user, connection=stripe, title="Available",
                           path="/v1/balance", view="number", value_path="available.0.amount")
    mocked_responses.get("https://api.stripe.com/v1/balance",
                         json={"object": "balance", "available": [{"amount": 666670}]})
    assert "666,670" in body(logged_in, widget)


def test_edit_move_and_remove(logged_in, user, stripe, chart):
    other = widget_create(user=user, connection=stripe, title="Balance", path="/v1/balance")
    response = logged_in.post(reverse("dashboard:widget_move", args=[other.pk]),
                              {"direction": "up"})
    assert response.status_code == 302
    assert list(Widget.objects.values_list("title", flat=True)) == ["Balance", "Charges per day"]
    edit = reverse("dashboard:widget_edit", args=[chart.pk])
    assert "created[gte]=-30d" in logged_in.get(edit).content.decode()
    response = logged_in.post(edit, {"title": "Charges", "source": f"{stripe.pk} /v1/charges",
                                     "view": "table", "params": "limit=5"})
    assert response.status_code == 302
    chart.refresh_from_db()
    assert (chart.title, chart.view, chart.params) == ("Charges", "table", [["limit", "5"]])
    logged_in.post(reverse("dashboard:widget_delete", args=[chart.pk]))
    assert list(Widget.objects.values_list("title", flat=True)) == ["Balance"]


def test_an_edit_cannot_move_a_widget_to_another_connection(logged_in, user, chart):
    sendgrid = make_connection(user, "sendgrid", external_id="k")
    response = logged_in.post(reverse("dashboard:widget_edit", args=[chart.pk]), {
        "title": "Stats", "source": f"{sendgrid.pk} /v3/stats", "view": "number",
        "params": "start_date=-1d:date"})
    assert response.status_code == 404
    chart.refresh_from_db()
    assert chart.connection_id != sendgrid.pk and chart.title == "Charges per day"


def test_a_custom_api_widget_through_the_form(logged_in, user, custom):
    response = logged_in.post(reverse("dashboard:dashboard"), {
        "title": "Status", "source": f"{custom.pk} __custom__", "custom_path": "/status",
        "view": "table"})
    assert response.status_code == 302
    widget = Widget.objects.get(user=user)
    assert (widget.connection, widget.path) == (custom, "/status")
    edit = logged_in.get(reverse("dashboard:widget_edit", args=[widget.pk])).content.decode()
    assert 'value="/status"' in edit and f'value="{custom.pk} __custom__" selected' in edit


def test_a_refresh_over_the_rate_limit_keeps_the_cached_data_and_says_so(
        logged_in, chart, mocked_responses, settings, clock):
    settings.THINKALIKE_PROXY_RATE_STRIPE = 1
    mocked_responses.get(CHARGES_URL, json=charges(1, 2))
    body(logged_in, chart)  # the one request of this minute
    clock.shift(5)
    html = body(logged_in, chart, method="post")
    assert len(mocked_responses.calls) == 1
    assert loading.REFRESH_REFUSED.format(message="") in html and "<svg" in html
    assert loading.UPDATED.format(age="5 s") in html


def test_over_the_rate_limit_with_nothing_cached_says_when_to_try_again(
        logged_in, user, stripe, chart, mocked_responses, settings):
    settings.THINKALIKE_PROXY_RATE_STRIPE = 1
    mocked_responses.get(CHARGES_URL, json=charges(1))
    mocked_responses.get("https://api.stripe.com/v1/balance", json={"available": []})
    body(logged_in, chart)
    other = widget_create(user=user, connection=stripe, title="Balance", path="/v1/balance")
    html = body(logged_in, other)
    assert 'role="alert"' in html and re.search(r"Try again in \d+ s\.", html)
    assert len(mocked_responses.calls) == 1


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (59, "59 s"), (60, "1 min"),
                                               (3599, "59 min"), (7200, "2 h"),
                                               (90000, "1 d"), (-5, "0 s")])
def test_age_text(seconds, text):
    from datetime import timedelta

    assert loading.age_text(START, START + timedelta(seconds=seconds)) == text


def test_without_consent_a_widget_says_where_to_allow_it(logged_in, user, chart,
                                                          mocked_responses):
    from consent.purposes import DASHBOARD
    from consent.services import consent_set

    consent_set(user=user, purpose=DASHBOARD, granted=False, provider="stripe")
    html = body(logged_in, chart)
    assert loading.ALLOW in html
    assert reverse("consent:settings") in html
    assert "<svg" not in html and not ApiCall.objects.exists()
