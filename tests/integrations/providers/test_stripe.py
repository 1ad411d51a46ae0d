"""Stripe: dashboard-only data, a restricted key tested before save with clear refusals, the
pinned API version, cursor paging with incremental ``created[gte]``, and its rate limits."""

import json

import pytest
import requests
from responses import matchers

from consent.purposes import DASHBOARD, PURPOSES
from consent.services import consent_set
from integrations.classify import Verdict
from integrations.exceptions import ConnectionTestFailed, ProviderDataError, ReauthRequired
from integrations.http import ApiClient
from integrations.models import ApiCall, Connection, ExternalItem, SyncRun
from integrations.providers.contract import fixture
from integrations.providers.registry import get_provider
from integrations.providers.stripe import client, contract, errors, mapping
from integrations.providers.stripe.provider import MODE_LABEL, account_id
from integrations.services import connection_connect_with_form
from integrations.sync import sync_execute, sync_request
from tests.factories import make_user

API = "https://api.stripe.com/v1/"
KEY = contract.KEY
STRIPE = get_provider("stripe")
CHARGES = fixture(contract.__file__, "charges")
CUSTOMERS = fixture(contract.__file__, "customers")
RATE_LIMITED = {"error": {"type": "invalid_request_error", "code": "rate_limit",
                          "message": "Request rate limit exceeded."}}


def response(status: int, body=None, **headers) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers)
    answer._content = json.dumps(body).encode() if body is not None else b""
    return answer


# -- mapping ---------------------------------------------------------------------------------

def test_a_charge_keeps_only_what_a_dashboard_needs():
    item = mapping.map_charge(CHARGES["data"][0], {})
    assert item.external_id == "ch_3MmlLrLkdIwHu7ix0snN0B15"
    assert item.title == "1099 usd charge"
    assert item.attrs == {"amount": 1099, "amount_refunded": 0, "currency": "usd",
                          "status": "succeeded", "created": 1679090539, "paid": True,
                          "refunded": False}


def test_a_refunded_charge_says_so():
    item = mapping.map_charge(CHARGES["data"][1], {})
    assert item.attrs["refunded"] is True and item.attrs["amount_refunded"] == 2500


def test_a_customer_keeps_no_personal_data():
    item = mapping.map_customer(CUSTOMERS["data"][0], {})
    assert item.attrs == {"created": 1680893993, "currency": "usd", "delinquent": False}
    stored = json.dumps([item.title, item.attrs])
    assert "Jenny" not in stored and "example.com" not in stored


@pytest.mark.parametrize("change", [{"amount": True}, {"amount": "1099"}, {"amount": None},
                                    {"currency": 5}, {"created": "yesterday"}, {"id": ""},
                                    {"status": ["succeeded"]}])
def test_a_charge_of_another_shape_is_bad_data(change):
    with pytest.raises(ProviderDataError):
        mapping.map_charge({**CHARGES["data"][0], **change}, {})


def test_odd_optional_fields_do_not_pass_for_true():
    item = mapping.map_charge({**CHARGES["data"][0], "paid": "yes", "amount_refunded": True}, {})
    assert item.attrs["paid"] is False and item.attrs["amount_refunded"] == 0


def test_streams_serve_the_dashboard_only_and_give_no_interests():
    for stream in STRIPE.streams:
        assert stream.purposes == (DASHBOARD,)
        record = (CHARGES if stream.kind == "charge" else CUSTOMERS)["data"][0]
        assert list(stream.interests(stream.map_record(record, {}).attrs)) == []


# -- the account id ----------------------------------------------------------------------------

def test_the_account_id_is_stable_per_key_and_mode_and_never_the_key():
    first = account_id(False, KEY)
    assert first == account_id(False, KEY)
    assert first.startswith("test_") and account_id(True, KEY).startswith("live_")
    assert first != account_id(False, KEY + "x")
    assert KEY not in first and KEY[8:20] not in first


# -- connect -------------------------------------------------------------------------------------

@pytest.fixture
def person(db):
    return make_user("merchant@example.com")


def test_connect_pins_the_api_version_and_sends_the_key_as_bearer(person, mocked_responses):
    mocked_responses.get(API + "balance", json=fixture(contract.__file__, "balance"), match=[
        matchers.header_matcher({"Authorization": f"Bearer {KEY}",
                                 "Stripe-Version": client.API_VERSION}, strict_match=False)])
    connection = connection_connect_with_form(user=person, provider=STRIPE,
                                              fields={"token": KEY})
    assert connection.external_account_id == account_id(False, KEY)
    assert connection.account_label == MODE_LABEL[False]
    calls = list(ApiCall.objects.values_list("host", "path"))
    assert calls == [("api.stripe.com", "/v1/balance")]


def test_a_restricted_key_without_balance_read_is_told_which_permission(person,
                                                                         mocked_responses):
    mocked_responses.get(API + "balance", json=contract.MISSING_BALANCE_READ, status=403)
    with pytest.raises(ConnectionTestFailed) as refused:
        connection_connect_with_form(user=person, provider=STRIPE, fields={"token": KEY})
    assert refused.value.message == errors.MISSING_PERMISSION.format(
        permission="rak_balance_read")
    assert not Connection.objects.exists()


def test_an_invalid_key_gets_a_clear_message(person, mocked_responses):
    mocked_responses.get(API + "balance", status=401, json={"error": {
        "message": f"Invalid API Key provided: {KEY}", "type": "invalid_request_error"}})
    with pytest.raises(ConnectionTestFailed) as refused:
        connection_connect_with_form(user=person, provider=STRIPE, fields={"token": KEY})
    assert refused.value.message == errors.INVALID_KEY
    assert not Connection.objects.exists()


@pytest.mark.parametrize("message", [
    f"The provided key '{KEY}' is not allowed here.",  # an unmasked key, no permission named
    "Having the 'rak_balance_read; DROP' permission would allow this",
    None,
])
def test_a_403_without_a_usable_permission_never_echoes_the_message(message):
    body = {"error": {"type": "invalid_request_error", "message": message}}
    said = errors.refusal_message(response(403, body))
    assert said == errors.KEY_REFUSED and KEY not in said


def test_the_permission_is_taken_alone_from_the_message():
    body = {"error": {"message": f"The provided key '{KEY}' ... Having the "
                                 "'rak_charge_read' permission would allow this request."}}
    said = errors.refusal_message(response(403, body))
    assert "rak_charge_read" in said and KEY not in said


# -- classification ------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "headers", "verdict"), [
    (401, {}, Verdict.RECONNECT),
    (403, {}, Verdict.RECONNECT),
    (429, {"Stripe-Rate-Limited-Reason": "endpoint-concurrency"}, Verdict.RATE_LIMITED),
    (429, {}, Verdict.RATE_LIMITED),  # lock_timeout: no reason header
    (500, {}, Verdict.TRY_LATER),
    (404, {}, Verdict.BAD_DATA),
])
def test_classification(status, headers, verdict):
    assert STRIPE.classify_response(response(status, {"error": {}}, **headers)).verdict == verdict


def test_a_429_without_retry_after_backs_off_then_succeeds(db, mocked_responses, no_sleep,
                                                            settings):
    settings.THINKALIKE_RATE_BUDGETS = False
    settings.THINKALIKE_HTTP_BACKOFF_CAP = 8
    mocked_responses.get(API + "balance", status=429, json=RATE_LIMITED,
                         headers={"Stripe-Rate-Limited-Reason": "global-rate"})
    mocked_responses.get(API + "balance", json=fixture(contract.__file__, "balance"))
    balance = ApiClient(STRIPE, secrets={"token": KEY}).get_json(client.BALANCE)
    assert balance["object"] == "balance"
    assert len(no_sleep) == 1 and 0 <= no_sleep[0] <= 8  # a jittered backoff, not a fixed wait


def test_a_401_during_a_sync_asks_to_reconnect_without_a_refresh(db, mocked_responses):
    mocked_responses.get(API + "charges", status=401, json={"error": {
        "message": "Invalid API Key provided: rk_test_****0001"}})
    with pytest.raises(ReauthRequired) as refused:
        ApiClient(STRIPE, secrets={"token": KEY}).get_json(client.CHARGES)
    assert refused.value.message == errors.INVALID_KEY
    assert len(mocked_responses.calls) == 1  # no token endpoint: a key cannot be refreshed


# -- sync ----------------------------------------------------------------------------------------

def run_sync(connection, *, full: bool) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=full)
    return sync_execute(run_id=run.pk)


def test_an_incremental_sync_asks_from_the_newest_created(person, mocked_responses, no_sleep,
                                                          settings,
                                                          django_capture_on_commit_callbacks):
    settings.THINKALIKE_RATE_BUDGETS = False
    for purpose in PURPOSES:
        consent_set(user=person, purpose=purpose, granted=True)
    mocked_responses.get(API + "balance", json=fixture(contract.__file__, "balance"))
    connection = connection_connect_with_form(user=person, provider=STRIPE,
                                              fields={"token": KEY})
    for answer in contract.SYNC:
        mocked_responses.get(answer.url, json=answer.json,
                             match=[matchers.query_param_matcher(dict(answer.params))])
    assert run_sync(connection, full=True).status == SyncRun.Status.SUCCEEDED
    assert ExternalItem.objects.filter(connection=connection).count() == 5

    mocked_responses.reset()
    newest_charge = {**contract.FIRST, "created[gte]": "1679090539"}
    newest_customer = {**contract.FIRST, "created[gte]": "1680893993"}
    asked = [
        mocked_responses.get(API + "charges", json={**CHARGES, "has_more": False, "data": [
            CHARGES["data"][0]]}, match=[matchers.query_param_matcher(newest_charge)]),
        mocked_responses.get(API + "customers", json={**CUSTOMERS, "data": [
            CUSTOMERS["data"][0]]}, match=[matchers.query_param_matcher(newest_customer)]),
    ]
    again = run_sync(connection, full=False)
    assert again.status == SyncRun.Status.SUCCEEDED, again.error_message
    assert [a.call_count for a in asked] == [1, 1]
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
