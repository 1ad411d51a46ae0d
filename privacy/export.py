"""The export zip: every table held about one person, as JSON and CSV, written as a stream.

Memory stays constant whatever the number of rows: each table is read with
``values_list(...).iterator(chunk_size=CHUNK)`` and each row is written at once into the zip
entry (``ZipFile.open(name, "w")``), as one element of a JSON array; its CSV line goes to a
temporary file that is copied into the zip after the JSON (a zip takes one entry at a time).

Never a secret: the columns are chosen one by one below and no table of credentials, personal
OAuth apps or token digests is read. A connection's ``config`` keeps only the keys its provider
declares as non-secret form fields. Provider data is hostile: a CSV cell that a spreadsheet
would run as a formula is prefixed with a quote.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from consent.models import ConsentEvent, ConsentGrant
from integrations.models import (
    ActionRun,
    ApiCall,
    ApiToken,
    AuditEvent,
    Connection,
    ExternalItem,
    SyncRun,
    UserInterest,
)
from integrations.providers.registry import PROVIDERS
from integrations.redaction import redact_text
from library.models import LibraryConflict, LibraryEntry, LibraryPush
from notices.models import Notice, NotificationSettings

CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[int, int], None]  # (rows written, rows in all)


@dataclass(frozen=True)
class Table:
    """One file pair: ``<name>.json`` and ``<name>.csv``."""

    name: str
    about: str
    # (column in the files, ORM lookup read with values_list)
    columns: tuple[tuple[str, str], ...]
    # One queryset, or several disjoint ones (each an indexed read) merged by id: then the
    # first column must be the id.
    rows: Callable[[Any], QuerySet | tuple[QuerySet, ...]]
    clean: Callable[[dict], dict] | None = None

    @property
    def headers(self) -> list[str]:
        return [column for column, _ in self.columns]


def public_config(provider: str, config: Any) -> dict:
    """The keys of a connection's config its provider declares as non-secret form fields.

    Config holds non-secret settings only (integrations/services.py split_fields); keeping
    just the declared keys means a key stored by mistake can still not leave in an export.
    """
    declared = PROVIDERS.get(provider)
    if declared is None or not isinstance(config, dict):
        return {}
    allowed = {f.name for f in declared.connect_fields() if not f.secret} - declared.secret_keys()
    return {key: value for key, value in config.items() if key in allowed}


def _connection(row: dict) -> dict:
    row["config"] = public_config(row["provider"], row["config"])
    row["last_error"] = redact_text(row["last_error"] or "")
    return row


def _redact(field: str) -> Callable[[dict], dict]:
    def clean(row: dict) -> dict:
        row[field] = redact_text(row[field] or "")
        return row

    return clean


def _outbound_requests(user) -> tuple[QuerySet, QuerySet]:
    """The calls made for the person's connections, then the proxy calls they asked for on no
    connection of theirs: two indexed reads (connection_id, caller_id) instead of one OR that
    scans the whole request log on PostgreSQL, with no call in both."""
    theirs = Connection.objects.filter(user=user).values("pk")
    return (ApiCall.objects.filter(connection_id__in=theirs),
            ApiCall.objects.filter(caller=user).exclude(connection_id__in=theirs))


TABLES: tuple[Table, ...] = (
    Table("account", "Your account: e-mail address, username, name, when you joined and last "
          "signed in. Never your password (only a hash of it is stored, and it is not "
          "exported).",
          (("id", "pk"), ("username", "username"), ("email", "email"),
           ("first_name", "first_name"), ("last_name", "last_name"),
           ("date_joined", "date_joined"), ("last_login", "last_login")),
          lambda user: get_user_model().objects.filter(pk=user.pk)),
    Table("social_accounts", "The accounts you sign in with (provider, your id there, when "
          "linked, last sign-in). Not the profile data the provider sent at sign-in "
          "(extra_data), which may hold tokens.",
          (("id", "pk"), ("provider", "provider"), ("uid", "uid"),
           ("date_joined", "date_joined"), ("last_login", "last_login")),
          lambda user: SocialAccount.objects.filter(user=user)),
    Table("connections", "The services you connected: account, status, scopes granted, sync "
          "settings and health. Never a token, key or password.",
          (("id", "pk"), ("provider", "provider"), ("account_label", "account_label"),
           ("external_account_id", "external_account_id"), ("status", "status"),
           ("scopes", "scopes"), ("config", "config"), ("sync_enabled", "sync_enabled"),
           ("auto_sync", "auto_sync"), ("stream_settings", "stream_settings"),
           ("last_sync_at", "last_sync_at"), ("last_sync_status", "last_sync_status"),
           ("next_sync_at", "next_sync_at"), ("last_success_at", "last_success_at"),
           ("last_error", "last_error"), ("consecutive_failures", "consecutive_failures"),
           ("created_at", "created_at")),
          lambda user: Connection.objects.filter(user=user), _connection),
    Table("items", "Every record imported from your services (deleted_at: gone at the "
          "service, kept until the next purge).",
          (("id", "pk"), ("connection_id", "connection_id"), ("provider", "connection__provider"),
           ("kind", "kind"), ("external_id", "external_id"), ("title", "title"),
           ("attrs", "attrs"), ("library_entry_id", "library_entry_id"),
           ("first_seen_at", "first_seen_at"), ("last_seen_at", "last_seen_at"),
           ("deleted_at", "deleted_at")),
          lambda user: ExternalItem.objects.filter(connection__user=user)),
    Table("interests", "The interests derived from your items, per consent purpose, with the "
          "service they came from.",
          (("purpose", "purpose"), ("interest_slug", "interest__slug"),
           ("interest_label", "interest__label"), ("interest_category", "interest__category"),
           ("weight", "weight"), ("provider", "connection__provider"),
           ("connection_id", "connection_id"), ("updated_at", "updated_at")),
          lambda user: UserInterest.objects.filter(user=user)),
    Table("consent_grants", "Your current consent answers (provider empty: every service).",
          (("provider", "provider"), ("purpose", "purpose"), ("granted", "granted"),
           ("updated_at", "updated_at")),
          lambda user: ConsentGrant.objects.filter(user=user)),
    Table("consent_history", "Every change of your consent answers, oldest first (granted "
          "empty: the per-service answer was removed).",
          (("id", "pk"), ("provider", "provider"), ("purpose", "purpose"),
           ("granted", "granted"), ("source", "source"), ("policy_version", "policy_version"),
           ("at", "at")),
          lambda user: ConsentEvent.objects.filter(user=user)),
    Table("sync_runs", "Every sync of your services: counters, outcome, times, error "
          "(redacted).",
          (("id", "pk"), ("connection_id", "connection_id"), ("provider", "connection__provider"),
           ("trigger", "trigger"), ("mode", "mode"), ("status", "status"),
           ("queued_at", "queued_at"), ("started_at", "started_at"),
           ("finished_at", "finished_at"), ("pages", "pages"), ("fetched", "fetched"),
           ("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
           ("deleted", "deleted"), ("error_code", "error_code"),
           ("error_message", "error_message")),
          lambda user: SyncRun.objects.filter(connection__user=user), _redact("error_message")),
    Table("action_runs", "Every write you asked of a service: its input (secrets replaced), "
          "result and error.",
          (("id", "pk"), ("connection_id", "connection_id"), ("provider", "connection__provider"),
           ("action", "action"), ("status", "status"), ("input_summary", "input_summary"),
           ("external_id", "external_id"), ("summary", "summary"), ("error", "error"),
           ("created_at", "created_at"), ("finished_at", "finished_at")),
          lambda user: ActionRun.objects.filter(connection__user=user), _redact("error")),
    Table("outbound_requests", "The requests made to services for you: method, host, path "
          "(never a query string or body), status and time.",
          (("id", "pk"), ("provider", "provider"), ("connection_id", "connection_id"),
           ("method", "method"), ("host", "host"), ("path", "path"),
           ("status_code", "status_code"), ("at", "at"), ("duration_ms", "duration_ms"),
           ("retries", "retries"), ("error", "error")),
          _outbound_requests),
    Table("library_entries", "Your anime and manga library: each title with its status, "
          "progress and score (0 to 100).",
          (("id", "pk"), ("kind", "title__kind"), ("titles", "title__titles"),
           ("mal_id", "title__mal_id"), ("anilist_id", "title__anilist_id"),
           ("kitsu_id", "title__kitsu_id"), ("status", "status"), ("progress", "progress"),
           ("score", "score"), ("status_changed_at", "status_changed_at"),
           ("progress_changed_at", "progress_changed_at"),
           ("score_changed_at", "score_changed_at"), ("removed_at", "removed_at"),
           ("created_at", "created_at"), ("updated_at", "updated_at")),
          lambda user: LibraryEntry.objects.filter(user=user)),
    Table("library_service_items", "Each library entry's record on each service, with the "
          "values last synced (in the service's own terms).",
          (("library_entry_id", "library_entry_id"), ("provider", "connection__provider"),
           ("item_id", "pk"), ("kind", "kind"), ("external_id", "external_id"),
           ("synced", "synced")),
          lambda user: ExternalItem.objects.filter(connection__user=user,
                                                   library_entry__isnull=False)),
    Table("api_tokens", "Your personal API tokens: names and expiry only (the tokens "
          "themselves are never stored).",
          (("name", "name"), ("created", "created"), ("expiry", "expiry"),
           ("last_used_at", "last_used_at")),
          lambda user: ApiToken.objects.filter(user=user)),
    Table("audit_log", "The audit trail of changes to your connections: connected, "
          "disconnected, revoked, data deleted, settings changed (message redacted).",
          (("id", "pk"), ("action", "action"), ("provider", "provider"),
           ("connection_id", "connection_ref"), ("message", "message"), ("at", "at")),
          lambda user: AuditEvent.objects.filter(user=user), _redact("message")),
    Table("notices", "The notices shown to you in the app (a connection failing, say): "
          "title, text, kind, state and when read, e-mailed, resolved.",
          (("id", "pk"), ("kind", "kind"), ("state", "state"), ("provider", "provider"),
           ("connection_id", "connection_id"), ("title", "title"), ("body", "body"),
           ("created_at", "created_at"), ("read_at", "read_at"),
           ("emailed_at", "emailed_at"), ("resolved_at", "resolved_at")),
          lambda user: Notice.objects.filter(user=user)),
    Table("notification_settings", "What you asked to be told by e-mail (no row: the "
          "defaults).",
          (("email_on_health", "email_on_health"), ("updated_at", "updated_at")),
          lambda user: NotificationSettings.objects.filter(user=user)),
    Table("library_conflicts", "Each time a library entry changed both here and on a "
          "service: the two values, which won, when.",
          (("id", "pk"), ("library_entry_id", "entry_id"), ("provider", "provider"),
           ("field", "field"), ("local_value", "local_value"),
           ("remote_value", "remote_value"), ("local_changed_at", "local_changed_at"),
           ("remote_changed_at", "remote_changed_at"), ("winner", "winner"),
           ("detected_at", "detected_at"), ("seen_at", "seen_at")),
          lambda user: LibraryConflict.objects.filter(entry__user=user)),
    Table("library_pushes", "Each change of your library sent (or on its way) to a service: "
          "the values, state, attempts and error (redacted).",
          (("id", "pk"), ("library_entry_id", "entry_id"), ("connection_id", "connection_id"),
           ("provider", "connection__provider"), ("values", "values"), ("state", "state"),
           ("attempts", "attempts"), ("error", "error"), ("created_at", "created_at"),
           ("updated_at", "updated_at"), ("sent_at", "sent_at")),
          lambda user: LibraryPush.objects.filter(entry__user=user), _redact("error")),
)


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def csv_cell(value: Any) -> str:
    """One CSV cell: JSON for structures, ISO 8601 for times, and a text a spreadsheet would
    run as a formula prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _parts(table: Table, user) -> tuple[QuerySet, ...]:
    rows = table.rows(user)
    return rows if isinstance(rows, tuple) else (rows,)


def _first(values: tuple) -> Any:
    return values[0]


def _rows(table: Table, user) -> Iterable[dict]:
    names = table.headers
    lookups = [lookup for _, lookup in table.columns]
    # Ordered by id: an index walk, and the files come out oldest first. Several parts are
    # merged by id, one chunk of each in memory at a time.
    streams = [part.order_by("pk").values_list(*lookups).iterator(chunk_size=CHUNK)
               for part in _parts(table, user)]
    merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_first)
    for values in merged:
        row = dict(zip(names, values, strict=True))
        yield table.clean(row) if table.clean else row


def readme() -> str:
    lines = [
        "Your data, exported from ThinkAlike Connected Services.",
        "",
        "Each table comes twice: NAME.json (a JSON array of objects) and NAME.csv (the same",
        "rows, UTF-8, a header line first). Times are ISO 8601 in UTC. In the CSV files, a",
        "nested value is written as JSON, and a text starting with = + - @ or a tab is",
        "prefixed with ' so a spreadsheet shows it instead of running it.",
        "No token, key, password or client secret is ever part of an export. Text that is",
        "not valid Unicode (a lone surrogate sent by a service) is written as ?.",
        "",
    ]
    for table in TABLES:
        lines += [f"{table.name}.json / {table.name}.csv", f"  {table.about}",
                  f"  Columns: {', '.join(table.headers)}", ""]
    return "\n".join(lines)


def export_count(user) -> int:
    """Rows the export of ``user`` will write (one COUNT per table)."""
    return sum(part.count() for table in TABLES for part in _parts(table, user))


def export_write(*, user, path: Path, progress: Progress | None = None) -> int:
    """Write the zip of ``user`` to ``path``; returns the rows written.

    ``progress(done, total)`` is called once before the first row, then at most once per
    CHUNK rows, and once at the end.
    """
    total = export_count(user)
    done = reported = 0
    if progress:
        progress(0, total)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", readme())
        for table in TABLES:
            with tempfile.TemporaryFile("w+b") as spool:
                # errors="replace": a lone surrogate (stored provider text can hold one)
                # becomes "?" instead of failing the whole export.
                csv_text = io.TextIOWrapper(spool, encoding="utf-8", newline="",
                                            errors="replace")
                writer = csv.writer(csv_text)
                writer.writerow(table.headers)
                with zf.open(f"{table.name}.json", "w", force_zip64=True) as raw:
                    out = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
                    out.write("[")
                    for n, row in enumerate(_rows(table, user)):
                        out.write(",\n" if n else "\n")
                        out.write(json.dumps({k: _json_value(v) for k, v in row.items()},
                                             ensure_ascii=False))
                        writer.writerow([csv_cell(value) for value in row.values()])
                        done += 1
                        if progress and done - reported >= CHUNK:
                            progress(done, total)
                            reported = done
                    out.write("\n]\n")
                    out.flush()
                    out.detach()
                csv_text.flush()
                spool.seek(0)
                with zf.open(f"{table.name}.csv", "w", force_zip64=True) as raw:
                    shutil.copyfileobj(spool, raw)
                csv_text.detach()
    if progress:
        progress(done, max(total, done))
    return done
