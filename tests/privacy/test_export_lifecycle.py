"""What happens to exports around them: a purge discards them (files and a worker still
writing), a killed worker's files are swept, an unusable export dir fails the export, the API
download's content negotiation and choice of zip, text that is not valid Unicode, the outbound
requests read as two indexed queries, the cool-down."""

from __future__ import annotations

import json
import uuid
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.db import connection as db
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.api_tokens import api_token_create
from integrations.models import ApiCall, Connection, ExternalItem
from integrations.services import (
    connection_data_purge,
    connection_disconnect,
    connection_stream_purge,
)
from privacy import export as writer
from privacy import export_services as services
from privacy.export_services import export_build, export_request, exports_orphans_delete
from privacy.models import DataExport
from privacy.services import user_data_purge_all
from privacy.tasks import expire_exports
from tests.api.schema_check import CheckedClient
from tests.privacy import test_export as export_tests

pytestmark = pytest.mark.django_db

STREAM = "top_artists"  # one of Spotify's streams: its purge alone discards the zip too

# The export tests' person with one of everything, and their built export.
people = export_tests.people
built = export_tests.built
_build, _files = export_tests._build, export_tests._files


def _later(minutes: int = 11):
    """Past the cool-down, so a new export may start."""
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False)


def _export_files(settings) -> list:
    folder = settings.THINKALIKE_EXPORT_DIR
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --- a purge discards the person's exports ----------------------------------------------------


@pytest.mark.parametrize("purge", ["service", "stream", "everything", "disconnect"])
def test_a_purge_discards_the_ready_zip(built, client, settings, purge,
                                        django_capture_on_commit_callbacks):
    user, export = built
    url = reverse("privacy:export_download", args=[export.pk])
    client.force_login(user)
    assert client.get(url).status_code == 200 and _export_files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        if purge == "service":
            connection_data_purge(connection=Connection.objects.get(user=user,
                                                                    provider="spotify"))
        elif purge == "stream":
            connection_stream_purge(connection=Connection.objects.get(user=user,
                                                                      provider="spotify"),
                                    stream=STREAM)
        elif purge == "everything":
            user_data_purge_all(user=user, actor="test")
        else:
            connection_disconnect(connection=Connection.objects.get(user=user,
                                                                    provider="custom_api"))
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED and not export.file_name
    assert client.get(url).status_code == 404
    assert _export_files(settings) == []


def test_delete_everything_discards_the_zip_of_a_person_with_no_connection_left(
        people, q_sync, settings, django_capture_on_commit_callbacks):
    """Their library entries (added here) are in the zip; no connection means no per-connection
    purge, so "delete everything" discards the exports itself."""
    user = people[0]
    for connection in Connection.objects.filter(user=user):
        connection_disconnect(connection=connection)
    export = _build(user, django_capture_on_commit_callbacks)
    assert export.status == DataExport.Status.READY and _export_files(settings)

    with django_capture_on_commit_callbacks(execute=True):
        user_data_purge_all(user=user, actor="test")

    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED and _export_files(settings) == []


def test_a_rolled_back_purge_keeps_the_zip(built, settings):
    user, export = built
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        connection_data_purge(connection=Connection.objects.get(user=user, provider="spotify"))
        raise RuntimeError("rollback")
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY and export.path.is_file()


def test_a_worker_finishing_after_the_purge_writes_nothing(people, monkeypatch, settings,
                                                           django_capture_on_commit_callbacks):
    ada = people[0]
    export = DataExport.objects.create(user=ada, heartbeat_at=timezone.now())
    real = services.export_write

    def purged_meanwhile(*, user, path, progress):
        rows = real(user=user, path=path, progress=progress)  # every row already read
        with django_capture_on_commit_callbacks(execute=True):
            user_data_purge_all(user=user, actor="test")
        return rows

    monkeypatch.setattr(services, "export_write", purged_meanwhile)
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED and export.error == services.DISCARDED
    assert export.claim_token is None and not export.file_name and not export.expires_at
    assert _export_files(settings) == []


def test_a_worker_reporting_progress_after_the_purge_stops(people, monkeypatch, settings,
                                                           django_capture_on_commit_callbacks):
    ada = people[0]
    monkeypatch.setattr(writer, "CHUNK", 3)
    export = DataExport.objects.create(user=ada, heartbeat_at=timezone.now())
    real = services.export_write

    def purged_meanwhile(*, user, path, progress):
        def report(done, total):
            if done:
                with django_capture_on_commit_callbacks(execute=True):
                    user_data_purge_all(user=user, actor="test")
            progress(done, total)

        return real(user=user, path=path, progress=report)

    monkeypatch.setattr(services, "export_write", purged_meanwhile)
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.progress_done) == (DataExport.Status.FAILED, 0)
    assert _export_files(settings) == []
    with _later(), django_capture_on_commit_callbacks():
        assert export_request(user=ada).pk != export.pk  # the slot is free


def test_a_purge_leaves_other_peoples_exports_alone(built, people, q_sync,
                                                    django_capture_on_commit_callbacks):
    user, _ = built
    grace = people[1]
    theirs = _build(grace, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        user_data_purge_all(user=user, actor="test")
    theirs.refresh_from_db()
    assert theirs.status == DataExport.Status.READY and theirs.path.is_file()


# --- files nobody records ---------------------------------------------------------------------


class Killed(BaseException):
    """What SIGKILL does: no except or finally of the worker runs."""


def _killed_build(ada, monkeypatch):
    monkeypatch.setattr(writer, "CHUNK", 3)
    real = services.export_write

    def dies(*, user, path, progress):
        def report(done, total):
            progress(done, total)
            if done:
                raise Killed

        return real(user=user, path=path, progress=report)

    export = DataExport.objects.create(user=ada, heartbeat_at=timezone.now())
    monkeypatch.setattr(services, "export_write", dies)
    with pytest.raises(Killed):
        export_build(export_id=export.pk)
    monkeypatch.setattr(services, "export_write", real)
    return export


def test_the_schedule_deletes_a_killed_workers_partial_file(people, monkeypatch, settings,
                                                            q_sync,
                                                            django_capture_on_commit_callbacks):
    ada = people[0]
    export = _killed_build(ada, monkeypatch)
    [killed_part] = _export_files(settings)
    assert killed_part.endswith(".part")
    # While the lease is fresh, the file is the running export's own: kept.
    assert exports_orphans_delete() == 0 and _export_files(settings) == [killed_part]
    with (time_machine.travel(timezone.now() + timedelta(seconds=301), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        expire_exports()  # requeued under a new token and built
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    assert _export_files(settings) == sorted([export.file_name, killed_part])
    expire_exports()  # the schedule's next run: the old .part is nobody's
    assert _export_files(settings) == [export.file_name]
    # A stray file of a row gone, and one of an expired export, go too; others' files stay.
    folder = settings.THINKALIKE_EXPORT_DIR
    (folder / "export-999999-abc.zip").write_bytes(b"x")
    (folder / "notes.txt").write_bytes(b"x")
    assert exports_orphans_delete() == 1
    assert _export_files(settings) == sorted([export.file_name, "notes.txt"])


def test_deleting_the_person_deletes_every_file_of_theirs(people, monkeypatch, settings,
                                                          django_capture_on_commit_callbacks):
    ada = people[0]
    _killed_build(ada, monkeypatch)
    assert _export_files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        ada.delete()
    assert _export_files(settings) == []


# --- an unusable export dir -------------------------------------------------------------------


def test_an_unusable_export_dir_fails_the_export(people, settings, tmp_path,
                                                 django_capture_on_commit_callbacks):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the directory should be")
    settings.THINKALIKE_EXPORT_DIR = blocker / "exports"
    export = DataExport.objects.create(user=people[0], heartbeat_at=timezone.now())
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.error) == (DataExport.Status.FAILED, services.NO_STORAGE)
    assert export.claim_token is None and export.finished_at is not None
    with django_capture_on_commit_callbacks():
        assert export_request(user=people[0]).pk != export.pk  # not held by a cool-down


# --- the API download -------------------------------------------------------------------------


@pytest.fixture
def api(people) -> CheckedClient:
    _, plain = api_token_create(user=people[0], name="lifecycle")
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def test_the_api_download_accepts_any_accept_header(built, api):
    _, export = built
    for accept in ("application/zip", "application/octet-stream", "*/*", "application/json"):
        response = api.get("/api/v1/export/download/", HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert b"".join(response.streaming_content) == export.path.read_bytes()


def test_the_api_download_serves_the_latest_ready_zip_while_a_new_one_is_prepared(
        built, api, django_capture_on_commit_callbacks):
    user, first = built
    with _later(), django_capture_on_commit_callbacks(execute=False):
        newer = export_request(user=user)
        assert newer.pk != first.pk and newer.status == DataExport.Status.QUEUED
        response = api.get("/api/v1/export/download/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == first.path.read_bytes()
        latest = api.get("/api/v1/export/").json()  # the newer one, pointing at the zip
        assert latest["id"] == newer.pk and latest["download_url"].endswith(
            "/api/v1/export/download/")
    with time_machine.travel(first.expires_at + timedelta(seconds=1), tick=False):
        assert api.get("/api/v1/export/download/").status_code == 404


# --- text that is not valid Unicode -----------------------------------------------------------


def test_a_lone_surrogate_is_replaced_not_fatal(people, q_sync, monkeypatch,
                                                django_capture_on_commit_callbacks):
    ada = people[0]
    spotify = Connection.objects.get(user=ada, provider="spotify")
    # SQLite's JSON columns hold one (stored escaped), PostgreSQL refuses it: the rows as read
    # get them here, so the writer is tested the same on both.
    item = ExternalItem.objects.create(connection=spotify, kind="track", external_id="sur",
                                       title="fine", attrs={"x": "ok"}, content_hash="h")
    real_rows = writer._rows

    def text_with_a_surrogate(table, user):
        for row in real_rows(table, user):
            if table.name == "items" and row["id"] == item.pk:
                row["title"], row["attrs"] = "bad \udfff item", {"x": "a\ud800b"}
            if table.name == "library_entries":
                row["titles"] = {"en": "bad \ud800 title"}
            yield row

    monkeypatch.setattr(writer, "_rows", text_with_a_surrogate)
    export = _build(ada, django_capture_on_commit_callbacks)
    assert export.status == DataExport.Status.READY, export.error
    files = _files(export)
    [row] = [r for r in json.loads(files["items.json"]) if r["id"] == item.pk]
    assert (row["title"], row["attrs"]) == ("bad ? item", {"x": "a?b"})
    [lib] = json.loads(files["library_entries.json"])
    assert lib["titles"] == {"en": "bad ? title"}
    for name in ("items.csv", "library_entries.csv"):
        text = files[name].decode()  # valid UTF-8
        assert "bad ? " in text


# --- outbound requests ------------------------------------------------------------------------


def test_outbound_requests_are_two_indexed_reads_without_duplicates(people, tmp_path):
    ada, grace = people[0], people[1]
    spotify = Connection.objects.get(user=ada, provider="spotify")
    # A proxy call on the person's own connection: in both halves' conditions, written once.
    both = ApiCall.objects.create(connection=spotify, caller=ada, provider="spotify",
                                  method="GET", host="api.spotify.com", path="/both")
    # Grace's connection, asked for by ada through the proxy: hers, and ada's ask.
    asked = ApiCall.objects.create(connection=Connection.objects.get(user=grace,
                                                                     provider="spotify"),
                                   caller=ada, provider="spotify", method="GET",
                                   host="api.spotify.com", path="/asked")
    with CaptureQueriesContext(db) as queries:
        writer.export_write(user=ada, path=tmp_path / "x.zip")
    calls = [q["sql"] for q in queries.captured_queries if "integrations_apicall" in q["sql"]]
    assert len(calls) == 4  # count and read of each half
    assert not any(" OR " in sql for sql in calls)
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        ids = [row["id"] for row in json.loads(zf.read("outbound_requests.json"))]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert both.pk in ids and asked.pk in ids
    expected = set(ApiCall.objects.filter(connection__user=ada).values_list("pk", flat=True))
    expected |= set(ApiCall.objects.filter(caller=ada).values_list("pk", flat=True))
    assert set(ids) == expected
    assert writer.export_count(ada) == sum(
        len(json.loads(zipfile.ZipFile(tmp_path / "x.zip").read(name)))
        for name in zipfile.ZipFile(tmp_path / "x.zip").namelist() if name.endswith(".json"))


# --- the cool-down ----------------------------------------------------------------------------


def test_one_export_per_cooldown_on_the_page(built, client, settings, q_sync,
                                             django_capture_on_commit_callbacks):
    user, first = built
    client.force_login(user)
    page = client.get(reverse("privacy:export"))
    assert b"Prepare my export" not in page.content
    assert b'id="export-cooldown"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("privacy:export"), follow=True)
    assert b"You can prepare a new one from" in response.content
    assert DataExport.objects.filter(user=user).count() == 1
    settings.THINKALIKE_EXPORT_COOLDOWN_MINUTES = 30
    with time_machine.travel(first.finished_at + timedelta(minutes=29), tick=False):
        assert b"Prepare my export" not in client.get(reverse("privacy:export")).content
    with time_machine.travel(first.finished_at + timedelta(minutes=30, seconds=1), tick=False):
        assert b"Prepare my export" in client.get(reverse("privacy:export")).content
        with django_capture_on_commit_callbacks(execute=False):
            client.post(reverse("privacy:export"))
    assert DataExport.objects.filter(user=user).count() == 2


def test_the_api_answers_429_with_retry_after(built, api, django_capture_on_commit_callbacks):
    _, first = built
    with time_machine.travel(first.finished_at + timedelta(minutes=4), tick=False):
        refused = api.post("/api/v1/export/")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "export_cooldown"
    assert refused["Retry-After"] == str(6 * 60)
    with (time_machine.travel(first.finished_at + timedelta(minutes=10, seconds=1), tick=False),
          django_capture_on_commit_callbacks(execute=False)):
        assert api.post("/api/v1/export/").status_code == 202


def test_an_export_being_prepared_is_returned_during_the_cooldown(people, api):
    ada = people[0]
    running = DataExport.objects.create(user=ada, status=DataExport.Status.RUNNING,
                                        claim_token=uuid.uuid4(), heartbeat_at=timezone.now())
    DataExport.objects.create(user=ada, status=DataExport.Status.EXPIRED,
                              finished_at=timezone.now())
    response = api.post("/api/v1/export/")
    assert response.status_code == 202 and response.json()["id"] == running.pk


def test_an_export_built_while_a_purge_runs_is_discarded_when_the_purge_commits(
        built, settings, q_sync, django_capture_on_commit_callbacks):
    """The export could not see the purge's uncommitted deletes: it read the data being
    deleted. The purge discards once more as it commits."""
    user, first = built
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        connection_data_purge(connection=Connection.objects.get(user=user, provider="spotify"))
        # meanwhile, elsewhere: a new export is asked for and built (here, inside the purge's
        # transaction, the nearest a single-connection test gets to "before it commits")
        DataExport.objects.filter(pk=first.pk).update(finished_at=None)  # past the cool-down
        second = export_request(user=user)
        export_build(export_id=second.pk)
        assert DataExport.objects.get(pk=second.pk).status == DataExport.Status.READY
    second.refresh_from_db()
    assert second.status == DataExport.Status.EXPIRED and not second.file_name
    assert _export_files(settings) == []


def test_a_purge_does_not_hold_the_person_to_the_cooldown(built, q_sync,
                                                          django_capture_on_commit_callbacks):
    user, first = built
    with django_capture_on_commit_callbacks(execute=True):
        connection_data_purge(connection=Connection.objects.get(user=user, provider="spotify"))
    first.refresh_from_db()
    assert first.status == DataExport.Status.EXPIRED and first.error == services.DISCARDED
    with django_capture_on_commit_callbacks(execute=True):
        again = export_request(user=user)  # at once: the discarded zip does not count
    assert DataExport.objects.get(pk=again.pk).status == DataExport.Status.READY


def test_at_most_six_exports_start_in_an_hour_however_they_end(people, monkeypatch):
    from privacy.export_selectors import EXPORTS_PER_HOUR

    user = people[0]
    monkeypatch.setattr(services, "_enqueue", lambda pk: None)
    for _ in range(EXPORTS_PER_HOUR):
        export = export_request(user=user)
        # ended by a purge each time: failed, so the cool-down alone would not stop the next
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED, finished_at=timezone.now(), error=services.DISCARDED)
    with pytest.raises(services.ExportCooldown) as refused:
        export_request(user=user)
    assert refused.value.retry_at > timezone.now() + timedelta(minutes=59)
    with _later(61):
        assert export_request(user=user).status == DataExport.Status.QUEUED
