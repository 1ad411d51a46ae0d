"""The staff admin: every page renders, no page shows a secret, actions call the services."""

from datetime import timedelta

import pytest
from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentEvent
from consent.services import consent_set
from integrations.admin import NOT_QUEUED_STATUS, NOT_QUEUED_SYNC_OFF, CredentialInline
from integrations.models import (
    ActionRun,
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    ProxyStat,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.oauth_apps import oauth_app_save
from integrations.providers.openlibrary.provider import NOT_PUBLIC
from integrations.providers.registry import get_provider

ACCESS_TOKEN = "AT-secret-123456"
REFRESH_TOKEN = "RT-secret-654321"
APP_SECRET = "personal-app-secret-never-on-a-page-99"
FINGERPRINT = "c0de"
OUR_APPS = {"integrations", "consent"}
REGISTERED = sorted(admin.site._registry.items(), key=lambda pair: pair[0]._meta.label)
CHANGELIST = reverse("admin:integrations_connection_changelist")
WANT_TO_READ = "https://openlibrary.org/people/{username}/books/want-to-read.json"


def make_connection(user, provider="sandbox", **fields) -> Connection:
    connection = Connection.objects.create(
        user=user, provider=provider, external_account_id=fields.pop("external_id", "acct-1"),
        account_label=fields.pop("label", "Alice on Sandbox"),
        scopes=["library.read", "profile.read"], **fields,
    )
    Credential.objects.create(
        connection=connection, access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN,
        token_type="Bearer", expires_at=timezone.now() + timedelta(hours=1),
        refreshed_at=timezone.now(), fingerprint=FINGERPRINT,
    )
    return connection


def fill(connection: Connection) -> None:
    """One row of every model hanging off a connection."""
    user = connection.user
    SyncRun.objects.create(
        connection=connection, trigger=SyncRun.Trigger.MANUAL, status=SyncRun.Status.FAILED,
        started_at=timezone.now(), finished_at=timezone.now(), fetched=3, error_code="try_later",
        error_message="Sandbox answered HTTP 503", streams={"tracks": {"status": "failed"}},
    )
    StreamState.objects.create(connection=connection, stream="tracks", cursor={"page": 2})
    ExternalItem.objects.create(
        connection=connection, kind="track", external_id=f"t{connection.pk}",
        title="Only Shallow", attrs={"genres": ["shoegaze"]}, content_hash="h1",
    )
    interest, _ = Interest.objects.get_or_create(
        slug="music-shoegaze", defaults={"label": "Shoegaze", "category": "music"})
    UserInterest.objects.create(user=user, interest=interest, connection=connection, weight=1.0,
                                purpose="matching")
    ApiCall.objects.create(connection=connection, provider=connection.provider, method="GET",
                           host="sandbox.test", path="/sandbox/api/me/tracks", status_code=200)
    AuditEvent.objects.create(user=user, provider=connection.provider,
                              connection_ref=connection.pk, action=AuditEvent.Action.CONNECTED)
    ProxyStat.objects.create(connection=connection, day=timezone.now().date(), hits=3, misses=1)
    ActionRun.objects.create(
        connection=connection, action="post_message", status=ActionRun.Status.FAILED,
        idempotency_key=f"key-{connection.pk}", input_summary={"text": "Hello"},
        error="Sandbox refused access (HTTP 401); please reconnect.",
    )


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(
        username="alice", email="alice@example.com", password="pw")


@pytest.fixture
def world(alice):
    connection = make_connection(alice)
    fill(connection)
    consent_set(user=alice, purpose="matching", granted=True)
    consent_set(user=alice, purpose="matching", granted=True, provider="sandbox")
    oauth_app_save(user=alice, provider=get_provider("myanimelist"), client_id="alice-mal-app",
                   client_secret=APP_SECRET)
    return connection


def assert_no_secret(response) -> str:
    body = response.content.decode()
    assert ACCESS_TOKEN not in body
    assert REFRESH_TOKEN not in body
    assert APP_SECRET not in body
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED]
)
def test_every_changelist_renders_without_secrets(admin_client, world, model, model_admin):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert_no_secret(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [m for m, _ in REGISTERED if m._meta.app_label in OUR_APPS],
    ids=lambda m: m._meta.label,
)
def test_every_change_page_of_ours_renders_without_secrets(admin_client, world, model):
    obj = model.objects.first()
    assert obj is not None, f"the fixture made no {model._meta.label}"
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert_no_secret(response)


@pytest.mark.django_db
def test_connection_change_page_shows_credential_metadata_only(admin_client, world):
    response = admin_client.get(
        reverse("admin:integrations_connection_change", args=[world.pk]))

    body = assert_no_secret(response)
    assert FINGERPRINT in body
    assert "Bearer" in body
    assert "library.read, profile.read" in body
    assert "Sandbox answered HTTP 503" in body  # the recent runs inline
    assert 'name="_save"' not in body  # read-only: changes go through actions
    for secret_field in ("access_token", "refresh_token", "secret"):
        assert f'name="credential-0-{secret_field}"' not in body


@pytest.mark.django_db
def test_action_runs_are_listed_filtered_and_linked_from_the_connection(admin_client, world):
    changelist = reverse("admin:integrations_actionrun_changelist")

    page = admin_client.get(reverse("admin:integrations_connection_change", args=[world.pk]))
    failed = admin_client.get(changelist, {"status__exact": "failed", "q": "post_message"})
    succeeded = admin_client.get(changelist, {"status__exact": "succeeded"})

    assert f"{changelist}?connection__id__exact={world.pk}" in page.content.decode()
    assert [run.connection for run in failed.context["cl"].result_list] == [world]
    assert list(succeeded.context["cl"].result_list) == []


@pytest.mark.django_db
def test_connection_change_page_shows_the_latest_ten_runs(admin_client, alice):
    connection = make_connection(alice)
    for n in range(12):
        SyncRun.objects.create(connection=connection, trigger=SyncRun.Trigger.SCHEDULE,
                               error_code=f"code-{n:02d}", error_message="x")

    body = admin_client.get(
        reverse("admin:integrations_connection_change", args=[connection.pk])
    ).content.decode()

    assert "code-11" in body and "code-02" in body
    assert "code-01" not in body and "code-00" not in body


@pytest.mark.django_db
def test_credential_inline_form_has_no_secret_fields(rf, admin_user, world):
    request = rf.get("/")
    request.user = admin_user
    inline = CredentialInline(Connection, admin.site)
    form = inline.get_formset(request, world).form

    assert not {"access_token", "refresh_token", "secret"} & set(form.base_fields)
    assert not {"access_token", "refresh_token", "secret"} & set(
        inline.get_fields(request, world))


@pytest.mark.django_db
def test_connection_changelist_lists_health_and_fingerprint(admin_client, world):
    Connection.objects.filter(pk=world.pk).update(consecutive_failures=4)

    body = assert_no_secret(admin_client.get(CHANGELIST))

    assert "alice@example.com" in body
    assert FINGERPRINT in body
    assert '<td class="field-consecutive_failures">4</td>' in body


@pytest.mark.django_db
def test_connection_changelist_search_by_email_and_label(admin_client, world, django_user_model):
    bob = django_user_model.objects.create_user(username="bob", email="bob@example.com")
    make_connection(bob, label="Bob's beats")

    by_email = admin_client.get(CHANGELIST, {"q": "alice@"})
    by_label = admin_client.get(CHANGELIST, {"q": "beats"})

    assert list(by_email.context["cl"].result_list) == [world]
    assert [c.user for c in by_label.context["cl"].result_list] == [bob]


def test_allauth_secret_admins_are_unregistered():
    assert not admin.site.is_registered(SocialApp)
    assert not admin.site.is_registered(SocialToken)


def add_connections(user_model, n):
    for _ in range(n):
        index = user_model.objects.count()
        user = user_model.objects.create_user(username=f"u{index}", email=f"u{index}@example.com")
        connection = make_connection(user)
        fill(connection)
        consent_set(user=user, purpose="matching", granted=True)


@pytest.mark.django_db
def test_connection_changelist_query_count_is_constant(admin_client, django_user_model):
    add_connections(django_user_model, 1)
    admin_client.get(CHANGELIST)  # warm the session and content-type caches
    with CaptureQueriesContext(db) as one:
        assert admin_client.get(CHANGELIST).status_code == 200
    add_connections(django_user_model, 4)
    with CaptureQueriesContext(db) as five:
        response = admin_client.get(CHANGELIST)

    assert response.context["cl"].result_count == 5
    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [m for m, _ in REGISTERED if m._meta.app_label in OUR_APPS],
    ids=lambda m: m._meta.label,
)
def test_every_changelist_of_ours_has_a_constant_query_count(
    admin_client, django_user_model, model
):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    add_connections(django_user_model, 1)
    admin_client.get(url)
    with CaptureQueriesContext(db) as one:
        admin_client.get(url)
    add_connections(django_user_model, 4)
    with CaptureQueriesContext(db) as five:
        admin_client.get(url)

    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]


def post_action(admin_client, action, *connections):
    return admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [c.pk for c in connections]},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_sync_now_queues_one_run_and_then_says_already_queued(admin_client, alice):
    connection = make_connection(alice)

    first = post_action(admin_client, "sync_now", connection)
    second = post_action(admin_client, "sync_now", connection)

    runs = SyncRun.objects.filter(connection=connection)
    assert [(r.status, r.trigger) for r in runs] == [
        (SyncRun.Status.QUEUED, SyncRun.Trigger.MANUAL)]
    assert "sync queued" in messages_of(first)[0]
    assert "already queued or running" in messages_of(second)[0]


@pytest.mark.django_db
def test_sync_now_skips_a_connection_that_needs_reconnecting(admin_client, alice):
    connection = make_connection(alice, status=Connection.Status.NEEDS_REAUTH)

    response = post_action(admin_client, "sync_now", connection)

    assert not SyncRun.objects.exists()
    # The status's label in a sentence that reads, and the provider's name, not its slug.
    assert messages_of(response) == [NOT_QUEUED_STATUS.format(
        connection=f"Sandbox for {alice} (Alice on Sandbox)", status="Needs reconnecting")]
    assert "is needs" not in messages_of(response)[0]


@pytest.mark.django_db
def test_sync_now_says_when_syncing_is_turned_off(admin_client, alice):
    connection = make_connection(alice, sync_enabled=False)

    response = post_action(admin_client, "sync_now", connection)

    assert not SyncRun.objects.exists()
    assert messages_of(response) == [NOT_QUEUED_SYNC_OFF.format(connection=connection)]


@pytest.mark.django_db
def test_mark_for_reauthorisation_sets_status_and_audits(admin_client, admin_user, alice):
    connection = make_connection(alice)

    response = post_action(admin_client, "mark_reauth", connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    event = AuditEvent.objects.get(action=AuditEvent.Action.MARKED_REAUTH)
    assert (event.connection_ref, event.actor) == (connection.pk, admin_user.email)
    assert "1 connection(s) marked" in messages_of(response)[0]


@pytest.mark.django_db
def test_test_connection_reports_success(admin_client, alice, mocked_responses):
    connection = make_connection(alice, provider="openlibrary", external_id="alice_reads",
                                 label="alice_reads")
    mocked_responses.get(WANT_TO_READ.format(username="alice_reads"),
                         json={"page": 1, "numFound": 0, "reading_log_entries": []})

    response = post_action(admin_client, "test_connection", connection)

    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "success"
    assert "works (account alice_reads)" in str(message)


@pytest.mark.django_db
def test_test_connection_reports_the_providers_error(admin_client, alice, mocked_responses):
    connection = make_connection(alice, provider="openlibrary", external_id="alice_reads")
    error = "Shelf want-to-read not found or not accessible"
    mocked_responses.get(WANT_TO_READ.format(username="alice_reads"), json={"error": error})

    response = post_action(admin_client, "test_connection", connection)

    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    assert NOT_PUBLIC.format(error=error) in str(message)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE  # a test changes nothing


@pytest.mark.django_db
def test_actions_need_the_change_permission(client, django_user_model, alice):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user(username="s", email="s@example.com",
                                                  is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_connection"))
    client.force_login(staff)
    connection = make_connection(alice)

    page = client.get(CHANGELIST)
    post_action(client, "sync_now", connection)

    assert page.status_code == 200
    assert "sync_now" not in page.content.decode()
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_consent_grant_admin_says_all_services(admin_client, world):
    body = admin_client.get(reverse("admin:consent_consentgrant_changelist")).content.decode()

    assert "All services" in body
    assert "sandbox" in body


@pytest.mark.django_db
def test_consent_history_is_append_only(admin_client, world):
    event = ConsentEvent.objects.first()
    change_url = reverse("admin:consent_consentevent_change", args=[event.pk])

    assert admin_client.get(reverse("admin:consent_consentevent_add")).status_code == 403
    assert admin_client.post(change_url, {"granted": ""}).status_code == 403
    delete_url = reverse("admin:consent_consentevent_delete", args=[event.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert ConsentEvent.objects.filter(pk=event.pk, granted=True).exists()
