"""The sync engine: queue runs (never two per connection) and execute them.

A run is a coordinator: for each stream the person has enabled *and* consented to, page through
the API, map records, upsert ExternalItems by content hash (unchanged rows are not written),
checkpoint the stream, soft-delete what a successful full pass no longer saw, then recompute
the interests and record the outcome. Every failure ends as "reconnect" or "try again later".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, DateTimeField, Q, Value, When
from django.utils import timezone

from consent.selectors import allows_from_map, consent_map

from . import clock
from .credentials import credential_for_use
from .exceptions import IntegrationError, LeaseLost, RateLimited, ReauthRequired, TryLater
from .health_record import connection_health_record
from .http import ApiClient
from .interests import interests_recompute
from .models import Connection, SyncRun
from .providers.base import Stream
from .providers.registry import UnknownProvider, get_provider, syncing_provider_slugs
from .queue import enqueue_many
from .reauth import connection_mark_reauth
from .redaction import redact_text
from .signals import items_changed
from .streams import ConsentWithdrawn, StreamCounters, StreamSync
from .tokens import secret_values
from .transport import cap_wait

logger = logging.getLogger(__name__)

SYNC_TASK = "integrations.tasks.sync_run_task"  # persisted in queued payloads: keep the name
MAX_BACKOFF = timedelta(hours=24)
RATE_LIMIT_MIN_DELAY = timedelta(minutes=5)
SKIP_NO_CONSENT = "no consent for any purpose this stream serves"
SKIP_TURNED_OFF = "turned off in the connection's settings"
SKIP_SYNC_OFF = "syncing was turned off for this connection"
SKIP_CONSENT_WITHDRAWN = (
    "stopped: consent for every purpose this stream serves was withdrawn during the sync"
)


def _claimable() -> Q:
    # Claims are written and judged stale on integrations.clock, which tests can drive.
    stale = clock.now() - timedelta(seconds=settings.THINKALIKE_SYNC_CLAIM_TTL_SECONDS)
    return Q(sync_claimed_at__isnull=True) | Q(sync_claimed_at__lt=stale)


def sync_holds(*, connection_pk: int) -> bool:
    """Whether a queued or running sync holds the connection's claim (a stale claim, whose
    worker died, does not)."""
    return Connection.objects.filter(pk=connection_pk).exclude(_claimable()).exists()


def _claim_and_create_runs(
    pks: list[int], *, trigger: str, mode: str
) -> list[SyncRun]:
    """Claim the given connections and create a queued run for each one claimed.

    Five queries whatever the number of connections: a conditional UPDATE claims them under a
    fresh token (two callers, two dispatchers on two machines: each connection is claimed
    once), an UPDATE closes runs whose claim had gone stale (their worker died), one
    INSERT ... SELECT creates every run, and one SELECT reads the runs back for queueing.
    """
    token = uuid.uuid4()
    now = clock.now()
    # Whether a connection may sync is judged here, in the claiming UPDATE, on the row as it
    # is now: no caller can queue a run of a connection that is not active, has sync off, or
    # whose provider has nothing to sync (no streams, or no longer installed), whether or not
    # it checked first, and however stale its Connection object is.
    claimed = Connection.objects.filter(
        _claimable(), pk__in=pks, status=Connection.Status.ACTIVE, sync_enabled=True,
        provider__in=syncing_provider_slugs(),
    ).update(sync_claimed_at=now, sync_claim_token=token)
    if not claimed:
        return []
    SyncRun.objects.filter(
        connection__sync_claim_token=token,
        status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING],
    ).update(status=SyncRun.Status.FAILED, finished_at=now, error_code="lost",
             error_message="The worker running this sync stopped; it was queued again.")
    _insert_runs_for_claim(token, trigger=trigger, mode=mode, now=now)
    return list(SyncRun.objects.filter(claim_token=token, status=SyncRun.Status.QUEUED)
                .only("pk", "connection_id"))


def _insert_runs_for_claim(token: uuid.UUID, *, trigger: str, mode: str, now) -> None:
    # bulk_create would split the rows into many INSERTs on SQLite (999 parameters per
    # statement); one INSERT ... SELECT keeps the cost flat.
    quote = db_connection.ops.quote_name
    columns = ["connection_id", "trigger", "mode", "status", "queued_at", "pages", "fetched",
               "created", "updated", "unchanged", "deleted", "streams", "progress", "error_code",
               "error_message", "claim_token"]
    token_value = Connection._meta.get_field("sync_claim_token").get_db_prep_value(
        token, db_connection)
    sql = (
        f"INSERT INTO {quote(SyncRun._meta.db_table)} ({', '.join(map(quote, columns))}) "
        f"SELECT {quote('id')}, %s, %s, %s, %s, 0, 0, 0, 0, 0, 0, '{{}}', '', '', '', "
        f"{quote('sync_claim_token')} FROM {quote(Connection._meta.db_table)} "
        f"WHERE {quote('sync_claim_token')} = %s"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [trigger, mode, SyncRun.Status.QUEUED,
                             db_connection.ops.adapt_datetimefield_value(now), token_value])


def _enqueue_on_commit(runs: list[SyncRun]) -> None:
    calls = [((run.pk,), f"sync-run-{run.pk}") for run in runs]
    transaction.on_commit(lambda: enqueue_many(SYNC_TASK, calls))


def sync_request(
    *, connection: Connection, trigger: str, full: bool = False, enqueue: bool = True
) -> SyncRun | None:
    """Queue a run of ``connection`` unless one is already queued or running.

    ``full`` forces a full pass of every stream; otherwise each stream syncs incrementally
    when it can. The task is queued on commit; with ``enqueue=False`` the caller runs it itself
    (``sync_connections --foreground``). Returns None, queueing nothing, when a run is already
    pending, or the connection is not active (needs reconnecting, disabled) or has sync off.
    """
    mode = SyncRun.Mode.FULL if full else SyncRun.Mode.INCREMENTAL
    with transaction.atomic():
        runs = _claim_and_create_runs([connection.pk], trigger=trigger, mode=mode)
        if runs and enqueue:
            _enqueue_on_commit(runs)
    return runs[0] if runs else None


def sync_dispatch_due(*, batch_size: int = 300, max_batches: int = 100) -> int:
    """Queue a run for every connection that is due. Returns how many were queued.

    A constant number of queries per batch of ``batch_size`` connections. 300 keeps the bulk
    insert into django-q2's queue (3 parameters a row) to one statement even on SQLite.
    """
    queued = 0
    for _ in range(max_batches):
        due = list(
            Connection.objects.filter(
                _claimable(), status=Connection.Status.ACTIVE, sync_enabled=True,
                auto_sync=True, next_sync_at__lte=timezone.now(),
            ).order_by("next_sync_at").values_list("pk", flat=True)[:batch_size]
        )
        if not due:
            break
        with transaction.atomic():
            runs = _claim_and_create_runs(due, trigger=SyncRun.Trigger.SCHEDULE,
                                          mode=SyncRun.Mode.INCREMENTAL)
            _enqueue_on_commit(runs)
        queued += len(runs)
        if len(due) < batch_size:
            break
    return queued


@dataclass
class RunOutcome:
    counters: StreamCounters = field(default_factory=StreamCounters)
    streams: dict[str, dict] = field(default_factory=dict)
    error: IntegrationError | None = None

    def stream_statuses(self) -> set[str]:
        return {s["status"] for s in self.streams.values()}


def sync_execute(*, run_id: int) -> SyncRun | None:
    """Execute a queued run. A second delivery of the same run does nothing."""
    started = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=timezone.now(), progress="Starting"
    )
    if not started:
        return SyncRun.objects.filter(pk=run_id).first()
    run = SyncRun.objects.select_related("connection", "connection__user").get(pk=run_id)
    connection = run.connection
    outcome = RunOutcome()
    try:
        _run_streams(run, connection, outcome)
    except ReauthRequired as exc:
        outcome.error = exc
    except IntegrationError as exc:
        outcome.error = exc
    except Exception:  # a bug must still end the run and release the claim
        logger.exception("sync run %s crashed", run_id)
        outcome.error = TryLater("An unexpected error stopped the sync; it will be retried.",
                                 code="internal_error")
    return _finish(run, connection, outcome)


def _run_streams(run: SyncRun, connection: Connection, outcome: RunOutcome) -> None:
    try:
        provider = get_provider(connection.provider)
    except UnknownProvider:
        raise TryLater(f"Provider {connection.provider!r} is not installed here.",
                       code="unknown_provider") from None
    if connection.status != Connection.Status.ACTIVE:
        raise ReauthRequired("This connection needs reconnecting before it can sync.")
    if run.claim_token is not None and connection.sync_claim_token != run.claim_token:
        raise LeaseLost("A newer run took over this connection before this one started.")
    if not connection.sync_enabled:
        # Turned off after this run was queued: sync off means no sync at all, this one too.
        for stream in provider.streams:
            outcome.streams[stream.name] = {"status": "skipped", "reason": SKIP_SYNC_OFF}
        return
    credential = credential_for_use(connection=connection)  # unreadable: reconnect
    client = ApiClient(provider, connection=connection, secrets=secret_values(credential))
    synced: list[StreamSync] = []
    try:
        for stream in provider.streams:
            if not connection.stream_enabled(stream.name):
                outcome.streams[stream.name] = {"status": "skipped", "reason": SKIP_TURNED_OFF}
                continue
            consented = _consent_check(connection, provider.slug, stream)
            # Asked again before every stream (and by the stream before every page), not once
            # per run: a withdrawal stops collection within one page.
            if not consented():
                outcome.streams[stream.name] = {"status": "skipped", "reason": SKIP_NO_CONSENT}
                continue
            synced.append(StreamSync(run=run, connection=connection, provider=provider,
                                     stream=stream, client=client, consented=consented))
            if not _run_one_stream(run, synced[-1], outcome):
                break
    finally:
        client.close()
        # Interests derive from the items alone: a run that wrote none leaves them as they are.
        if any(s.counters.created or s.counters.updated or s.counters.deleted for s in synced):
            interests_recompute(connection=connection, provider=provider)
            _items_changed(connection, full=run.mode == SyncRun.Mode.FULL)


def _items_changed(connection: Connection, *, full: bool) -> None:
    """Tell listeners (the library's merge); a listener's bug is logged, never the run's."""
    for receiver, result in items_changed.send_robust(sender=Connection, connection=connection,
                                                      full=full):
        if isinstance(result, Exception):
            logger.error("after sync of connection %s, %s failed", connection.pk,
                         getattr(receiver, "__qualname__", receiver), exc_info=result)


def _consent_check(
    connection: Connection, provider_slug: str, stream: Stream
) -> Callable[[], bool]:
    """A fresh answer (one query) to: may this stream still collect for any purpose it serves?"""
    def consented() -> bool:
        answers = consent_map(user=connection.user)
        return any(allows_from_map(answers, p, provider_slug) for p in stream.purposes)

    return consented


def _run_one_stream(run: SyncRun, stream_sync: StreamSync, outcome: RunOutcome) -> bool:
    """Run one stream into ``outcome``. False when the whole run must stop early."""
    name = stream_sync.stream.name
    try:
        counters = stream_sync.run(full=run.mode == SyncRun.Mode.FULL)
    except ConsentWithdrawn:
        # What it stored stays (the person may delete it from the consent page); the
        # checkpoint stays too, so a renewed consent resumes where this pass stopped.
        outcome.counters.add(stream_sync.counters)
        outcome.streams[name] = {
            "status": "skipped", "reason": SKIP_CONSENT_WITHDRAWN,
            **stream_sync.counters.as_dict(),
        }
        return True
    except ReauthRequired:
        outcome.counters.add(stream_sync.counters)
        outcome.streams[name] = {"status": "failed", "reason": "reauth_required"}
        raise
    except TryLater as exc:
        # Other streams may still work (a malformed page in one, say); a rate limit past the
        # cap or a lost lease ends the run, and the next one resumes from the checkpoint.
        outcome.counters.add(stream_sync.counters)
        outcome.streams[name] = {
            "status": "failed", "reason": redact_text(exc.message),
            **stream_sync.counters.as_dict(),
        }
        outcome.error = exc
        return exc.code not in ("rate_limited", "lease_lost")
    outcome.counters.add(counters)
    outcome.streams[name] = {
        "status": "succeeded", "mode": stream_sync.mode,
        "not_modified": stream_sync.not_modified, **counters.as_dict(),
    }
    return True


def _run_status(outcome: RunOutcome) -> str:
    statuses = outcome.stream_statuses()
    if isinstance(outcome.error, ReauthRequired):
        return SyncRun.Status.FAILED
    if outcome.error is None:
        if statuses and statuses <= {"skipped"}:
            return SyncRun.Status.SKIPPED
        return SyncRun.Status.SUCCEEDED
    if "succeeded" in statuses or outcome.counters.fetched:
        return SyncRun.Status.PARTIAL
    return SyncRun.Status.FAILED


def _finish(run: SyncRun, connection: Connection, outcome: RunOutcome) -> SyncRun:
    now = timezone.now()
    status = _run_status(outcome)
    error = outcome.error
    message = redact_text(error.message) if error else ""
    run.status = status
    run.finished_at = now
    run.streams = outcome.streams
    run.progress = "Done"
    run.error_code = error.code if error else ""
    run.error_message = message
    for name, value in outcome.counters.as_dict().items():
        setattr(run, name, value)
    run.save()

    if isinstance(error, ReauthRequired) and connection.status == Connection.Status.ACTIVE:
        connection_mark_reauth(connection=connection, reason=message, actor="sync")
    healthy = status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.SKIPPED)
    failures = 0 if healthy else connection.consecutive_failures + 1
    interval = timedelta(minutes=settings.THINKALIKE_SYNC_INTERVAL_MINUTES)
    # Failures push the next attempt back exponentially (5 min, 10, 20 ... capped at a day);
    # the connection is never silently disabled.
    delay = interval if healthy else min(MAX_BACKOFF, timedelta(minutes=5) * 2 ** (failures - 1))
    if isinstance(error, RateLimited):
        # The provider said when to come back (capped): not before, since an earlier run would
        # only be refused, and not after either, since a limit is no sign of a broken
        # connection and must not climb the failure backoff towards a day.
        delay = max(RATE_LIMIT_MIN_DELAY, timedelta(seconds=cap_wait(error.retry_after or 0)))
    # Judged on the row, not on this run's copy: settings may have changed while it ran, and
    # nothing is scheduled while sync or automatic sync is off.
    next_sync_at = Case(When(sync_enabled=True, auto_sync=True, then=Value(now + delay)),
                        default=Value(None), output_field=DateTimeField())
    updates = {
        "last_sync_at": now, "last_sync_status": status, "next_sync_at": next_sync_at,
        "consecutive_failures": failures, "sync_claimed_at": None, "updated_at": now,
        "last_error": "" if healthy else message,
    }
    if healthy:
        updates["last_success_at"] = now
        # A sync that works proves the connection works: failed periodic tests before it are
        # no longer "in a row". (A passing test never resets the sync failures.)
        if status == SyncRun.Status.SUCCEEDED:
            updates["consecutive_test_failures"] = 0
            updates["last_test_error"] = ""
    mine = Connection.objects.filter(pk=connection.pk)
    if run.claim_token is not None:
        # Only the run that holds the claim releases it and reports health; a run whose lease
        # was taken over leaves the connection to its successor.
        mine = mine.filter(sync_claim_token=run.claim_token)
        updates["sync_claim_token"] = None
    mine.update(**updates)
    connection_health_record(connection=connection, now=now)
    logger.info("sync run %s of connection %s: %s", run.pk, connection.pk, status)
    return run
