"""Staff see the proxy's hits and misses per connection (ProxyStat, filled by proxy_request)."""

import re

import pytest
from django.urls import reverse

from integrations.proxy.service import proxy_request
from tests.factories import make_user

from .helpers import CHARGES, STRIPE_API, STRIPE_KEY, stripe_connection


@pytest.fixture
def answered(db, mocked_responses):
    """Stripe charges asked four times: one miss, three hits."""
    connection = stripe_connection(make_user())
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    for _ in range(4):
        proxy_request(connection=connection, user=connection.user, method="GET",
                      path="/v1/charges", params=[])
    return connection


def test_the_connection_page_shows_hits_misses_and_the_hit_rate(admin_client, answered):
    page = admin_client.get(reverse("admin:integrations_connection_change",
                                    args=[answered.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Proxy answers, latest 14 days" in body
    row = body[body.index("Proxy answers"):]
    assert re.search(r'field-hits">\s*<p>3</p>', row)
    assert re.search(r'field-misses">\s*<p>1</p>', row)
    assert re.search(r'field-hit_rate">\s*<p>75%</p>', row)
    assert STRIPE_KEY not in body


def test_the_statistics_list_shows_every_connection(admin_client, answered):
    page = admin_client.get(reverse("admin:integrations_proxystat_changelist"))
    body = page.content.decode()
    assert '<td class="field-hits">3</td>' in body and "75%" in body
