"""The Stripe stand-in answers Stripe's shapes: a balance, lists paged by starting_after with
has_more, created[gte], Stripe's errors, and nothing unless the sandbox is on."""

from datetime import UTC, datetime

import pytest

from integrations.models import ExternalItem
from integrations.providers.stripe import mapping
from integrations.sandbox.standins import stripe
from tests.integrations.sandbox.standin_sync import connect_and_sync

BASE = "/sandbox/stand-ins/stripe/"
AUTH = {"HTTP_AUTHORIZATION": "Bearer rk_test_51StandInDemoKey0001"}


@pytest.fixture(autouse=True)
def sandbox_on(settings):
    settings.THINKALIKE_SANDBOX = True


def test_balance_needs_a_test_mode_key(client):
    assert client.get(BASE + "balance", **AUTH).json()["object"] == "balance"
    refused = client.get(BASE + "balance", HTTP_AUTHORIZATION="Bearer rk_live_51Nope00000000")
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert "rk_live" not in refused.content.decode()


def test_charges_page_with_starting_after_until_has_more_is_false(client):
    seen, params = [], {"limit": "2"}
    while True:
        page = client.get(BASE + "charges", params, **AUTH).json()
        assert page["object"] == "list" and page["url"] == "/v1/charges"
        seen += page["data"]
        if not page["has_more"]:
            break
        params = {"limit": "2", "starting_after": page["data"][-1]["id"]}
    assert [c["id"] for c in seen] == [c["id"] for c in sorted(
        stripe.charges(), key=lambda c: -c["created"])]
    assert all(mapping.map_charge(c, {}).title.endswith("charge") for c in seen)


def test_created_gte_keeps_newer_records_only(client):
    newest = max(c["created"] for c in stripe.CUSTOMERS)
    page = client.get(BASE + "customers", {"created[gte]": newest}, **AUTH).json()
    assert [c["created"] for c in page["data"]] == [newest] and page["has_more"] is False


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "x"},
                                    {"starting_after": "ch_unknown"}])
def test_bad_parameters_get_stripe_errors(client, params):
    answer = client.get(BASE + "charges", params, **AUTH)
    assert answer.status_code == 400 and "message" in answer.json()["error"]


def test_answers_carry_the_version_asked_for(client):
    answer = client.get(BASE + "balance", HTTP_STRIPE_VERSION="2024-06-20", **AUTH)
    assert answer["Stripe-Version"] == "2024-06-20" and answer["Request-Id"].startswith("req_")


def test_nothing_unless_the_sandbox_is_on(client, settings):
    settings.THINKALIKE_SANDBOX = False
    assert client.get(BASE + "balance", **AUTH).status_code == 404


def test_the_provider_connects_and_syncs_against_the_stand_in(sandbox, settings, db,
                                                              django_capture_on_commit_callbacks):
    connection, run = connect_and_sync(settings, "stripe", AUTH["HTTP_AUTHORIZATION"][7:])
    charges = stripe.charges()
    assert run.created == len(charges) + len(stripe.CUSTOMERS)
    kinds = ExternalItem.objects.filter(connection=connection).values_list("kind", flat=True)
    assert sorted(kinds) == ["charge"] * len(charges) + ["customer"] * len(stripe.CUSTOMERS)
    assert all(path.startswith(BASE) for path in sandbox.paths())


def test_recent_charges_cover_the_last_30_days_and_stay_the_same(time_machine):
    time_machine.move_to("2026-11-29T08:00:00Z", tick=False)
    now = int(datetime(2026, 11, 29, 8, tzinfo=UTC).timestamp())
    recent = stripe.recent_charges()
    days = {c["created"] // 86400 for c in recent}
    assert len(days) >= 20 and all(now - 31 * 86400 <= c["created"] <= now for c in recent)
    assert len({c["id"] for c in recent}) == len(recent)
    assert stripe.recent_charges() == recent
    time_machine.move_to("2026-11-30T08:00:00Z", tick=False)
    assert {c["id"] for c in recent} & {c["id"] for c in stripe.recent_charges()}
