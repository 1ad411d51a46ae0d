"""A purge, "delete everything" and a disconnect take the proxy's cached answers of the
connection with them: provider data is not served (nor kept) from the cache afterwards."""

import pytest

from integrations.proxy import service, store
from integrations.proxy.service import proxy_request
from integrations.services import connection_data_purge, connection_disconnect
from privacy.services import user_data_purge_all
from tests.api.schema_check import CheckedClient
from tests.factories import make_user

from .helpers import CHARGES, STRIPE_API, stripe_connection

pytestmark = pytest.mark.usefixtures("fake_clock")
PASSWORD = "pw-0123456789"  # make_user's


@pytest.fixture
def person(db):
    return make_user()


@pytest.fixture
def stripe(person):
    return stripe_connection(person)


@pytest.fixture
def upstream(mocked_responses):
    return mocked_responses.get(STRIPE_API + "charges", json=CHARGES)


def ask(connection, params=(("limit", "3"),)):
    return proxy_request(connection=connection, user=connection.user, method="GET",
                         path="/v1/charges", params=list(params), refresh=False)


def key_of(connection, params=(("limit", "3"),)) -> str:
    return store.entry_key(connection.pk, service._scope(connection), "GET", "/v1/charges",
                           list(params))


def cached(connection, params=(("limit", "3"),)) -> store.Entry | None:
    return store.get_entry(key_of(connection, params))


def test_a_per_service_purge_empties_the_connections_cache(stripe, upstream, person):
    other = stripe_connection(make_user("grace@example.com"))
    assert ask(stripe).cache == "MISS" and ask(stripe).cache == "HIT"
    assert ask(other).cache == "MISS"

    connection_data_purge(connection=stripe)

    assert cached(stripe) is None
    assert ask(stripe).cache == "MISS"  # asked again
    assert upstream.call_count == 3
    assert ask(other).cache == "HIT"  # another connection's answers stay


def test_delete_everything_empties_the_cache_of_every_connection(stripe, upstream, person):
    ask(stripe, [("limit", "3")])
    ask(stripe, [("limit", "4")])
    assert ask(stripe, [("limit", "4")]).cache == "HIT"

    user_data_purge_all(user=person)

    assert cached(stripe, [("limit", "3")]) is None and cached(stripe, [("limit", "4")]) is None
    assert ask(stripe, [("limit", "4")]).cache == "MISS"
    assert upstream.call_count == 3


def test_a_disconnect_leaves_no_entry(stripe, upstream):
    ask(stripe)
    key = key_of(stripe)  # before the disconnect, which clears the instance's pk
    assert store.get_entry(key) is not None
    connection_disconnect(connection=stripe)
    assert store.get_entry(key) is None


def test_after_the_apis_purge_the_proxy_answers_a_miss(stripe, upstream, person):
    api = CheckedClient()
    api.force_authenticate(person)
    url = f"/api/v1/connections/{stripe.pk}/proxy/v1/charges"
    api.get(url, {"limit": "3"})
    assert api.get(url, {"limit": "3"})["X-Cache"] == "HIT"
    assert api.post("/api/v1/data/purge/", {"password": PASSWORD},
                    format="json").status_code == 200
    assert api.get(url, {"limit": "3"})["X-Cache"] == "MISS"
    assert upstream.call_count == 2
