"""Operator commands: thin wrappers that parse, call one service and print."""

import io
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.utils import timezone
from django_q.models import Schedule
from fernet_fields.hkdf import derive_fernet_key

from consent.services import consent_set
from integrations.management.commands.setup_schedules import SCHEDULES
from integrations.models import ApiCall, Connection, Credential, ExternalItem, SyncRun
from integrations.providers.registry import get_provider

ACCESS_TOKEN = "AT-secret-123456"
REFRESH_TOKEN = "RT-secret-654321"
OPENLIBRARY = "https://openlibrary.org"
SHELVES = {
    "want-to-read": [("OL1W", "Dune", ["Frank Herbert"])],
    "currently-reading": [("OL2W", "The Left Hand of Darkness", ["Ursula K. Le Guin"])],
    "already-read": [("OL3W", "Piranesi", ["Susanna Clarke"])],
}
SUBJECTS = {"OL1W": ["Science fiction", "Deserts"], "OL2W": ["Science fiction"],
            "OL3W": ["Fantasy"]}


def run(name, *args, **options) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(
        username="alice", email="alice@example.com", password="pw")


def make_connection(user, provider="openlibrary", **fields) -> Connection:
    return Connection.objects.create(
        user=user, provider=provider, external_account_id=fields.pop("external_id", "alice"),
        account_label="alice", **fields,
    )


def add_credential(connection, **fields) -> Credential:
    return Credential.objects.create(connection=connection, token_type="Bearer", **fields)


@pytest.fixture
def reading_log(mocked_responses):
    """Open Library answers for user ``alice``: three shelves of one book each."""
    for shelf, books in SHELVES.items():
        mocked_responses.get(
            f"{OPENLIBRARY}/people/alice/books/{shelf}.json",
            json={"page": 1, "numFound": len(books), "reading_log_entries": [
                {"work": {"title": title, "key": f"/works/{work_id}", "author_names": authors}}
                for work_id, title, authors in books
            ]},
        )
    for work_id, subjects in SUBJECTS.items():
        mocked_responses.get(f"{OPENLIBRARY}/works/{work_id}.json", json={"subjects": subjects})
    return mocked_responses


# --- sync_connections -------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_connections_foreground_runs_the_sync_here(alice, reading_log, no_sleep):
    connection = make_connection(alice)
    consent_set(user=alice, purpose="matching", granted=True)

    out = run("sync_connections", "--connection", str(connection.pk), "--foreground")

    run_ = SyncRun.objects.get(connection=connection)
    assert run_.status == SyncRun.Status.SUCCEEDED
    assert run_.trigger == SyncRun.Trigger.COMMAND
    assert f"run #{run_.pk} succeeded" in out
    assert "fetched=3 created=3 updated=0 unchanged=0 deleted=0" in out
    assert set(ExternalItem.objects.values_list("external_id", flat=True)) == set(SUBJECTS)
    connection.refresh_from_db()
    assert connection.sync_claimed_at is None


@pytest.mark.django_db
def test_sync_connections_queues_once(alice):
    connection = make_connection(alice)

    first = run("sync_connections", "--provider", "openlibrary", "--full")
    second = run("sync_connections", "--user", "ALICE@example.com")

    queued = SyncRun.objects.get(connection=connection)
    assert (queued.status, queued.trigger, queued.mode) == (
        SyncRun.Status.QUEUED, SyncRun.Trigger.COMMAND, SyncRun.Mode.FULL)
    assert f"queued sync run #{queued.pk}" in first
    assert "already queued or running" in second


@pytest.mark.django_db
def test_sync_connections_selects_by_user_id_and_skips_inactive(alice, django_user_model):
    make_connection(alice, status=Connection.Status.NEEDS_REAUTH)
    bob = django_user_model.objects.create_user(username="bob", email="bob@example.com")
    make_connection(bob)

    out = run("sync_connections", "--user", str(alice.pk))

    assert "skipped" in out
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_sync_connections_due_dispatches_only_due_connections(alice, django_user_model):
    due = make_connection(alice, next_sync_at=timezone.now() - timedelta(minutes=1))
    bob = django_user_model.objects.create_user(username="bob", email="bob@example.com")
    make_connection(bob, next_sync_at=timezone.now() + timedelta(hours=1))

    out = run("sync_connections", "--due")

    assert "Queued 1 due connection(s)." in out
    assert list(SyncRun.objects.values_list("connection_id", "trigger")) == [
        (due.pk, SyncRun.Trigger.SCHEDULE)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "myspace"], "Unknown provider 'myspace'"),
        (["--user", "nobody@example.com"], "No user with email or id 'nobody@example.com'"),
        (["--connection", "999"], "No connection with id 999"),
        (["--due", "--foreground"], "--due"),
    ],
)
def test_sync_connections_refuses_bad_selections(alice, args, message):
    with pytest.raises(CommandError, match=message):
        run("sync_connections", *args)


# --- refresh_tokens ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_tokens_refreshes_and_lists_failures(alice, django_user_model, mocked_responses):
    soon = timezone.now() + timedelta(minutes=2)
    refreshable = make_connection(alice, provider="sandbox", external_id="a")
    add_credential(refreshable, access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN,
                   expires_at=soon)
    bob = django_user_model.objects.create_user(username="bob", email="bob@example.com")
    stuck = make_connection(bob, provider="sandbox", external_id="b")
    add_credential(stuck, access_token="AT-other-0000", expires_at=soon)
    later = make_connection(
        django_user_model.objects.create_user(username="cy", email="cy@example.com"),
        provider="sandbox", external_id="c")
    add_credential(later, access_token="AT-later-1111", refresh_token="RT-later",
                   expires_at=timezone.now() + timedelta(hours=2))
    sandbox = get_provider("sandbox")
    mocked_responses.post(sandbox.auth.token_endpoint(sandbox).url, json={
        "access_token": "AT-new-777777", "token_type": "Bearer", "expires_in": 3600})

    out = run("refresh_tokens")

    assert "Refreshed 1 token(s)." in out
    assert f"Connection #{stuck.pk}:" in out
    assert Credential.objects.get(connection=refreshable).access_token == "AT-new-777777"
    assert Credential.objects.get(connection=later).access_token == "AT-later-1111"
    assert ACCESS_TOKEN not in out and REFRESH_TOKEN not in out


@pytest.mark.django_db
def test_refresh_tokens_within_minutes_and_connection_filter(alice, mocked_responses):
    connection = make_connection(alice, provider="sandbox")
    add_credential(connection, access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN,
                   expires_at=timezone.now() + timedelta(hours=2))

    assert "Refreshed 0 token(s)." in run("refresh_tokens", "--within-minutes", "60")
    assert "Refreshed 0 token(s)." in run(
        "refresh_tokens", "--within-minutes", "180", "--connection", str(connection.pk + 1))
    assert not mocked_responses.calls


# --- rotate_encryption_keys -------------------------------------------------------------------


def raw_access_token(credential) -> bytes:
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token FROM integrations_credential WHERE id = %s",
                       [credential.pk])
        return bytes(cursor.fetchone()[0])


@pytest.mark.django_db
def test_rotate_encryption_keys_reencrypts_with_the_same_key(alice):
    credential = add_credential(make_connection(alice, provider="sandbox"),
                                access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN)
    before = raw_access_token(credential)

    out = run("rotate_encryption_keys")

    assert "Re-encrypted 1 credential(s)" in out
    assert raw_access_token(credential) != before
    credential.refresh_from_db()
    assert (credential.access_token, credential.refresh_token) == (ACCESS_TOKEN, REFRESH_TOKEN)


@pytest.mark.django_db
def test_rotate_encryption_keys_moves_rows_to_the_new_key(alice, fernet_keys):
    fernet_keys(["key-2025"])
    credential = add_credential(make_connection(alice, provider="sandbox"),
                                access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN)
    before = raw_access_token(credential)
    fernet_keys(["key-2026", "key-2025"])

    run("rotate_encryption_keys")

    after = raw_access_token(credential)
    assert after != before
    assert Fernet(derive_fernet_key("key-2026")).decrypt(after) == ACCESS_TOKEN.encode()
    with pytest.raises(InvalidToken):
        Fernet(derive_fernet_key("key-2025")).decrypt(after)
    fernet_keys(["key-2026"])  # the old key can go now
    assert Credential.objects.get(pk=credential.pk).refresh_token == REFRESH_TOKEN


def test_rotate_encryption_keys_help_says_new_key_first():
    from integrations.management.commands.rotate_encryption_keys import Command

    assert "THINKALIKE_FERNET_KEYS" in Command.help
    assert "FIRST" in Command.help


# --- purge_api_calls --------------------------------------------------------------------------


def api_call(days_old: int) -> ApiCall:
    call = ApiCall.objects.create(provider="openlibrary", method="GET", host="openlibrary.org",
                                  path="/x", status_code=200)
    ApiCall.objects.filter(pk=call.pk).update(at=timezone.now() - timedelta(days=days_old))
    return call


@pytest.mark.django_db
def test_purge_api_calls_deletes_only_rows_past_retention(settings):
    settings.THINKALIKE_API_CALL_RETENTION_DAYS = 30
    old, recent = api_call(31), api_call(29)

    out = run("purge_api_calls")

    assert "Deleted 1 outbound request log row(s) older than 30 day(s)." in out
    assert list(ApiCall.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ApiCall.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_purge_api_calls_days_option():
    api_call(31), api_call(5), api_call(0)

    assert "Deleted 2 " in run("purge_api_calls", "--days", "2")
    assert ApiCall.objects.count() == 1
    with pytest.raises(CommandError):
        run("purge_api_calls", "--days", "-1")


# --- setup_schedules --------------------------------------------------------------------------


@pytest.mark.django_db
def test_setup_schedules_is_idempotent():
    first = run("setup_schedules")
    second = run("setup_schedules")

    schedules = {s.name: s for s in Schedule.objects.all()}
    assert len(schedules) == Schedule.objects.count() == len(SCHEDULES)
    dispatch = schedules["thinkalike-dispatch-due-syncs"]
    assert (dispatch.func, dispatch.schedule_type, dispatch.minutes, dispatch.repeats) == (
        "integrations.tasks.dispatch_due_syncs", Schedule.MINUTES, 1, -1)
    refresh = schedules["thinkalike-refresh-expiring-tokens"]
    assert (refresh.func, refresh.minutes) == ("integrations.tasks.refresh_expiring_tokens", 10)
    assert schedules["thinkalike-purge-api-calls"].schedule_type == Schedule.DAILY
    stale = schedules["thinkalike-close-stale-action-runs"]
    assert (stale.func, stale.minutes) == ("integrations.tasks.close_stale_action_runs", 10)
    pushes = schedules["thinkalike-retry-library-pushes"]
    assert (pushes.func, pushes.minutes) == ("library.tasks.retry_pushes", 5)
    digest = schedules["thinkalike-staff-health-digest"]
    assert (digest.func, digest.schedule_type) == (
        "integrations.tasks.send_staff_health_digest", Schedule.HOURLY)
    tests = schedules["thinkalike-test-connections"]
    assert (tests.func, tests.minutes) == ("integrations.tasks.test_due_connections", 5)
    exports = schedules["thinkalike-expire-exports"]
    assert (exports.func, exports.minutes) == ("privacy.tasks.expire_exports", 15)
    assert first.count("created") == len(SCHEDULES)
    assert second.count("unchanged") == len(SCHEDULES)


@pytest.mark.django_db
def test_setup_schedules_removes_duplicates_and_fixes_drift():
    name = "thinkalike-dispatch-due-syncs"
    kept = Schedule.objects.create(name=name, func="integrations.tasks.old_name",
                                   schedule_type=Schedule.MINUTES, minutes=5, repeats=0)
    Schedule.objects.create(name=name, func="integrations.tasks.dispatch_due_syncs",
                            schedule_type=Schedule.MINUTES, minutes=1)

    out = run("setup_schedules")

    assert Schedule.objects.count() == len(SCHEDULES)
    kept.refresh_from_db()
    assert (kept.func, kept.minutes, kept.repeats) == (
        "integrations.tasks.dispatch_due_syncs", 1, -1)
    assert f"{name}: updated (1 duplicate(s) removed)" in out


def test_scheduled_functions_exist():
    from django.utils.module_loading import import_string

    for spec in SCHEDULES:
        assert callable(import_string(spec.func))


# --- setup_demo -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_setup_demo_is_idempotent(django_user_model, settings):
    settings.THINKALIKE_SANDBOX = True

    run("setup_demo", "--admin-password", "first-admin-pw")
    out = run("setup_demo", "--password", "changed-demo-pw", "--admin-password", "ignored",
              "--url", "http://localhost:8000")

    demo = django_user_model.objects.get(email="demo@example.com")
    admin = django_user_model.objects.get(email="admin@example.com")
    assert django_user_model.objects.count() == 2
    assert EmailAddress.objects.filter(user=demo, verified=True, primary=True).count() == 1
    assert admin.is_superuser and admin.is_staff
    assert demo.check_password("changed-demo-pw")
    assert admin.check_password("first-admin-pw")  # an existing admin is never touched
    assert authenticate(username="demo@example.com", password="changed-demo-pw") == demo
    assert Schedule.objects.count() == len(SCHEDULES)
    assert "http://localhost:8000/" in out
    assert "demo@example.com / changed-demo-pw" in out


@pytest.mark.django_db
def test_setup_demo_refuses_without_the_sandbox(django_user_model, settings):
    settings.THINKALIKE_SANDBOX = False

    with pytest.raises(CommandError, match="THINKALIKE_SANDBOX=1"):
        run("setup_demo")
    assert not django_user_model.objects.exists()
