"""The Connected Services pages: integrations/views.py."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.timezone import now as timezone_now

from consent.services import consent_set
from integrations import views
from integrations.forms import INVALID_VALUE
from integrations.models import (
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    SyncRun,
    UserInterest,
)
from integrations.providers.openlibrary.provider import NOT_PUBLIC
from integrations.providers.registry import all_providers
from integrations.services import PURGE_WHILE_SYNCING

pytestmark = pytest.mark.django_db

WANT_TO_READ = "https://openlibrary.org/people/{name}/books/want-to-read.json"


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def other_user():
    return get_user_model().objects.create_user("mallory", "mallory@example.com", "pw-mal-123")


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def make_connection(user, provider="openlibrary", **fields):
    defaults = {"external_account_id": f"{user.username}-{provider}",
                "account_label": f"{user.username} on {provider}"}
    connection = Connection.objects.create(user=user, provider=provider, **{**defaults, **fields})
    Credential.objects.create(connection=connection)
    return connection


def make_item(connection, title="Dune", external_id="OL1W", **attrs):
    return ExternalItem.objects.create(
        connection=connection, kind="work", external_id=external_id, title=title,
        attrs=attrs or {"authors": ["Frank Herbert"], "shelf": "already-read"}, content_hash="x",
    )


def make_interest(connection, label="Science fiction", purposes=("matching",), weight=0.8):
    interest, _ = Interest.objects.get_or_create(
        slug=f"books:{label.lower().replace(' ', '-')}",
        defaults={"label": label, "category": "books"},
    )
    rows = [
        UserInterest.objects.create(user=connection.user, interest=interest,
                                    connection=connection, weight=weight, purpose=purpose)
        for purpose in purposes
    ]
    return rows[0]


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# -- access -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["integrations:connected_services", "integrations:interests"])
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_object_urls_require_login(client, user):
    conn = make_connection(user)
    response = client.get(reverse("integrations:connection_detail", args=[conn.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def _object_urls(conn, run):
    return [
        ("get", reverse("integrations:connection_detail", args=[conn.pk])),
        ("post", reverse("integrations:sync_now", args=[conn.pk])),
        ("post", reverse("integrations:purge_data", args=[conn.pk])),
        ("get", reverse("integrations:disconnect", args=[conn.pk])),
        ("post", reverse("integrations:disconnect", args=[conn.pk])),
        ("get", reverse("integrations:run_detail", args=[conn.pk, run.pk])),
        ("get", reverse("integrations:run_status", args=[conn.pk, run.pk])),
    ]


def test_another_users_connection_is_404_everywhere(client_in, other_user):
    theirs = make_connection(other_user)
    make_item(theirs)
    run = SyncRun.objects.create(connection=theirs, trigger=SyncRun.Trigger.MANUAL)
    for method, url in _object_urls(theirs, run):
        response = getattr(client_in, method)(url)
        assert response.status_code == 404, (method, url)
    assert Connection.objects.filter(pk=theirs.pk).exists()
    assert ExternalItem.objects.filter(connection=theirs).count() == 1
    assert SyncRun.objects.filter(connection=theirs).count() == 1


def test_run_of_another_connection_is_404(client_in, user, other_user):
    mine = make_connection(user)
    theirs_run = SyncRun.objects.create(connection=make_connection(other_user),
                                        trigger=SyncRun.Trigger.MANUAL)
    url = reverse("integrations:run_detail", args=[mine.pk, theirs_run.pk])
    assert client_in.get(url).status_code == 404


def test_post_only_urls_refuse_get(client_in, user):
    conn = make_connection(user)
    for name in ("integrations:sync_now", "integrations:purge_data"):
        assert client_in.get(reverse(name, args=[conn.pk])).status_code == 405
    assert Connection.objects.get(pk=conn.pk).sync_claimed_at is None


# -- Connected Services -----------------------------------------------------------------------

def test_catalog_lists_every_provider(client_in):
    response = client_in.get(reverse("integrations:connected_services"))
    assert response.status_code == 200
    for provider in all_providers():
        assert provider.name in response.content.decode()
        assert str(provider.description) in response.content.decode()
    html = response.content.decode()
    assert "Not connected" in html
    # OAuth connect is a POST to allauth with process=connect; form providers get a link.
    assert 'action="/accounts/sandbox/login/?process=connect"' in html
    assert 'name="process" value="connect"' in html
    assert reverse("integrations:connect", args=["openlibrary"]) in html


def test_catalog_shows_connection_state(client_in, user):
    conn = make_connection(user, "openlibrary", account_label="bookworm",
                           consecutive_failures=2, last_error="Open Library is down")
    make_connection(user, "sandbox", status=Connection.Status.NEEDS_REAUTH)
    SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL,
                           status=SyncRun.Status.SUCCEEDED, fetched=12, created=5)
    consent_set(user=user, purpose="matching", granted=True, provider="openlibrary")
    html = client_in.get(reverse("integrations:connected_services")).content.decode()
    assert "Connected as bookworm" in html
    assert "Needs reconnecting" in html
    assert "Reconnect" in html
    assert "12 fetched, 5 new" in html
    assert "The last 2 syncs failed: Open Library is down" in html
    assert "badge-health-degraded" in html
    assert "Open Library is down" in html
    assert reverse("integrations:sync_now", args=[conn.pk]) in html
    assert reverse("integrations:disconnect", args=[conn.pk]) in html


def test_catalog_query_count_is_constant(client_in, user):
    def count_queries():
        with CaptureQueriesContext(db_connection) as ctx:
            response = client_in.get(reverse("integrations:connected_services"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    first = make_connection(user, "openlibrary")
    SyncRun.objects.create(connection=first, trigger=SyncRun.Trigger.MANUAL)
    one = count_queries()
    for slug in ("sandbox", "spotify"):
        conn = make_connection(user, slug)
        for _ in range(2):
            SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL,
                                   status=SyncRun.Status.SUCCEEDED)
    consent_set(user=user, purpose="matching", granted=True)
    three = count_queries()
    assert one == three


# -- connect form -----------------------------------------------------------------------------

def test_connect_unknown_provider_is_404(client_in):
    assert client_in.get(reverse("integrations:connect", args=["nope"])).status_code == 404


def test_connect_oauth_provider_redirects_with_message(client_in):
    response = client_in.get(reverse("integrations:connect", args=["sandbox"]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("integrations:connected_services")
    assert views.CONNECT_WITH_SIGN_IN.format(name="Sandbox") in messages_of(response)


def test_connect_form_renders_fields(client_in):
    response = client_in.get(reverse("integrations:connect", args=["openlibrary"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Open Library username" in html
    assert 'maxlength="80"' in html


def test_connect_invalid_username_saves_nothing(client_in, mocked_responses):
    url = reverse("integrations:connect", args=["openlibrary"])
    response = client_in.post(url, {"username": "not a name!"})
    assert response.status_code == 200
    assert INVALID_VALUE.format(label="open library username") in response.content.decode()
    assert not Connection.objects.exists()
    assert len(mocked_responses.calls) == 0


def test_connect_open_library(client_in, user, mocked_responses):
    mocked_responses.get(WANT_TO_READ.format(name="bookworm"),
                         json={"page": 1, "numFound": 0, "reading_log_entries": []})
    response = client_in.post(reverse("integrations:connect", args=["openlibrary"]),
                              {"username": "bookworm"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("integrations:connected_services")
    assert views.CONNECTED.format(name="Open Library", label="bookworm") in messages_of(response)
    conn = Connection.objects.get(user=user, provider="openlibrary")
    assert conn.external_account_id == "bookworm"
    assert conn.sync_runs.count() == 1  # the first sync is queued


def test_connect_open_library_error_body_is_refused(client_in, mocked_responses):
    mocked_responses.get(WANT_TO_READ.format(name="secretive"), json={"error": "private"})
    response = client_in.post(reverse("integrations:connect", args=["openlibrary"]),
                              {"username": "secretive"})
    assert response.status_code == 200
    html = response.content.decode()
    assert NOT_PUBLIC.format(error="private").replace("'", "&#x27;") in html
    assert 'value="secretive"' in html  # a non-secret value is shown again to fix it
    assert not Connection.objects.exists()


# -- detail, sync now and runs ----------------------------------------------------------------

def test_detail_shows_streams_runs_and_items(client_in, user):
    conn = make_connection(user, "openlibrary", scopes=[])
    make_item(conn, title="Dune")
    SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL)
    consent_set(user=user, purpose="matching", granted=True)
    response = client_in.get(reverse("integrations:connection_detail", args=[conn.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reading log" in html
    assert "Matching: on" in html
    assert "Community recommendations: off" in html
    assert "Dune" in html
    assert "authors: Frank Herbert" in html
    assert reverse("integrations:purge_data", args=[conn.pk]) in html


def test_detail_escapes_item_titles(client_in, user):
    conn = make_connection(user)
    make_item(conn, title="<script>alert('x')</script>", shelf="<b>shelf</b>")
    html = client_in.get(reverse("integrations:connection_detail", args=[conn.pk])).content
    assert b"<script>alert" not in html
    assert b"&lt;script&gt;alert" in html
    assert b"<b>shelf</b>" not in html


def test_purge_data(client_in, user):
    conn = make_connection(user)
    make_item(conn)
    make_interest(conn)
    response = client_in.post(reverse("integrations:purge_data", args=[conn.pk]), follow=True)
    assert views.DATA_PURGED.format(count=1, entries=0, name="Open Library") in messages_of(
        response)
    assert not ExternalItem.objects.filter(connection=conn).exists()
    assert not UserInterest.objects.filter(connection=conn).exists()
    assert Connection.objects.filter(pk=conn.pk).exists()


def test_purge_data_while_a_sync_is_queued_deletes_nothing(client_in, user):
    conn = make_connection(user)
    make_item(conn)
    client_in.post(reverse("integrations:sync_now", args=[conn.pk]))
    response = client_in.post(reverse("integrations:purge_data", args=[conn.pk]), follow=True)
    assert PURGE_WHILE_SYNCING in messages_of(response)
    assert ExternalItem.objects.filter(connection=conn).exists()


def test_sync_now_twice(client_in, user, django_capture_on_commit_callbacks):
    conn = make_connection(user)
    url = reverse("integrations:sync_now", args=[conn.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        first = client_in.post(url)
    run = SyncRun.objects.get(connection=conn)
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert len(callbacks) == 1  # the task would be queued once, on commit
    assert first["Location"] == reverse("integrations:run_detail", args=[conn.pk, run.pk])
    second = client_in.post(url, follow=True)
    assert views.SYNC_ALREADY_QUEUED in messages_of(second)
    assert second.redirect_chain[-1][0] == reverse("integrations:run_detail",
                                                   args=[conn.pk, run.pk])
    assert SyncRun.objects.filter(connection=conn).count() == 1
    followed = client_in.get(first["Location"])
    assert followed.status_code == 200


def test_sync_now_message(client_in, user):
    conn = make_connection(user)
    response = client_in.post(reverse("integrations:sync_now", args=[conn.pk]), follow=True)
    assert views.SYNC_QUEUED in messages_of(response)


def test_sync_now_needs_reconnect(client_in, user):
    conn = make_connection(user, status=Connection.Status.NEEDS_REAUTH)
    response = client_in.post(reverse("integrations:sync_now", args=[conn.pk]), follow=True)
    assert views.SYNC_NEEDS_RECONNECT.format(name="Open Library") in messages_of(response)
    assert not SyncRun.objects.exists()


def test_run_page_polls_while_running_and_stops_when_finished(client_in, user):
    conn = make_connection(user)
    run = SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL,
                                 status=SyncRun.Status.RUNNING, progress="Reading log: page 2",
                                 pages=2, fetched=150)
    page = client_in.get(reverse("integrations:run_detail", args=[conn.pk, run.pk]))
    status_url = reverse("integrations:run_status", args=[conn.pk, run.pk])
    html = page.content.decode()
    assert f'hx-get="{status_url}"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "Reading log: page 2" in html
    assert ">Refresh<" in html

    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.PARTIAL, progress="Done", error_message="Open Library timed out",
        streams={"reading_log": {"status": "failed", "reason": "timed out", "fetched": 150},
                 "other": {"status": "skipped", "reason": "no consent"}},
    )
    fragment = client_in.get(status_url)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "hx-get" not in html
    assert "<html" not in html
    assert "Partly done" in html
    assert "Open Library timed out" in html
    assert "Reading log" in html and "no consent" in html


# -- disconnect -------------------------------------------------------------------------------

def test_disconnect_confirm_page(client_in, user):
    conn = make_connection(user)
    make_item(conn)
    make_item(conn, title="Emma", external_id="OL2W")
    make_interest(conn)
    response = client_in.get(reverse("integrations:disconnect", args=[conn.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 imported items and 1 interest" in html
    assert Connection.objects.filter(pk=conn.pk).exists()


def test_disconnect_confirm_page_explains_revocation(client_in, user):
    conn = make_connection(user, "spotify")
    html = client_in.get(reverse("integrations:disconnect", args=[conn.pk])).content.decode()
    assert "spotify.com/account/apps" in html


def test_disconnect_open_library(client_in, user):
    conn = make_connection(user)
    make_item(conn)
    make_interest(conn)
    consent_set(user=user, purpose="matching", granted=True, provider="openlibrary")
    response = client_in.post(reverse("integrations:disconnect", args=[conn.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("integrations:connected_services")
    shown = messages_of(response)
    assert views.DISCONNECTED.format(name="Open Library", items=1) in shown
    assert views.NOTHING_TO_REVOKE.format(name="Open Library") in shown
    assert not Connection.objects.filter(pk=conn.pk).exists()
    assert not ExternalItem.objects.exists()
    assert not UserInterest.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DISCONNECTED).exists()


# -- interests --------------------------------------------------------------------------------

def test_interests_empty_state(client_in):
    response = client_in.get(reverse("integrations:interests"))
    assert response.status_code == 200
    assert "No interests yet" in response.content.decode()


def test_interests_filter_by_purpose_follows_consent(client_in, user):
    conn = make_connection(user)
    make_interest(conn, label="Science fiction", purposes=["matching"], weight=0.75)
    make_interest(conn, label="Poetry", purposes=["community_recommendation"])
    url = reverse("integrations:interests")

    html = client_in.get(url, {"purpose": "matching"}).content.decode()
    assert "Science fiction" not in html  # consent is off by default
    assert "None of your interests is visible to Matching" in html

    consent_set(user=user, purpose="matching", granted=True)
    html = client_in.get(url, {"purpose": "matching"}).content.decode()
    assert "Science fiction" in html
    assert "Poetry" not in html
    assert "75%" in html
    assert "Open Library" in html

    consent_set(user=user, purpose="matching", granted=False, provider="openlibrary")
    html = client_in.get(url, {"purpose": "matching"}).content.decode()
    assert "Science fiction" not in html

    everything = client_in.get(url).content.decode()
    assert "Science fiction" in everything and "Poetry" in everything
    assert "Nothing: consent is off" in everything


def test_interests_unknown_purpose_is_a_clear_400(client_in):
    response = client_in.get(reverse("integrations:interests"), {"purpose": "advertising"})
    assert response.status_code == 400
    assert views.UNKNOWN_PURPOSE.format(purpose="advertising") in response.content.decode()


# -- layout and allauth -----------------------------------------------------------------------

def test_base_layout(client_in, user):
    html = client_in.get(reverse("integrations:connected_services")).content.decode()
    assert '<meta name="csrf-token"' in html
    assert "js/htmx.min.js" in html and "defer" in html
    assert "css/app.css" in html
    assert f'action="{reverse("account_logout")}"' in html
    assert reverse("admin:index") not in html
    user.is_staff = True
    user.save()
    html = client_in.get(reverse("integrations:connected_services")).content.decode()
    assert reverse("admin:index") in html


def test_login_page_uses_site_layout_without_social_login(client):
    html = client.get(reverse("account_login")).content.decode()
    assert "css/app.css" in html
    assert "third-party" not in html
    assert "/accounts/sandbox/login/" not in html


def test_connect_form_never_renders_secrets_back():
    from integrations.auth import NoAuth
    from integrations.forms import ConnectForm
    from integrations.providers.base import FormField, Provider

    class KeyProvider(Provider):
        slug, name, description = "keyed", "Keyed", "A service with an API key."
        auth = NoAuth()
        form_fields = (FormField("api_key", "API key", secret=True, max_length=40,
                                 pattern=r"[a-f0-9]{32}"),)

    form = ConnectForm({"api_key": "not-a-key-but-secret"}, provider=KeyProvider())
    assert not form.is_valid()
    html = str(form)
    assert 'type="password"' in html
    assert "not-a-key-but-secret" not in html
    assert ConnectForm({"api_key": "a" * 32}, provider=KeyProvider()).is_valid()
    assert not ConnectForm({"api_key": "a" * 33}, provider=KeyProvider()).is_valid()


# -- what a new user reads --------------------------------------------------------------------


def test_times_say_just_now_and_name_the_time_zone(client_in, user, settings):
    from django.utils import timezone

    now = timezone.now()
    conn = make_connection(user, last_success_at=now, next_sync_at=now + timedelta(hours=5))
    SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL,
                           status=SyncRun.Status.SUCCEEDED, finished_at=now)

    catalog = client_in.get(reverse("integrations:connected_services")).content.decode()
    detail = client_in.get(reverse("integrations:connection_detail", args=[conn.pk]))

    assert "just now" in catalog and "0\xa0minutes" not in catalog and "0 minutes" not in catalog
    assert "in 4\xa0hours" in catalog or "in 5\xa0hours" in catalog
    assert " UTC" in detail.content.decode()
    settings.TIME_ZONE = "Europe/Paris"  # winter: CET
    detail = client_in.get(reverse("integrations:connection_detail", args=[conn.pk]))
    assert " CET" in detail.content.decode()


@pytest.mark.parametrize("minutes_ago, words", [
    (0, "just now"), (0.5, "just now"), (-0.5, "just now"), (5, "5\xa0minutes ago"),
    (-120, "in 2\xa0hours"), (60 * 24 * 3, "3\xa0days ago"),
])
def test_ago_filter(minutes_ago, words):
    import time_machine
    from django.utils import timezone

    from integrations.templatetags.when import ago

    with time_machine.travel(timezone.now(), tick=False):
        assert ago(timezone.now() - timedelta(minutes=minutes_ago)) == words


def test_a_skipped_run_says_what_was_skipped_and_why(client_in, user):
    from integrations.sync import SKIP_NO_CONSENT

    conn = make_connection(user, last_success_at=timezone_now())
    SyncRun.objects.create(
        connection=conn, trigger=SyncRun.Trigger.MANUAL, status=SyncRun.Status.SKIPPED,
        finished_at=timezone_now(),
        streams={"reading_log": {"status": "skipped", "reason": SKIP_NO_CONSENT}},
    )
    note = views.NOTHING_SYNCED.format(reasons=views.SKIP_REASON_WORDS[SKIP_NO_CONSENT])

    catalog = client_in.get(reverse("integrations:connected_services")).content.decode()
    detail = client_in.get(reverse("integrations:connection_detail", args=[conn.pk]))

    assert note in catalog and note in detail.content.decode()
    assert "Last successful sync" not in catalog


def test_a_connection_that_needs_reconnecting_shows_no_next_sync(client_in, user):
    conn = make_connection(user, status=Connection.Status.NEEDS_REAUTH,
                           next_sync_at=timezone_now() + timedelta(hours=5))

    for url in (reverse("integrations:connected_services"),
                reverse("integrations:connection_detail", args=[conn.pk])):
        html = client_in.get(url).content.decode()
        assert "Next automatic sync" not in html
        assert "Syncing is paused until you reconnect" in html
        assert ">Reconnect<" in html.replace("\n", "").replace("  ", "")


def test_run_page_speaks_words_not_slugs(client_in, user):
    conn = make_connection(user, "sandbox")
    run = SyncRun.objects.create(
        connection=conn, trigger=SyncRun.Trigger.MANUAL, status=SyncRun.Status.FAILED,
        finished_at=timezone_now(),
        streams={"tracks": {"status": "failed", "reason": "reauth_required"},
                 "top_artists": {"status": "succeeded", "fetched": 3}},
    )
    html = client_in.get(reverse("integrations:run_detail", args=[conn.pk, run.pk])).content
    html = html.decode()

    assert "reauth_required" not in html
    assert views.REASON_WORDS["reauth_required"] in html
    assert ">Synced<" in html and ">succeeded<" not in html and ">failed<" not in html


# -- imported items: pages and search ---------------------------------------------------------


def make_items(connection, count, title="Book"):
    ExternalItem.objects.bulk_create(
        ExternalItem(connection=connection, kind="work", external_id=f"{title}-{n}",
                     title=f"{title} {n:04d}", attrs={}, content_hash="x")
        for n in range(count)
    )


def test_items_are_paginated(client_in, user):
    conn = make_connection(user)
    make_items(conn, views.ITEMS_PER_PAGE * 2 + 7)
    url = reverse("integrations:connection_detail", args=[conn.pk])

    first = client_in.get(url)
    last = client_in.get(url, {"page": 3})
    beyond = client_in.get(url, {"page": 99})
    garbage = client_in.get(url, {"page": "abc"})

    assert len(first.context["items"]) == views.ITEMS_PER_PAGE
    assert len(last.context["items"]) == 7
    assert beyond.context["page"].number == 3 and garbage.context["page"].number == 1
    assert "Book 0000" in first.content.decode() and "Book 0000" not in last.content.decode()
    assert 'rel="next"' in first.content.decode()


def test_items_search_by_title_and_keeps_the_search_across_pages(client_in, user):
    conn = make_connection(user)
    make_items(conn, views.ITEMS_PER_PAGE + 5, title="Dune")
    make_items(conn, 30, title="Emma")
    url = reverse("integrations:connection_detail", args=[conn.pk])

    response = client_in.get(url, {"q": "dUNe"})
    html = response.content.decode()

    assert response.context["page"].paginator.count == views.ITEMS_PER_PAGE + 5
    assert "Emma" not in html
    assert "?q=dUNe&amp;page=2" in html
    second = client_in.get(url, {"q": "dUNe", "page": 2})
    assert len(second.context["items"]) == 5 and 'value="dUNe"' in second.content.decode()
    nothing = client_in.get(url, {"q": "<b>zzz</b>"}).content.decode()
    assert "No imported item has" in nothing and "<b>zzz</b>" not in nothing


def test_connection_page_query_count_is_constant(client_in, user):
    conn = make_connection(user)
    url = reverse("integrations:connection_detail", args=[conn.pk])

    def count_queries(**params):
        with CaptureQueriesContext(db_connection) as ctx:
            assert client_in.get(url, params).status_code == 200
        return len(ctx.captured_queries)

    make_items(conn, 3)
    few = count_queries()
    make_items(conn, 400, title="More")
    for _ in range(3):
        SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL)
    assert count_queries() == few
    assert count_queries(page=5) == few
    assert count_queries(q="More", page=2) == few
