"""The proxy reads for the person's dashboard only what they allowed *Your dashboard* for."""

import pytest

from consent.purposes import DASHBOARD
from consent.services import consent_set
from integrations.models import ApiCall
from integrations.proxy.service import proxy_request
from integrations.proxy.spec import ProxyError
from tests.factories import make_user

from .helpers import CHARGES, STRIPE_API, sendgrid_connection, stripe_connection

pytestmark = pytest.mark.usefixtures("fake_clock")


def ask(connection):
    return proxy_request(connection=connection, user=connection.user, method="GET",
                         path="/v1/charges", params=[])


@pytest.fixture
def stripe(db):
    return stripe_connection(make_user())  # allows Your dashboard for every provider


def test_without_consent_nothing_is_asked_of_the_provider(db, mocked_responses):
    user = make_user()
    connection = stripe_connection(user)
    consent_set(user=user, purpose=DASHBOARD, granted=False)
    with pytest.raises(ProxyError) as refused:
        ask(connection)
    assert (refused.value.status, refused.value.code, refused.value.outcome) == (
        403, "consent_required", "consent")
    assert "Consent page" in refused.value.message
    assert not ApiCall.objects.exists()


def test_withdrawing_consent_refuses_even_a_cached_answer(stripe, mocked_responses):
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    assert ask(stripe).cache == "MISS"
    assert ask(stripe).cache == "HIT"
    consent_set(user=stripe.user, purpose=DASHBOARD, granted=False, provider="stripe")
    with pytest.raises(ProxyError, match="Stripe"):
        ask(stripe)


def test_a_per_service_no_overrides_the_answer_for_every_service(db, mocked_responses):
    user = make_user()
    stripe, sendgrid = stripe_connection(user), sendgrid_connection(user)
    consent_set(user=user, purpose=DASHBOARD, granted=False, provider="sendgrid")
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    assert ask(stripe).cache == "MISS"
    with pytest.raises(ProxyError) as refused:
        proxy_request(connection=sendgrid, user=user, method="GET", path="/v3/stats",
                      params=[("start_date", "2026-11-01")])
    assert refused.value.code == "consent_required"
