"""Error pages in the site's layout (templates/4xx.html, 500.html) and the 405 page
(thinkalike/middleware.py), with DEBUG off as in production."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tests.factories import make_connection, make_user
from thinkalike.middleware import OTHER_METHOD_ADVICE, POST_ONLY_ADVICE

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.error_urls")]

LAYOUT = 'class="site-header"'
HOME = reverse("integrations:connected_services")


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def page(response) -> str:
    html = response.content.decode()
    assert LAYOUT in html and HOME in html  # the site's layout, with a way back
    return html


def test_404_page(client_in):
    response = client_in.get("/no-such-page/")
    assert response.status_code == 404
    assert "There is nothing at this address" in page(response)


def test_403_page(client_in):
    response = client_in.get("/test-errors/403/")
    assert response.status_code == 403
    assert "You cannot open this page" in page(response)


def test_403_csrf_page(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    connection = make_connection(user, "openlibrary")

    response = client.post(reverse("integrations:sync_now", args=[connection.pk]))

    assert response.status_code == 403
    assert "That form had expired" in page(response)


def test_500_page_needs_no_request_context():
    response = Client(raise_request_exception=False).get("/test-errors/500/")
    assert response.status_code == 500
    html = page(response)
    assert "Something went wrong on our side" in html and "a bug" not in html


def test_get_on_a_post_only_url_explains_what_to_do(client_in, user):
    connection = make_connection(user, "openlibrary")
    for name in ("sync_now", "purge_data"):
        response = client_in.get(reverse(f"integrations:{name}", args=[connection.pk]))

        assert response.status_code == 405
        assert response["Allow"] == "POST"
        assert escape(POST_ONLY_ADVICE) in page(response)


def test_other_405s_get_the_general_advice(client_in):
    response = client_in.post(HOME)  # a page: GET only
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert escape(OTHER_METHOD_ADVICE) in page(response)
