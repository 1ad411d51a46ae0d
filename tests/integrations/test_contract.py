"""The provider contract: every registered provider, through the shared services, against the
real-shaped answers its folder declares (``<slug>/contract.py``): connect, a full sync of at
least two pages, a no-op re-sync writing no rows, its classification of 401, 403, 429 and 5xx,
and disconnect. A provider without a contract fails here."""

from __future__ import annotations

import importlib
import ipaddress
import json
import socket

import pytest
import requests
import responses
from allauth.socialaccount.models import SocialAccount
from django.utils import timezone
from responses import matchers

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.models import Connection, ExternalItem, SyncRun
from integrations.providers.contract import Contract
from integrations.providers.registry import PROVIDERS
from integrations.services import (
    connection_connect_with_form,
    connection_disconnect,
    connection_store_oauth,
    connection_test,
)
from integrations.sync import sync_execute, sync_request
from integrations.tokens import TokenGrant

ERROR_STATUSES = (401, 403, 429)


def contract_of(provider) -> Contract:
    package = type(provider).__module__.rpartition(".")[0]
    try:
        module = importlib.import_module(f"{package}.contract")
    except ModuleNotFoundError:
        pytest.fail(f"{provider.slug} has no contract.py with real-shaped answers")
    contract = getattr(module, "CONTRACT", None)
    assert isinstance(contract, Contract), f"{package}.contract.CONTRACT is not a Contract"
    return contract


def mock(mocked: responses.RequestsMock, answers) -> list[responses.BaseResponse]:
    registered = []
    for answer in answers:
        match = []
        if answer.params is not None:
            match.append(matchers.query_param_matcher(dict(answer.params)))
        if answer.json_body is not None:
            match.append(matchers.json_params_matcher(dict(answer.json_body),
                                                      strict_match=False))
        if answer.form is not None:
            match.append(matchers.urlencoded_params_matcher(dict(answer.form)))
        body = answer.body if answer.body is not None else (
            json.dumps(answer.json) if answer.json is not None else "")
        headers = dict(answer.headers)
        if answer.json is not None:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        registered.append(mocked.add(answer.method, answer.url, body=body, status=answer.status,
                                     headers=headers, match=match))
    return registered


def dns_table(table):
    """``socket.getaddrinfo`` answering from the contract's ``dns``; other names do not exist."""

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "not in the contract's DNS table")
        address = ipaddress.ip_address(table[host])
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (str(address), port))]

    return getaddrinfo


def assert_all_used(registered, what: str) -> None:
    unused = [f"{r.method} {r.url}" for r in registered if not r.call_count]
    assert not unused, f"{what}: answers never asked for: {unused}"


def sync_now(connection) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    assert run is not None
    return sync_execute(run_id=run.pk)


def connect(provider, contract, user, mocked) -> Connection:
    registered = mock(mocked, contract.connect)
    if provider.auth.via_allauth:
        account = SocialAccount.objects.create(user=user, provider=provider.allauth_id,
                                               uid=contract.oauth_uid)
        grant = TokenGrant(access_token=contract.oauth_token, refresh_token="",
                           expires_at=timezone.now() + timezone.timedelta(days=30),
                           scopes=list(provider.scopes))
        connection = connection_store_oauth(user=user, provider=provider, social_account=account,
                                            grant=grant, label=contract.oauth_uid)
        account_info = connection_test(connection=connection)
        assert account_info.external_id == contract.oauth_uid
    else:
        connection = connection_connect_with_form(user=user, provider=provider,
                                                  fields=contract.fields)
    assert_all_used(registered, "connect")
    return connection


@pytest.fixture
def contract_world(db, django_user_model, mocked_responses, no_sleep, settings,
                   django_capture_on_commit_callbacks):
    settings.THINKALIKE_RATE_BUDGETS = False
    user = django_user_model.objects.create_user(username="contract", email="c@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return user


@pytest.mark.parametrize("provider", PROVIDERS.values(), ids=lambda p: p.slug)
def test_provider_contract(provider, contract_world, mocked_responses, monkeypatch):
    contract = contract_of(provider)
    monkeypatch.setattr(type(provider), "is_available", lambda self: True)
    monkeypatch.setattr(socket, "getaddrinfo", dns_table(contract.dns))
    connection = connect(provider, contract, contract_world, mocked_responses)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE

    if provider.streams:
        registered = mock(mocked_responses, contract.sync)
        run = sync_now(connection)
        assert run.status == SyncRun.Status.SUCCEEDED, (run.error_code, run.error_message)
        assert run.pages >= 2, "the contract's full sync must read at least two pages"
        assert_all_used(registered, "full sync")
        counts = {kind: ExternalItem.objects.filter(connection=connection, kind=kind,
                                                    deleted_at__isnull=True).count()
                  for kind in contract.expected_items}
        assert counts == dict(contract.expected_items)

        rows_before = list(ExternalItem.objects.filter(connection=connection)
                           .order_by("pk").values_list("pk", "content_hash", "last_seen_at"))
        mocked_responses.reset()
        registered = mock(mocked_responses, contract.sync if contract.resync is None
                          else contract.resync)
        again = sync_now(connection)
        assert again.status == SyncRun.Status.SUCCEEDED, (again.error_code, again.error_message)
        assert (again.created, again.updated, again.deleted) == (0, 0, 0)
        rows_after = list(ExternalItem.objects.filter(connection=connection)
                          .order_by("pk").values_list("pk", "content_hash", "last_seen_at"))
        assert rows_after == rows_before, "a re-sync with nothing new must write no rows"
        assert_all_used(registered, "re-sync")
    else:
        assert not contract.sync, "a provider without streams has no sync answers"

    mocked_responses.reset()
    registered = mock(mocked_responses, contract.revoke)
    connection_disconnect(connection=connection, actor="contract")
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not ExternalItem.objects.filter(connection_id=connection.pk).exists()
    assert_all_used(registered, "disconnect")


@pytest.mark.parametrize("provider", PROVIDERS.values(), ids=lambda p: p.slug)
def test_provider_classifies_its_error_answers(provider):
    contract = contract_of(provider)
    statuses = {case.status for case in contract.errors}
    assert set(ERROR_STATUSES) <= statuses and any(s >= 500 for s in statuses), (
        "the contract needs error answers for 401, 403, 429 and a 5xx")
    for case in contract.errors:
        response = requests.Response()
        response.status_code = case.status
        response.headers.update(case.headers)
        response._content = json.dumps(case.json).encode() if case.json is not None else b""
        verdict = provider.classify_response(response).verdict
        assert verdict == case.verdict, f"HTTP {case.status}: {verdict} != {case.verdict}"


def test_a_provider_without_a_contract_fails(monkeypatch):
    from integrations.auth import NoAuth
    from integrations.providers.base import Provider

    class Uncontracted(Provider):
        slug, name, description = "uncontracted", "Uncontracted", "A provider with no fixtures."
        auth = NoAuth()

    with pytest.raises(pytest.fail.Exception, match=r"no contract\.py"):
        contract_of(Uncontracted())


