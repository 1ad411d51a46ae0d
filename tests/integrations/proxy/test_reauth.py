"""A provider that refuses the credential itself (401 after the refresh attempt) flags the
connection for reconnecting, as a sync does: from then on nothing is served for it, not a
cached copy (HIT) and not an old one while the provider is down (STALE). A 403 that only
refuses one request (a permission, a custom API's per-path rule) leaves the connection alone."""

import pytest

from integrations.models import AuditEvent, Connection
from integrations.proxy.service import proxy_request
from integrations.proxy.spec import ProxyError
from tests.factories import make_user

from .helpers import (
    CHARGES,
    CUSTOM_BASE,
    SENDGRID_API,
    STRIPE_API,
    custom_connection,
    sendgrid_connection,
    stripe_connection,
)

pytestmark = pytest.mark.usefixtures("fake_clock")


def ask(connection, path="/v1/charges", params=()):
    return proxy_request(connection=connection, user=connection.user, method="GET", path=path,
                         params=list(params))


def refused(connection, path="/v1/charges", params=()) -> ProxyError:
    with pytest.raises(ProxyError) as caught:
        ask(connection, path, params)
    return caught.value


def status_of(connection) -> str:
    return Connection.objects.get(pk=connection.pk).status


def marks(connection):
    return list(AuditEvent.objects.filter(connection_ref=connection.pk,
                                          action=AuditEvent.Action.MARKED_REAUTH)
                .values_list("actor", flat=True))


def test_a_401_then_a_503_serves_no_stale_copy(db, mocked_responses, fake_clock):
    stripe = stripe_connection(make_user())
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    assert ask(stripe).cache == "MISS"
    fake_clock.advance(61)
    mocked_responses.replace("GET", STRIPE_API + "charges", status=401,
                             json={"error": {"message": "Invalid API Key provided"}})
    error = refused(stripe)
    assert (error.status, error.code, error.outcome) == (502, "reconnect_required", "reconnect")
    assert status_of(stripe) == Connection.Status.NEEDS_REAUTH
    assert marks(stripe) == ["proxy"]
    mocked_responses.replace("GET", STRIPE_API + "charges", status=503, json={})
    stripe = Connection.objects.get(pk=stripe.pk)  # the next request loads it again
    error = refused(stripe)
    assert (error.code, error.outcome) == ("reconnect_required", "reconnect")
    assert len(mocked_responses.calls) == 2  # the 503 was never even asked for


def test_a_fresh_cached_answer_is_not_served_once_the_key_is_refused(db, mocked_responses):
    stripe = stripe_connection(make_user())
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    mocked_responses.get(STRIPE_API + "balance", status=401, json={})
    ask(stripe)
    assert refused(stripe, "/v1/balance").code == "reconnect_required"
    assert refused(Connection.objects.get(pk=stripe.pk)).code == "reconnect_required"
    assert len(mocked_responses.calls) == 2


def test_a_stale_copy_is_refused_when_the_connection_was_flagged_meanwhile(
        db, mocked_responses, fake_clock):
    """Another request (or a sync) flagged the connection while this one was fetching."""
    stripe = stripe_connection(make_user())
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    ask(stripe)
    fake_clock.advance(61)

    def down_and_flagged(request):
        Connection.objects.filter(pk=stripe.pk).update(status=Connection.Status.NEEDS_REAUTH)
        return 503, {}, "{}"

    mocked_responses.remove("GET", STRIPE_API + "charges")
    mocked_responses.add_callback("GET", STRIPE_API + "charges", callback=down_and_flagged)
    assert refused(stripe).code == "reconnect_required"


def test_a_plain_403_from_a_declared_endpoint_flags_the_connection(db, mocked_responses):
    """SendGrid says nothing more than 403: the default reading, the key was refused."""
    sendgrid = sendgrid_connection(make_user())
    mocked_responses.get(SENDGRID_API + "v3/stats", status=403, json={})
    assert refused(sendgrid, "/v3/stats", [("start_date", "2026-01-01")]).code == \
        "reconnect_required"
    assert status_of(sendgrid) == Connection.Status.NEEDS_REAUTH


def test_a_403_naming_a_missing_permission_leaves_the_connection_active(db, mocked_responses):
    stripe = stripe_connection(make_user())
    mocked_responses.get(STRIPE_API + "charges", status=403, json={"error": {
        "message": "The provided key 'rk_test_***' does not have the required permissions "
                   "for this endpoint. Having the 'rak_charge_read' permission would allow "
                   "this request to continue."}})
    error = refused(stripe)
    assert (error.status, error.code, error.outcome) == (502, "upstream_forbidden", "")
    assert "rak_charge_read" in error.message
    assert status_of(stripe) == Connection.Status.ACTIVE
    assert marks(stripe) == []


def test_a_custom_apis_403_on_one_path_leaves_the_connection_active(db, mocked_responses):
    connection = custom_connection(make_user())
    mocked_responses.get(CUSTOM_BASE + "admin", status=403, json={})
    mocked_responses.get(CUSTOM_BASE + "stations", json=[1])
    assert refused(connection, "/admin").code == "upstream_forbidden"
    assert status_of(connection) == Connection.Status.ACTIVE
    assert ask(connection, "/stations").payload == [1]


def test_a_custom_apis_401_flags_the_connection(db, mocked_responses):
    connection = custom_connection(make_user())
    mocked_responses.get(CUSTOM_BASE + "stations", status=401, json={})
    assert refused(connection, "/stations").code == "reconnect_required"
    assert status_of(connection) == Connection.Status.NEEDS_REAUTH
    assert marks(connection) == ["proxy"]
