"""integrations/txguard.py: no outbound request inside a database transaction."""

import logging

import pytest
import requests
from allauth.socialaccount.adapter import get_adapter
from django.db import transaction

from integrations import txguard
from integrations.models import ApiCall
from integrations.tokens import access_token_for
from integrations.transport import new_session, send
from tests.factories import make_connection, make_user

REAL_SEND = requests.Session.send  # before tests/conftest.py guards it for each test
URL = "https://api.spotify.com/v1/me"
TOKEN_URL = "https://accounts.spotify.com/api/token"


@pytest.fixture
def forgive_violations():
    """These tests cause violations on purpose: the suite-wide check must not fail them."""
    yield txguard.violations
    txguard.violations.clear()


def get(**kwargs):
    return send(new_session(), "GET", URL, provider_slug="spotify", connection_id=None, **kwargs)


@pytest.mark.django_db
def test_the_test_case_transaction_is_not_ours(mocked_responses):
    mocked_responses.get(URL, json={})
    assert txguard.open_transaction() is None
    assert get().status_code == 200


@pytest.mark.django_db
def test_send_inside_atomic_fails_before_the_request(mocked_responses, forgive_violations):
    mocked_responses.get(URL, json={})
    with transaction.atomic(), pytest.raises(txguard.NetworkInTransaction) as caught:
        get()
    assert str(caught.value) == txguard.VIOLATION.format(target="GET api.spotify.com",
                                                         alias="default")
    assert len(mocked_responses.calls) == 0
    assert forgive_violations == [str(caught.value)]
    assert ApiCall.objects.count() == 0  # send() itself refused, before its logging began


@pytest.mark.django_db(transaction=True)
def test_send_inside_atomic_fails_without_a_test_case_transaction(mocked_responses,
                                                                  forgive_violations):
    with transaction.atomic(), pytest.raises(txguard.NetworkInTransaction):
        get()
    assert len(mocked_responses.calls) == 0


@pytest.mark.django_db
def test_a_refresh_inside_a_transaction_fails(mocked_responses, forgive_violations):
    connection = make_connection(make_user(), expires_in=10)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-2", "expires_in": 3600})
    with transaction.atomic(), pytest.raises(txguard.NetworkInTransaction):
        access_token_for(connection=connection)
    assert len(mocked_responses.calls) == 0


@pytest.mark.django_db
def test_requests_made_by_libraries_are_checked_too(mocked_responses, forgive_violations):
    """tests/conftest.py guards ``requests.Session.send`` for calls that bypass ``send()``."""
    mocked_responses.get(URL, json={})
    with transaction.atomic(), pytest.raises(txguard.NetworkInTransaction):
        new_session().get(URL)


@pytest.mark.django_db
def test_allauths_session_is_checked_in_production_code_too(mocked_responses, monkeypatch,
                                                            forgive_violations):
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)  # without the suite's own guard
    mocked_responses.get(URL, json={})
    session = get_adapter().get_requests_session()
    with transaction.atomic(), pytest.raises(txguard.NetworkInTransaction):
        session.get(URL)
    assert len(mocked_responses.calls) == 0
    assert session.get(URL).status_code == 200


@pytest.mark.django_db
def test_an_explicit_opt_out_lets_the_request_through(mocked_responses):
    mocked_responses.get(URL, json={})
    with transaction.atomic(), txguard.allow_network_in_transaction("the test says so"):
        assert get().status_code == 200
    assert txguard.violations == []
    with pytest.raises(ValueError):
        txguard.allow_network_in_transaction("").__enter__()


@pytest.mark.django_db
def test_in_production_a_violation_is_logged_not_raised(mocked_responses, settings, caplog,
                                                        forgive_violations):
    settings.THINKALIKE_FORBID_NETWORK_IN_TRANSACTION = False
    mocked_responses.get(URL, json={})
    with caplog.at_level(logging.ERROR, logger="integrations.txguard"), transaction.atomic():
        assert get().status_code == 200
    # (once from send(), once more from the suite's guard on requests.Session.send)
    assert {r.getMessage() for r in caplog.records if r.name == "integrations.txguard"} == {
        txguard.VIOLATION.format(target="GET api.spotify.com", alias="default")}
    assert ApiCall.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_autocommit_turned_off_counts_as_a_transaction(mocked_responses, forgive_violations):
    transaction.set_autocommit(False)
    try:
        with pytest.raises(txguard.NetworkInTransaction):
            get()
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)


def test_the_guard_never_touches_the_database_itself(mocked_responses):
    """No django_db mark: asking the database anything here would raise."""
    mocked_responses.get(URL, json={})
    assert txguard.open_transaction() is None
    txguard.check_no_transaction("GET api.spotify.com")
