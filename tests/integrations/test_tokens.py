"""integrations/tokens.py: refresh before expiry, rotation, invalid_grant, temporary failures."""

import contextlib
import json
import uuid
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
import time_machine
from django.db import connection as db_connection
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from integrations import tokens, txguard
from integrations.exceptions import (
    ProviderDataError,
    ReauthRequired,
    RenewingElsewhere,
    TryLater,
)
from integrations.models import ApiCall, AuditEvent, Connection, Credential, ExternalItem
from integrations.tokens import access_token_for, token_refresh
from integrations.transport import parse_json
from tests.factories import make_connection, make_user

TOKEN_URL = "https://accounts.spotify.com/api/token"


@pytest.fixture
def user(db):
    return make_user()


def test_fresh_token_makes_no_http_call(user, mocked_responses):
    connection = make_connection(user, expires_in=3600)
    assert access_token_for(connection=connection) == "AT-fake-access-0001"
    assert len(mocked_responses.calls) == 0


def test_token_within_margin_is_refreshed_first(user, mocked_responses):
    connection = make_connection(user, expires_in=60)  # margin is 300 s
    mocked_responses.post(TOKEN_URL, json={
        "access_token": "AT-2", "refresh_token": "RT-2", "expires_in": 3600,
        "scope": "user-top-read user-library-read", "token_type": "Bearer",
    })
    assert access_token_for(connection=connection) == "AT-2"
    request = mocked_responses.calls[0].request
    body = parse_qs(request.body)
    assert body == {"grant_type": ["refresh_token"], "refresh_token": ["RT-fake-refresh-0001"]}
    assert request.headers["Authorization"].startswith("Basic ")  # Spotify: client in Basic
    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-2", "RT-2")
    assert credential.expires_at > timezone.now() + timedelta(minutes=50)
    assert credential.refreshed_at is not None
    assert Connection.objects.get().scopes == ["user-library-read", "user-top-read"]


def test_refresh_without_new_refresh_token_keeps_the_old_one(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-3", "expires_in": 3600})
    token_refresh(connection=connection)
    assert Credential.objects.get().refresh_token == "RT-fake-refresh-0001"


def test_stale_token_after_another_worker_refreshed_makes_no_call(user, mocked_responses):
    connection = make_connection(user, access_token="AT-current")
    assert token_refresh(connection=connection, stale_access_token="AT-old") == "AT-current"
    assert len(mocked_responses.calls) == 0


@pytest.mark.parametrize("status", [400, 401, 200])  # 200: GitHub's way of refusing
def test_invalid_grant_sets_needs_reauth_and_keeps_data(user, mocked_responses, status):
    connection = make_connection(user, expires_in=10)
    ExternalItem.objects.create(connection=connection, kind="artist", external_id="a1",
                                title="Radiohead", content_hash="x")
    mocked_responses.post(TOKEN_URL, status=status, json={
        "error": "invalid_grant", "error_description": "Refresh token revoked"})
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert ExternalItem.objects.filter(connection=connection).count() == 1
    assert Credential.objects.get().refresh_token == "RT-fake-refresh-0001"  # rolled back intact
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MARKED_REAUTH).count() == 1


def test_temporary_token_endpoint_failure_does_not_flag(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, status=503)
    with pytest.raises(TryLater):
        token_refresh(connection=connection)
    assert Connection.objects.get().status == Connection.Status.ACTIVE
    assert len(mocked_responses.calls) == 1  # a refresh is never retried blindly


def test_missing_refresh_token_means_reconnect(user, mocked_responses):
    connection = make_connection(user, refresh_token="", expires_in=10)
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    assert len(mocked_responses.calls) == 0
    assert Connection.objects.get().status == Connection.Status.NEEDS_REAUTH


# --- The refresh lease (DESIGN.md section 6) ---------------------------------------------------


class Clock:
    """A frozen clock that ``tokens.sleep`` moves forward instead of sleeping."""

    def __init__(self, traveller):
        self.traveller, self.waits = traveller, []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.traveller.shift(timedelta(seconds=seconds))


@pytest.fixture
def clock(monkeypatch):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        clock = Clock(traveller)
        monkeypatch.setattr("integrations.tokens.sleep", clock.sleep)
        yield clock


class RotatingTokenEndpoint:
    """A token endpoint with strict rotation: each refresh token works exactly once."""

    def __init__(self, mocked_responses, current="RT-fake-refresh-0001"):
        self.current, self.issued, self.during_request = current, 0, None
        mocked_responses.add_callback("POST", TOKEN_URL, callback=self)

    def __call__(self, request):
        if self.during_request is not None:
            self.during_request()
        presented = parse_qs(request.body)["refresh_token"][0]
        if presented != self.current:
            return 400, {}, json.dumps({"error": "invalid_grant"})
        self.issued += 1
        self.current = f"RT-rotated-{self.issued}"
        return 200, {}, json.dumps({"access_token": f"AT-rotated-{self.issued}",
                                    "refresh_token": self.current, "expires_in": 3600})


def hold_lease(*, seconds: float) -> uuid.UUID:
    """Another worker holds the refresh lease (and may have died holding it)."""
    lease = uuid.uuid4()
    Credential.objects.update(refresh_lease_token=lease,
                              refresh_lease_until=timezone.now() + timedelta(seconds=seconds))
    return lease


def test_the_token_request_is_made_with_no_transaction_open(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    seen = []

    def answer(request):
        seen.append(txguard.open_transaction())
        return 200, {}, json.dumps({"access_token": "AT-2", "expires_in": 3600})

    mocked_responses.add_callback("POST", TOKEN_URL, callback=answer)
    assert access_token_for(connection=connection) == "AT-2"
    assert seen == [None]


def test_the_lease_is_held_during_the_request_and_cleared_with_the_result(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    during = []

    def answer(request):
        during.append(Credential.objects.values_list(
            "refresh_lease_token", "refresh_lease_until").get())
        return 200, {}, json.dumps({"access_token": "AT-2", "refresh_token": "RT-2",
                                    "expires_in": 3600})

    mocked_responses.add_callback("POST", TOKEN_URL, callback=answer)
    access_token_for(connection=connection)
    lease, until = during[0]
    assert lease is not None
    assert until >= timezone.now() + timedelta(seconds=25)
    credential = Credential.objects.get()
    assert (credential.refresh_lease_token, credential.refresh_lease_until) == (None, None)
    assert (credential.refresh_token, credential.refresh_generation) == ("RT-2", 1)


@pytest.mark.parametrize("answer", [
    {"status": 503},
    {"status": 400, "json": {"error": "invalid_grant"}},
    {"status": 200, "json": {"no": "token"}},
    {"status": 200, "body": "[" * 100_000},
    {"body": requests.ConnectionError("down")},
])
def test_every_failure_releases_the_lease(user, mocked_responses, answer):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, **answer)
    with pytest.raises((TryLater, ReauthRequired)):
        token_refresh(connection=connection)
    credential = Credential.objects.get()
    assert (credential.refresh_lease_token, credential.refresh_lease_until) == (None, None)
    assert credential.refresh_generation == 0
    assert credential.refresh_token == "RT-fake-refresh-0001"


def test_failed_refresh_requests_keep_their_api_call_rows(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, status=503)
    mocked_responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(TryLater):
        token_refresh(connection=connection)
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    rows = ApiCall.objects.filter(connection=connection, path="/api/token").order_by("id")
    assert [row.status_code for row in rows] == [503, 400]


def test_a_worker_waits_for_the_lease_and_uses_what_the_holder_stored(user, mocked_responses,
                                                                        clock, monkeypatch):
    connection = make_connection(user, expires_in=10)
    hold_lease(seconds=30)
    waited = []

    def holder_finishes(seconds):
        waited.append(seconds)
        if len(waited) == 3:  # the holder stores its result while we wait
            Credential.objects.update(access_token="AT-holder", refresh_lease_token=None,
                                      refresh_lease_until=None, refresh_generation=1,
                                      expires_at=timezone.now() + timedelta(hours=1))
        clock.sleep(seconds)

    monkeypatch.setattr("integrations.tokens.sleep", holder_finishes)
    assert access_token_for(connection=connection) == "AT-holder"
    assert len(mocked_responses.calls) == 0
    assert waited[:3] == [0.05, 0.1, 0.2]  # backoff


def test_a_holder_killed_mid_refresh_blocks_nobody_past_its_lease(user, mocked_responses, clock):
    connection = make_connection(user, expires_in=10)
    endpoint = RotatingTokenEndpoint(mocked_responses)
    hold_lease(seconds=30)  # then the holder died: it will never release it
    assert access_token_for(connection=connection) == "AT-rotated-1"
    assert sum(clock.waits) == pytest.approx(30)  # waited for the lease to expire, no longer
    assert endpoint.issued == 1
    credential = Credential.objects.get()
    assert credential.refresh_token == "RT-rotated-1"
    assert credential.refresh_lease_token is None


def test_waiting_for_a_live_holder_is_bounded(user, mocked_responses, clock, settings):
    settings.THINKALIKE_REFRESH_WAIT_SECONDS = 12
    connection = make_connection(user, expires_in=10)
    hold_lease(seconds=3600)  # a holder that keeps its lease longer than anyone waits
    with pytest.raises(RenewingElsewhere) as caught:  # no failure of this worker's
        access_token_for(connection=connection)
    assert caught.value.message == tokens.RENEWING_ELSEWHERE.format(provider="Spotify")
    assert sum(clock.waits) == pytest.approx(12)
    assert max(clock.waits) <= tokens.MAX_PAUSE
    assert len(mocked_responses.calls) == 0
    assert Connection.objects.get().status == Connection.Status.ACTIVE


def test_a_stalled_holder_still_stores_its_rotated_token_after_a_takeover(user, mocked_responses,
                                                                          clock):
    """A holds the lease and has its rotated token in hand but stalls past the lease; B takes
    over and presents the same old token, which strict rotation refuses. A's token is the only
    valid one and must be stored; B must not ask the person to reconnect."""
    connection = make_connection(user, expires_in=10)
    endpoint = RotatingTokenEndpoint(mocked_responses)
    stale = Credential.objects.get()
    lease_a = tokens._lease_take(stale)
    grant_a = tokens._request_refresh(connection, stale)  # the provider rotated RT-...-0001
    clock.traveller.shift(timedelta(seconds=31))  # A stalls past its lease

    # B's request is in flight when A wakes up and writes.
    endpoint.during_request = lambda: tokens._grant_write(stale, lease_a, grant_a)
    assert token_refresh(connection=connection) == "AT-rotated-1"  # B uses A's token

    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-rotated-1",
                                                                   "RT-rotated-1")
    assert credential.refresh_lease_token is None  # B released its lease
    assert Connection.objects.get().status == Connection.Status.ACTIVE


def test_a_stalled_holder_does_not_overwrite_a_token_stored_since(user, mocked_responses, clock):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-a", "refresh_token": "RT-a",
                                           "expires_in": 3600})
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-b", "refresh_token": "RT-b",
                                           "expires_in": 3600})
    stale = Credential.objects.get()
    lease_a = tokens._lease_take(stale)
    grant_a = tokens._request_refresh(connection, stale)
    clock.traveller.shift(timedelta(seconds=31))
    assert token_refresh(connection=connection) == "AT-b"  # B took over and stored first
    assert not tokens._grant_write(stale, lease_a, grant_a)
    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-b", "RT-b")
    assert credential.refresh_generation == 1


def test_the_written_tokens_are_encrypted_at_rest(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-secret-2",
                                           "refresh_token": "RT-secret-2", "expires_in": 3600})
    access_token_for(connection=connection)
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM integrations_credential")
        raw = b"".join(bytes(value) for value in cursor.fetchone())
    assert b"secret-2" not in raw
    assert Credential.objects.get().access_token == "AT-secret-2"


def test_the_lease_outlives_the_token_request(settings):
    settings.THINKALIKE_REFRESH_LEASE_SECONDS = 1
    connect, read = settings.THINKALIKE_HTTP_TIMEOUT
    longest_request = connect + read + tokens.body_seconds()  # first byte, then the whole body
    assert tokens.refresh_lease_ttl().total_seconds() > longest_request
    # A worker waiting for a dead holder outwaits its lease instead of giving up first.
    settings.THINKALIKE_REFRESH_LEASE_SECONDS = 30
    assert tokens.refresh_lease_ttl().total_seconds() < settings.THINKALIKE_REFRESH_WAIT_SECONDS


# --- Hostile token bodies -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
)
token_fields = st.sampled_from(["access_token", "refresh_token", "expires_in", "scope",
                                "token_type"])


@pytest.mark.parametrize("expires_in", [10**20, 1e308, float("inf"), float("nan"), "abc",
                                        "3600.5", "1e999", "-5", -5, 0, True, False, None,
                                        [3600], {"s": 1}, "9" * 5000])
def test_any_expires_in_gives_a_sane_expiry_or_none(expires_in):
    grant = tokens.grant_from_response({"access_token": "AT", "expires_in": expires_in})
    assert grant.expires_at is None or (
        timezone.now() < grant.expires_at
        <= timezone.now() + timedelta(seconds=tokens.MAX_LIFETIME))


def test_a_fractional_string_lifetime_is_read():
    grant = tokens.grant_from_response({"access_token": "AT", "expires_in": "3600.5"})
    assert grant.expires_at > timezone.now() + timedelta(minutes=59)


@pytest.mark.parametrize("body", [
    {"access_token": 123}, {"access_token": ""}, {"access_token": None}, {"access_token": " "},
    {"access_token": ["AT"]}, {"access_token": "AT\r\nX-Injected: 1"}, {"access_token": "ä"},
    {"access_token": "AT with a space"}, {"access_token": "AT\ttab"},
    {"access_token": "A" * (tokens.MAX_TOKEN_CHARS + 1)}, {}, "AT", ["AT"], None, 3600,
])
def test_unusable_token_bodies_are_bad_provider_data(body):
    with pytest.raises(ProviderDataError):
        tokens.grant_from_response(body)


def as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000, "",
                                  "not json", b"\xff\xfe", "NaN]"])
def test_unparseable_token_bodies_are_bad_provider_data(text):
    with pytest.raises(ProviderDataError):
        tokens.grant_from_response(parse_json(as_bytes(text), name="Spotify"))


def test_a_hostile_refresh_token_or_token_type_is_ignored():
    grant = tokens.grant_from_response({"access_token": "AT", "refresh_token": {"x": 1},
                                        "token_type": ["Bearer"]})
    assert (grant.refresh_token, grant.token_type) == ("", "Bearer")


@hypothesis_settings(max_examples=300, deadline=None)
@given(data=st.one_of(json_values, st.dictionaries(token_fields, json_values, max_size=5)))
def test_any_json_gives_a_grant_or_bad_provider_data(data):
    try:
        grant = tokens.grant_from_response(parse_json(json.dumps(data).encode(), name="Spotify"))
    except ProviderDataError:
        return
    assert isinstance(grant.access_token, str) and grant.access_token.strip()
    assert isinstance(grant.refresh_token, str)
    assert grant.expires_at is None or grant.expires_at > timezone.now()
    assert isinstance(grant.token_type, str) and len(grant.token_type) <= 40
    assert grant.scopes is None or all(isinstance(s, str) for s in grant.scopes)


@hypothesis_settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=200))
def test_any_body_text_parses_or_is_bad_provider_data(text):
    with contextlib.suppress(ProviderDataError):
        parse_json(as_bytes(text), name="Spotify")


def test_a_short_lived_token_is_renewed_at_half_its_life_not_before_every_request(
        user, mocked_responses, clock):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-2", "expires_in": 10})
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-3", "expires_in": 10})
    assert access_token_for(connection=connection) == "AT-2"  # inside the 300 s margin
    assert access_token_for(connection=connection) == "AT-2"
    clock.traveller.shift(timedelta(seconds=4))
    assert access_token_for(connection=connection) == "AT-2"
    clock.traveller.shift(timedelta(seconds=2))
    assert access_token_for(connection=connection) == "AT-3"
    assert len(mocked_responses.calls) == 2


def test_waiting_workers_do_not_repeat_a_failed_refresh(user, mocked_responses, clock,
                                                        monkeypatch):
    connection = make_connection(user, expires_in=10)
    hold_lease(seconds=30)

    def holder_fails(seconds):
        Credential.objects.update(refresh_lease_token=None, refresh_lease_until=None)
        clock.sleep(seconds)

    monkeypatch.setattr("integrations.tokens.sleep", holder_fails)
    with pytest.raises(RenewingElsewhere) as caught:  # no failure of this worker's
        access_token_for(connection=connection)
    assert caught.value.message == tokens.RENEW_FAILED_ELSEWHERE.format(provider="Spotify")
    assert len(mocked_responses.calls) == 0


# --- Reconnects and database errors around a refresh -------------------------------------------


def reconnect(connection, access_token="AT-reconnected"):
    from allauth.socialaccount.models import SocialAccount

    from integrations.providers.registry import get_provider
    from integrations.services import connection_store_oauth
    from integrations.tokens import TokenGrant

    account, _ = SocialAccount.objects.get_or_create(
        user=connection.user, provider="spotify", uid=connection.external_account_id)
    connection_store_oauth(
        user=connection.user, provider=get_provider("spotify"), social_account=account,
        grant=TokenGrant(access_token=access_token, refresh_token="RT-reconnected",
                         expires_at=timezone.now() + timedelta(hours=1)),
        label="me",
    )


def test_a_reconnect_during_a_refresh_is_not_overwritten_by_the_old_grant(
        user, mocked_responses, django_capture_on_commit_callbacks):
    connection = make_connection(user, expires_in=10)
    endpoint = RotatingTokenEndpoint(mocked_responses)
    endpoint.during_request = lambda: reconnect(connection)

    with django_capture_on_commit_callbacks():
        token = token_refresh(connection=connection)

    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-reconnected",
                                                                   "RT-reconnected")
    assert token == "AT-reconnected"
    assert credential.refresh_lease_token is None  # the old lease blocks nobody


def test_a_database_error_while_storing_the_grant_is_retried_not_lost(
        user, mocked_responses, clock, monkeypatch):
    from django.db import OperationalError

    connection = make_connection(user, expires_in=10)
    RotatingTokenEndpoint(mocked_responses)
    real_write, failures = tokens._grant_write, []

    def locked_once(*args):
        if not failures:
            failures.append("locked")
            raise OperationalError("database is locked")
        return real_write(*args)

    monkeypatch.setattr(tokens, "_grant_write", locked_once)
    assert token_refresh(connection=connection) == "AT-rotated-1"
    credential = Credential.objects.get()
    assert credential.refresh_token == "RT-rotated-1"  # the provider retired the old one
    assert credential.refresh_lease_token is None
    assert failures == ["locked"] and clock.waits == [tokens.GRANT_WRITE_PAUSE]


def test_a_holder_that_loses_the_write_race_releases_its_lease(user, mocked_responses,
                                                               monkeypatch):
    connection = make_connection(user, expires_in=10)
    RotatingTokenEndpoint(mocked_responses)

    def someone_stored_first(*args):
        Credential.objects.update(refresh_generation=7)
        return False

    monkeypatch.setattr(tokens, "_grant_write", someone_stored_first)
    token_refresh(connection=connection)
    assert Credential.objects.get().refresh_lease_token is None
