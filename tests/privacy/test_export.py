"""The export (privacy/export.py, export_services.py, views_export.py, export_api.py): what
the zip holds, field by field against the database; only the person's rows; never a secret; one
export at a time, taken over after a dead worker's lease; expiry; the page, the download and
the API."""

from __future__ import annotations

import csv
import io
import itertools
import json
import uuid
import zipfile
from datetime import date, datetime, timedelta

import pytest
import time_machine
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentEvent, ConsentGrant
from consent.purposes import MATCHING
from consent.services import consent_set
from integrations.api_tokens import api_token_create
from integrations.models import (
    ActionRun,
    ApiCall,
    ApiToken,
    AuditEvent,
    Connection,
    ExternalItem,
    Interest,
    OAuthClientApp,
    SyncRun,
    UserInterest,
)
from library.models import LibraryConflict, LibraryEntry, LibraryPush, MediaTitle
from notices.models import Notice, NotificationSettings
from privacy import export as writer
from privacy import export_services as services
from privacy.export_services import export_build, export_request, exports_expire
from privacy.models import DataExport
from tests.api.schema_check import CheckedClient
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

# Planted secrets: none may appear anywhere in the zip.
ACCESS = "AT-planted-access-5f1c9a"
REFRESH = "RT-planted-refresh-77b2e0"
API_KEY = "SK-planted-api-key-0c4d19"
CLIENT_SECRET = "CS-planted-client-secret-a81f"
CONFIG_SECRET = "CFG-planted-config-secret-3e6b"
SOCIAL_EXTRA = "XD-planted-social-extra-9d02"
SOCIAL_TOKEN = "ST-planted-social-token-41aa"
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
           "\tcmd", "\rcmd"]


def _seed(user, *, label: str, mal_id: int) -> dict:
    """One of everything for ``user``; strings carry ``label``."""
    spotify = make_connection(user, "spotify", external_id=f"{label}-sp",
                              access_token=f"{ACCESS}-{label}", refresh_token=f"{REFRESH}-{label}")
    custom = make_connection(user, "custom_api", external_id=f"{label}-cu",
                             access_token="", refresh_token="",
                             secret=json.dumps({"api_key": f"{API_KEY}-{label}"}))
    # A secret stored in config by mistake must still not leave.
    custom.config = {"base_url": f"https://{label}.example/api", "header_name": "X-Key",
                     "api_key": f"{CONFIG_SECRET}-{label}"}
    custom.scopes, custom.last_error = ["read"], f"{label} failed"
    custom.save()
    OAuthClientApp.objects.create(user=user, provider="anilist", client_id=f"{label}-cid",
                                  client_secret=f"{CLIENT_SECRET}-{label}")
    _, plain_token = api_token_create(user=user, name=f"{label} token")
    now = timezone.now()
    for n, title in enumerate([f"{label} song", *HOSTILE]):
        ExternalItem.objects.create(connection=spotify, kind="track", external_id=f"{label}-{n}",
                                    title=title, attrs={"genres": [f"{label} genre"]},
                                    content_hash="h", deleted_at=now if n == 1 else None)
    interest, _ = Interest.objects.get_or_create(
        slug=f"music:{label.lower()}", defaults={"label": f"{label} pop", "category": "music"})
    UserInterest.objects.create(user=user, interest=interest, connection=spotify,
                                purpose=MATCHING, weight=0.75)
    consent_set(user=user, purpose=MATCHING, granted=True)
    consent_set(user=user, purpose=MATCHING, granted=False, provider="spotify")
    SyncRun.objects.create(connection=spotify, trigger="manual", status="failed", fetched=7,
                           created=5, started_at=now, finished_at=now, error_code="http",
                           error_message=f"{label} broke")
    ActionRun.objects.create(connection=spotify, action="add_track", status="succeeded",
                             idempotency_key=f"{label}-k", input_summary={"title": "x"},
                             summary=f"{label} done", finished_at=now)
    ApiCall.objects.create(connection=spotify, provider="spotify", method="GET",
                           host="api.spotify.com", path=f"/{label}/me", status_code=200,
                           duration_ms=12)
    ApiCall.objects.create(caller=user, provider="stripe", method="GET", host="api.stripe.com",
                           path=f"/{label}/charges", status_code=502, error="bad gateway")
    title = MediaTitle.objects.create(kind="anime", mal_id=mal_id, titles={"en": f"{label} A"})
    entry = LibraryEntry.objects.create(user=user, title=title, status="current", progress=3,
                                        score=80)
    mal = make_connection(user, "myanimelist", external_id=f"{label}-mal")
    ExternalItem.objects.create(connection=mal, kind="anime", external_id=str(mal_id),
                                title=f"{label} A", content_hash="h", library_entry=entry,
                                synced={"status": "watching", "score": 8})
    LibraryConflict.objects.create(entry=entry, field="score", local_value=80, remote_value=70,
                                   local_changed_at=now, remote_changed_at=now, winner="local",
                                   provider="myanimelist")
    LibraryPush.objects.create(entry=entry, connection=mal, values={"score": 8}, state="failed",
                               attempts=2, error=f"{label} push failed")
    AuditEvent.objects.create(user=user, provider="spotify", connection_ref=spotify.pk,
                              action="data_purged", message=f"{label} 3 items",
                              actor=f"user:{user.pk}")
    Notice.objects.create(user=user, connection=spotify, provider="spotify", kind="failing",
                          title=f"{label} Spotify is failing", body=f"{label} body",
                          created_at=now, emailed_at=now)
    NotificationSettings.objects.create(user=user, email_on_health=False)
    social = SocialAccount.objects.create(user=user, provider="google", uid=f"{label}-uid",
                                          extra_data={"access_token": f"{SOCIAL_EXTRA}-{label}",
                                                      "name": f"{label} Lovelace"})
    SocialToken.objects.create(account=social, token=f"{SOCIAL_TOKEN}-{label}")
    user.last_login = now
    user.save(update_fields=["last_login"])
    return {"plain_token": plain_token}


@pytest.fixture
def people():
    ada, grace = make_user(), make_user(email="grace@example.com")
    mine = _seed(ada, label="Mine", mal_id=21)
    theirs = _seed(grace, label="FOREIGN", mal_id=99)
    return ada, grace, mine, theirs


def _build(user, django_capture_on_commit_callbacks) -> DataExport:
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(user=user)
    return DataExport.objects.get(pk=export.pk)


@pytest.fixture
def built(people, q_sync, django_capture_on_commit_callbacks):
    ada = people[0]
    export = _build(ada, django_capture_on_commit_callbacks)
    assert export.status == DataExport.Status.READY
    return ada, export


def _files(export: DataExport) -> dict[str, bytes]:
    with zipfile.ZipFile(export.path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _iso(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _cell(value) -> str:
    """What a CSV cell must hold for a JSON value, written here independently."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def _expected(user) -> dict[str, list[dict]]:
    conns = Connection.objects.filter(user=user).order_by("pk")
    account = get_user_model().objects.get(pk=user.pk)
    return {
        "account": [{
            "id": account.pk, "username": account.username, "email": account.email,
            "first_name": account.first_name, "last_name": account.last_name,
            "date_joined": _iso(account.date_joined), "last_login": _iso(account.last_login),
        }],
        "social_accounts": [{
            "id": s.pk, "provider": s.provider, "uid": s.uid,
            "date_joined": _iso(s.date_joined), "last_login": _iso(s.last_login),
        } for s in SocialAccount.objects.filter(user=user).order_by("pk")],
        "connections": [{
            "id": c.pk, "provider": c.provider, "account_label": c.account_label,
            "external_account_id": c.external_account_id, "status": c.status,
            "scopes": c.scopes,
            "config": ({"base_url": c.config["base_url"], "header_name": "X-Key"}
                       if c.provider == "custom_api" else {}),
            "sync_enabled": c.sync_enabled, "auto_sync": c.auto_sync,
            "stream_settings": c.stream_settings, "last_sync_at": _iso(c.last_sync_at),
            "last_sync_status": c.last_sync_status, "next_sync_at": _iso(c.next_sync_at),
            "last_success_at": _iso(c.last_success_at), "last_error": c.last_error,
            "consecutive_failures": c.consecutive_failures, "created_at": _iso(c.created_at),
        } for c in conns],
        "items": [{
            "id": i.pk, "connection_id": i.connection_id, "provider": i.connection.provider,
            "kind": i.kind, "external_id": i.external_id, "title": i.title, "attrs": i.attrs,
            "library_entry_id": i.library_entry_id, "first_seen_at": _iso(i.first_seen_at),
            "last_seen_at": _iso(i.last_seen_at), "deleted_at": _iso(i.deleted_at),
        } for i in ExternalItem.objects.filter(connection__user=user).order_by("pk")],
        "interests": [{
            "purpose": u.purpose, "interest_slug": u.interest.slug,
            "interest_label": u.interest.label, "interest_category": u.interest.category,
            "weight": u.weight, "provider": u.connection.provider,
            "connection_id": u.connection_id, "updated_at": _iso(u.updated_at),
        } for u in UserInterest.objects.filter(user=user).order_by("pk")],
        "consent_grants": [{
            "provider": g.provider, "purpose": g.purpose, "granted": g.granted,
            "updated_at": _iso(g.updated_at),
        } for g in ConsentGrant.objects.filter(user=user).order_by("pk")],
        "consent_history": [{
            "id": e.pk, "provider": e.provider, "purpose": e.purpose, "granted": e.granted,
            "source": e.source, "policy_version": e.policy_version, "at": _iso(e.at),
        } for e in ConsentEvent.objects.filter(user=user).order_by("pk")],
        "sync_runs": [{
            "id": r.pk, "connection_id": r.connection_id, "provider": r.connection.provider,
            "trigger": r.trigger, "mode": r.mode, "status": r.status,
            "queued_at": _iso(r.queued_at), "started_at": _iso(r.started_at),
            "finished_at": _iso(r.finished_at), "pages": r.pages, "fetched": r.fetched,
            "created": r.created, "updated": r.updated, "unchanged": r.unchanged,
            "deleted": r.deleted, "error_code": r.error_code, "error_message": r.error_message,
        } for r in SyncRun.objects.filter(connection__user=user).order_by("pk")],
        "action_runs": [{
            "id": a.pk, "connection_id": a.connection_id, "provider": a.connection.provider,
            "action": a.action, "status": a.status, "input_summary": a.input_summary,
            "external_id": a.external_id, "summary": a.summary, "error": a.error,
            "created_at": _iso(a.created_at), "finished_at": _iso(a.finished_at),
        } for a in ActionRun.objects.filter(connection__user=user).order_by("pk")],
        "outbound_requests": [{
            "id": c.pk, "provider": c.provider, "connection_id": c.connection_id,
            "method": c.method, "host": c.host, "path": c.path, "status_code": c.status_code,
            "at": _iso(c.at), "duration_ms": c.duration_ms, "retries": c.retries,
            "error": c.error,
        } for c in ApiCall.objects.filter(pk__in=[
            *ApiCall.objects.filter(connection__user=user).values_list("pk", flat=True),
            *ApiCall.objects.filter(caller=user).values_list("pk", flat=True)]).order_by("pk")],
        "library_entries": [{
            "id": e.pk, "kind": e.title.kind, "titles": e.title.titles,
            "mal_id": e.title.mal_id, "anilist_id": e.title.anilist_id,
            "kitsu_id": e.title.kitsu_id, "status": e.status, "progress": e.progress,
            "score": e.score, "status_changed_at": _iso(e.status_changed_at),
            "progress_changed_at": _iso(e.progress_changed_at),
            "score_changed_at": _iso(e.score_changed_at), "removed_at": _iso(e.removed_at),
            "created_at": _iso(e.created_at), "updated_at": _iso(e.updated_at),
        } for e in LibraryEntry.objects.filter(user=user).order_by("pk")],
        "library_service_items": [{
            "library_entry_id": i.library_entry_id, "provider": i.connection.provider,
            "item_id": i.pk, "kind": i.kind, "external_id": i.external_id, "synced": i.synced,
        } for i in ExternalItem.objects.filter(connection__user=user,
                                               library_entry__isnull=False).order_by("pk")],
        "api_tokens": [{
            "name": t.name, "created": _iso(t.created), "expiry": _iso(t.expiry),
            "last_used_at": _iso(t.last_used_at),
        } for t in ApiToken.objects.filter(user=user).order_by("pk")],
        "audit_log": [{
            "id": a.pk, "action": a.action, "provider": a.provider,
            "connection_id": a.connection_ref, "message": a.message, "at": _iso(a.at),
        } for a in AuditEvent.objects.filter(user=user).order_by("pk")],
        "notices": [{
            "id": n.pk, "kind": n.kind, "state": n.state, "provider": n.provider,
            "connection_id": n.connection_id, "title": n.title, "body": n.body,
            "created_at": _iso(n.created_at), "read_at": _iso(n.read_at),
            "emailed_at": _iso(n.emailed_at), "resolved_at": _iso(n.resolved_at),
        } for n in Notice.objects.filter(user=user).order_by("pk")],
        "notification_settings": [{
            "email_on_health": s.email_on_health, "updated_at": _iso(s.updated_at),
        } for s in NotificationSettings.objects.filter(user=user)],
        "library_conflicts": [{
            "id": c.pk, "library_entry_id": c.entry_id, "provider": c.provider,
            "field": c.field, "local_value": c.local_value, "remote_value": c.remote_value,
            "local_changed_at": _iso(c.local_changed_at),
            "remote_changed_at": _iso(c.remote_changed_at), "winner": c.winner,
            "detected_at": _iso(c.detected_at), "seen_at": _iso(c.seen_at),
        } for c in LibraryConflict.objects.filter(entry__user=user).order_by("pk")],
        "library_pushes": [{
            "id": p.pk, "library_entry_id": p.entry_id, "connection_id": p.connection_id,
            "provider": p.connection.provider, "values": p.values, "state": p.state,
            "attempts": p.attempts, "error": p.error, "created_at": _iso(p.created_at),
            "updated_at": _iso(p.updated_at), "sent_at": _iso(p.sent_at),
        } for p in LibraryPush.objects.filter(entry__user=user).order_by("pk")],
    }


# --- the zip ----------------------------------------------------------------------------------


def test_every_file_matches_the_database_field_by_field(built):
    user, export = built
    files = _files(export)
    expected = _expected(user)
    assert set(files) == {"README.txt"} | {f"{name}.{ext}" for name in expected
                                          for ext in ("json", "csv")}
    for name, rows in expected.items():
        assert rows, f"the fixture must fill {name}"
        assert json.loads(files[f"{name}.json"]) == rows, name
        reader = csv.reader(io.StringIO(files[f"{name}.csv"].decode(), newline=""))
        header, *lines = list(reader)
        assert header == list(rows[0]), name
        assert lines == [[_cell(value) for value in row.values()] for row in rows], name
    readme = files["README.txt"].decode()
    for name in expected:
        assert f"{name}.json / {name}.csv" in readme
    total = sum(len(rows) for rows in expected.values())
    assert (export.progress_done, export.progress_total) == (total, total)
    assert export.size_bytes == export.path.stat().st_size


def test_no_other_persons_row_and_no_secret_anywhere_in_the_zip(built, people):
    _, export = built
    _, _, mine, theirs = people
    blob = b"\n".join(_files(export).values())
    assert b"FOREIGN" not in blob
    assert b"Mine" in blob  # the check above can fail: the person's own label is there
    digests = list(ApiToken.objects.values_list("digest", flat=True))
    for secret in [ACCESS, REFRESH, API_KEY, CLIENT_SECRET, CONFIG_SECRET, SOCIAL_EXTRA,
                   SOCIAL_TOKEN, mine["plain_token"], theirs["plain_token"], *digests]:
        assert secret.encode() not in blob, secret
    # Never the password hash (nor the profile a sign-in provider sent, extra_data).
    password = get_user_model().objects.get(pk=people[0].pk).password
    assert password and password.encode() not in blob
    assert b"Mine Lovelace" not in blob
    assert b"extra_data" in _files(export)["README.txt"]  # said why it is left out


def test_hostile_titles_are_quoted_in_csv_and_kept_as_they_are_in_json(built):
    _, export = built
    files = _files(export)
    titles_json = {row["title"] for row in json.loads(files["items.json"])}
    assert set(HOSTILE) <= titles_json
    rows = list(csv.DictReader(io.StringIO(files["items.csv"].decode(), newline="")))
    titles_csv = {row["title"] for row in rows}
    for hostile in HOSTILE:
        assert "'" + hostile in titles_csv
        assert hostile not in titles_csv


def test_csv_cell_quotes_only_text_that_starts_a_formula():
    assert writer.csv_cell("=1+1") == "'=1+1"
    assert writer.csv_cell("a=1") == "a=1"
    assert writer.csv_cell(-3) == "-3"  # a number is not text a spreadsheet would run
    assert writer.csv_cell({"k": "=x"}) == '{"k": "=x"}'
    assert writer.csv_cell(["-x"]) == '["-x"]'
    assert writer.csv_cell(None) == "" and writer.csv_cell(False) == "false"


def test_rows_are_streamed_and_progress_is_reported_once_per_chunk(people, monkeypatch,
                                                                     tmp_path):
    ada = people[0]
    spotify = Connection.objects.get(user=ada, provider="spotify")
    ExternalItem.objects.bulk_create([
        ExternalItem(connection=spotify, kind="track", external_id=f"bulk-{i}",
                     title=f"bulk {i}", content_hash="h") for i in range(23)])
    monkeypatch.setattr(writer, "CHUNK", 5)
    calls = []
    with CaptureQueriesContext(db) as queries:
        rows = writer.export_write(user=ada, path=tmp_path / "x.zip",
                                   progress=lambda done, total: calls.append((done, total)))
    total = writer.export_count(ada)
    assert rows == total
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    middle = [done for done, _ in calls[1:-1]]
    assert middle == sorted(middle) and all(b - a >= 5 for a, b in itertools.pairwise(middle))
    assert len(calls) <= 2 + total // 5
    # Items are read in chunks of CHUNK rows (SQLite: LIMIT-less fetchmany; PostgreSQL: a
    # server-side cursor), never with a list of all ids first.
    assert not any("IN (" in q["sql"] and "integrations_externalitem" in q["sql"]
                   for q in queries.captured_queries)


# --- one at a time, leases ------------------------------------------------------------------


def test_a_second_request_returns_the_export_being_prepared(people, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    ada, grace = people[0], people[1]
    queued = []
    monkeypatch.setattr(services, "enqueue_many", lambda func, calls: queued.append((func, calls)))
    with django_capture_on_commit_callbacks(execute=True):
        first = export_request(user=ada)
        second = export_request(user=ada)
    assert first.pk == second.pk
    assert queued == [("privacy.tasks.export_build_task", [((first.pk,), f"export-{first.pk}")])]
    assert export_request(user=grace).pk != first.pk  # one per person, not one in all


def test_the_constraint_refuses_a_second_active_export(people):
    ada = people[0]
    DataExport.objects.create(user=ada)
    with pytest.raises(Exception):  # noqa: B017 (IntegrityError, wrapped differently per db)
        from django.db import transaction

        with transaction.atomic():
            DataExport.objects.create(user=ada, status=DataExport.Status.RUNNING)


def test_a_dead_workers_export_is_taken_over_after_its_lease(people, q_sync,
                                                              django_capture_on_commit_callbacks):
    ada = people[0]
    export = DataExport.objects.create(user=ada, status=DataExport.Status.RUNNING,
                                       claim_token=uuid.uuid4(), heartbeat_at=timezone.now())
    assert export_build(export_id=export.pk).status == DataExport.Status.RUNNING  # lease held
    with (time_machine.travel(timezone.now() + timedelta(seconds=299), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        assert export_request(user=ada).status == DataExport.Status.RUNNING
    with (time_machine.travel(timezone.now() + timedelta(seconds=301), tick=False),
          django_capture_on_commit_callbacks(execute=True) as callbacks):
        again = export_request(user=ada)
    assert again.pk == export.pk and len(callbacks) == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY and export.path.is_file()


def test_a_worker_whose_lease_was_taken_over_writes_nothing(people, monkeypatch):
    ada = people[0]
    export = DataExport.objects.create(user=ada, heartbeat_at=timezone.now())
    real = services.export_write
    thief = uuid.uuid4()

    def taken_over(*, user, path, progress):
        def report(done, total):
            DataExport.objects.filter(pk=export.pk).update(claim_token=thief)
            progress(done, total)

        return real(user=user, path=path, progress=report)

    monkeypatch.setattr(services, "export_write", taken_over)
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.claim_token) == (DataExport.Status.RUNNING, thief)
    assert not list(export.path.parent.iterdir())  # the partial file was removed


def test_a_failing_build_frees_the_slot(people, monkeypatch, django_capture_on_commit_callbacks):
    ada = people[0]

    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "export_write", broken)
    export = DataExport.objects.create(user=ada, heartbeat_at=timezone.now())
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.error) == (DataExport.Status.FAILED, services.BUILD_FAILED)
    with django_capture_on_commit_callbacks():
        assert export_request(user=ada).pk != export.pk


# --- expiry and deletion ----------------------------------------------------------------------


def test_the_link_expires_and_the_schedule_deletes_the_file(built, client, settings):
    user, export = built
    client.force_login(user)
    url = reverse("privacy:export_download", args=[export.pk])
    path = export.path
    with time_machine.travel(export.finished_at + timedelta(hours=23, minutes=59), tick=False):
        assert client.get(url).status_code == 200
        assert exports_expire() == 0
    with time_machine.travel(export.finished_at + timedelta(hours=24, seconds=1), tick=False):
        assert client.get(url).status_code == 404  # before the schedule ran
        assert exports_expire() == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED and not path.exists()
    assert client.get(url).status_code == 404


def test_the_ttl_is_a_setting(people, settings, q_sync, django_capture_on_commit_callbacks):
    settings.THINKALIKE_EXPORT_TTL_HOURS = 2
    export = _build(people[0], django_capture_on_commit_callbacks)
    assert export.expires_at - export.finished_at == timedelta(hours=2)


def test_a_new_export_replaces_the_previous_file(built, q_sync,
                                                 django_capture_on_commit_callbacks):
    user, first = built
    with time_machine.travel(first.finished_at + timedelta(minutes=11), tick=False):
        second = _build(user, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert second.status == DataExport.Status.READY
    assert first.status == DataExport.Status.EXPIRED and not first.file_name
    assert list(second.path.parent.iterdir()) == [second.path]


def test_deleting_the_person_deletes_their_files(built, django_capture_on_commit_callbacks):
    user, export = built
    path = export.path
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert not path.exists() and not DataExport.objects.exists()


# --- the page and the download ----------------------------------------------------------------


def test_the_page_starts_an_export_and_polls_its_progress(people, client,
                                                          django_capture_on_commit_callbacks):
    ada = people[0]
    client.force_login(ada)
    page = client.get(reverse("privacy:export"))
    assert b"Prepare my export" in page.content
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("privacy:export"), follow=True)
    export = DataExport.objects.get(user=ada)
    status_url = reverse("privacy:export_status", args=[export.pk])
    assert f'hx-get="{status_url}"'.encode() in response.content
    assert b"Prepare my export" not in response.content  # one at a time
    partial = client.get(status_url)
    assert b"<progress" in partial.content and b"hx-get" in partial.content


def test_the_download_is_the_owners_only(built, client, people):
    user, export = built
    grace = people[1]
    client.force_login(user)
    page = client.get(reverse("privacy:export"))
    url = reverse("privacy:export_download", args=[export.pk])
    assert url.encode() in page.content and b"hx-get" not in page.content
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == export.path.read_bytes()
    client.force_login(grace)
    assert client.get(url).status_code == 404
    assert client.get(reverse("privacy:export_status", args=[export.pk])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the sign-in page


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(people) -> CheckedClient:
    ada = people[0]
    _, plain = api_token_create(user=ada, name="export test")
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def test_api_start_follow_and_download(people, api, q_sync, django_capture_on_commit_callbacks):
    ada = people[0]
    missing = api.get("/api/v1/export/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_export"
    assert api.get("/api/v1/export/download/").status_code == 404
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post("/api/v1/export/")
        again = api.post("/api/v1/export/")
    assert started.status_code == again.status_code == 202
    assert started.json()["id"] == again.json()["id"]
    assert started.json()["status"] == "queued" and started.json()["download_url"] is None
    export_build(export_id=started.json()["id"])
    body = api.get("/api/v1/export/").json()
    export = DataExport.objects.get(user=ada)
    assert body["status"] == "ready" and body["percent"] == 100
    assert body["progress_done"] == body["progress_total"] == export.progress_total
    assert body["download_url"] == "http://testserver/api/v1/export/download/"
    download = api.get("/api/v1/export/download/")
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    assert download["Content-Type"] == "application/zip"
    assert b"".join(download.streaming_content) == export.path.read_bytes()


def test_api_never_shows_another_persons_export(people, api, q_sync,
                                                django_capture_on_commit_callbacks):
    grace = people[1]
    _build(grace, django_capture_on_commit_callbacks)
    assert api.get("/api/v1/export/").status_code == 404
    assert api.get("/api/v1/export/download/").status_code == 404
