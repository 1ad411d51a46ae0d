"""A person sets how long a custom API's proxied answers are cached, on its connection page."""

import pytest
from django.urls import reverse

from integrations.models import Connection
from integrations.proxy.views import TTL_INVALID, TTL_SAVED
from tests.factories import make_user

from .helpers import custom_connection, stripe_connection


@pytest.fixture
def person(db, client):
    user = make_user()
    client.force_login(user)
    return user


def post(client, connection, seconds):
    return client.post(reverse("integrations:proxy_ttl_set", args=[connection.pk]),
                       {"seconds": seconds}, follow=True)


def test_the_custom_api_page_offers_the_setting_and_saves_it(client, person):
    connection = custom_connection(person)
    page = client.get(reverse("integrations:connection_detail", args=[connection.pk]))
    assert 'name="seconds"' in page.content.decode() and 'value="30"' in page.content.decode()
    answer = post(client, connection, "120")
    assert TTL_SAVED.format(seconds=120) in answer.content.decode()
    assert Connection.objects.get(pk=connection.pk).config["proxy_ttl_seconds"] == 120
    assert 'value="120"' in answer.content.decode()


@pytest.mark.parametrize("seconds", ["-1", "3601", "abc", ""])
def test_out_of_range_values_are_refused(client, person, seconds):
    connection = custom_connection(person)
    answer = post(client, connection, seconds)
    assert TTL_INVALID.format(limit=3600) in answer.content.decode()
    assert "proxy_ttl_seconds" not in Connection.objects.get(pk=connection.pk).config


def test_a_stripe_page_has_no_setting_and_refuses_one(client, person):
    connection = stripe_connection(person)
    page = client.get(reverse("integrations:connection_detail", args=[connection.pk]))
    assert 'name="seconds"' not in page.content.decode()
    post(client, connection, "5")
    assert "proxy_ttl_seconds" not in Connection.objects.get(pk=connection.pk).config


def test_another_persons_connection_is_not_found(client, person):
    theirs = custom_connection(make_user(email="grace@example.com"))
    assert post(client, theirs, "60").status_code == 404
