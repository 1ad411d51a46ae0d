"""The demo's dashboard end to end: setup_demo connects the demo user's Stripe and SendGrid to
their stand-ins (and its anime lists: tests/integrations/sandbox/test_standin_anime_demo.py)
and adds two charts, once; each chart loads through the real proxy from the stand-in (served
in-process by the sandbox bridge) and draws the last 30 days."""

import re
import xml.etree.ElementTree as ET
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from dashboard.demo import DEMO_WIDGETS
from dashboard.models import Widget
from integrations.models import Connection

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def demo(db, settings, sandbox):
    settings.THINKALIKE_STAND_INS = True
    with time_machine.travel("2026-11-29T08:00:00Z", tick=False):
        for _ in range(2):  # idempotent
            call_command("setup_demo", stdout=StringIO())
        yield get_user_model().objects.get(email="demo@example.com")


def test_setup_demo_connects_the_stand_ins_and_adds_the_charts_once(demo):
    assert sorted(Connection.objects.filter(user=demo).values_list("provider", flat=True)) == [
        "kitsu", "myanimelist", "sendgrid", "stripe"]
    assert list(Widget.objects.filter(user=demo).values_list("title", flat=True)) == [
        values["title"] for _, values in DEMO_WIDGETS]


def test_setup_demo_leaves_a_connection_the_person_has(settings, sandbox, db):
    from tests.factories import make_connection, make_user

    settings.THINKALIKE_STAND_INS = True
    person = make_user("demo@example.com")
    mine = make_connection(person, "stripe", external_id="mine")
    call_command("setup_demo", stdout=StringIO())
    assert Connection.objects.get(user=person, provider="stripe") == mine
    assert Connection.objects.get(user=person, provider="stripe").external_account_id == "mine"


@pytest.mark.parametrize("title", [values["title"] for _, values in DEMO_WIDGETS])
def test_each_demo_chart_draws_a_month_from_its_stand_in(demo, client, sandbox, title):
    widget = Widget.objects.get(user=demo, title=title)
    client.force_login(demo)
    with time_machine.travel("2026-11-29T08:00:00Z", tick=False):
        html = client.get(reverse("dashboard:widget_body", args=[widget.pk])).content.decode()
    svg = ET.fromstring(re.search(r"<svg.*</svg>", html, re.S).group(0))
    points = svg.find(f"{SVG}polyline").get("points").split()
    assert 20 <= len(points) <= 31, html
    assert "2026-11-29" in svg.find(f"{SVG}desc").text
    assert any(path.startswith("/sandbox/stand-ins/") for path in sandbox.paths())


@pytest.mark.parametrize("answer_for", ["", "stripe"])
def test_the_demo_keeps_a_no_the_person_gave(db, answer_for):
    from consent.purposes import DASHBOARD
    from consent.selectors import allows
    from consent.services import consent_set
    from dashboard.demo import demo_widgets_create
    from tests.factories import make_connection, make_user

    user = make_user()
    stripe, sendgrid = make_connection(user, "stripe"), make_connection(user, "sendgrid")
    consent_set(user=user, purpose=DASHBOARD, granted=False, provider=answer_for)
    demo_widgets_create(user=user, connections=[stripe, sendgrid])
    assert not allows(user, DASHBOARD, "stripe")
    assert allows(user, DASHBOARD, "sendgrid") is (answer_for == "stripe")
