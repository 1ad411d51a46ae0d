"""Send library pushes to the services: each attempt is one ``update_entry`` action run.

A push is claimed with a conditional UPDATE (pending -> sending, attempts + 1) and committed
before the service is called, so two workers never send one attempt, and the action's
idempotency key (push and attempt) makes a second delivery of an attempt return the first's
run instead of writing again. On success the item's base and attributes become the pushed
values: the next pull reads our own write back as "unchanged", so it pushes nothing anywhere
(no ping-pong). A failure that says "try later" is retried with backoff; one that needs a
reconnect waits for it ("not yet on <service>").
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.actions import connection_action_perform
from integrations.exceptions import ActionRejected, IdempotencyKeyReused
from integrations.models import ActionRun, Connection, ExternalItem
from integrations.queue import enqueue_many
from library import statuses
from library.models import LibraryPush
from library.terms import TERMS

logger = logging.getLogger(__name__)

PUSH_TASK = "library.tasks.push_task"
ACTION = "update_entry"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=5)
MAX_RETRY = timedelta(hours=6)
# Shown per service on the entry's page; tests import them.
CANNOT_ADDRESS = "{name} has no id for this title."


def library_pushes_enqueue(push_ids: list[int]) -> int:
    """Queue the sending of these pushes (after the transaction that made them commits)."""
    calls = [((pk,), f"library-push-{pk}") for pk in push_ids]
    if calls:
        transaction.on_commit(lambda: enqueue_many(PUSH_TASK, calls))
    return len(calls)


def _address(push: LibraryPush, item: ExternalItem | None) -> tuple[str, str | None]:
    """(media id, Kitsu entry id) the service knows the title by."""
    title, provider = push.entry.title, push.connection.provider
    if item is not None:
        entry_id = item.attrs.get("entry_id") if isinstance(item.attrs, dict) else None
        return item.external_id, str(entry_id) if entry_id is not None else None
    own = {statuses.ANILIST: title.anilist_id, statuses.MYANIMELIST: title.mal_id}.get(provider)
    return (str(own) if own else ""), None


def library_push_send(*, push_id: int) -> LibraryPush | None:
    """Send one pending push (one attempt). A push that is not pending is left alone."""
    push = (LibraryPush.objects.select_related("connection", "entry__title")
            .filter(pk=push_id).first())
    if push is None or push.state != LibraryPush.State.PENDING:
        return push
    claimed = LibraryPush.objects.filter(
        pk=push.pk, state=LibraryPush.State.PENDING, attempts=push.attempts,
    ).update(state=LibraryPush.State.SENDING, attempts=F("attempts") + 1,
             updated_at=timezone.now())
    if not claimed:
        return push
    push.attempts += 1
    connection = push.connection
    if _newer_exists(push):  # sending old values after newer ones would undo them
        return _done(push, LibraryPush.State.SUPERSEDED)
    item = ExternalItem.objects.filter(connection=connection, library_entry=push.entry).first()
    media_id, entry_id = _address(push, item)
    terms = TERMS[connection.provider]
    if not media_id or (connection.provider == statuses.KITSU and not entry_id):
        return _done(push, LibraryPush.State.FAILED,
                     error=CANNOT_ADDRESS.format(name=connection.provider_name), retry=False)
    data = terms.action_input(push.values, kind=push.entry.title.kind, media_id=media_id,
                              entry_id=entry_id)
    try:
        run = connection_action_perform(
            connection=connection, action=ACTION, data=data,
            idempotency_key=f"library-push-{push.pk}-{push.attempts}", actor="library")
    except (ActionRejected, IdempotencyKeyReused) as error:
        connection.refresh_from_db(fields=["status"])
        if connection.status != Connection.Status.ACTIVE:
            return _done(push, LibraryPush.State.WAITING_RECONNECT, error=error.message)
        return _done(push, LibraryPush.State.FAILED, error=error.message, retry=False)
    if run.status == ActionRun.Status.SUCCEEDED:
        _record_sent(push, item)
        return _done(push, LibraryPush.State.SENT, run=run)
    if not run.is_finished:  # another delivery of this attempt is still sending it
        return push
    connection.refresh_from_db(fields=["status"])
    if connection.status != Connection.Status.ACTIVE:  # the action flagged it: reconnect
        return _done(push, LibraryPush.State.WAITING_RECONNECT, error=run.error, run=run)
    return _done(push, LibraryPush.State.FAILED, error=run.error, run=run,
                 retry=push.attempts < MAX_ATTEMPTS)


def _record_sent(push: LibraryPush, item: ExternalItem | None) -> None:
    """The service holds what was sent now: it is the item's base, and its attributes unless
    a pull stored the service's state meanwhile (then that state stands, and the next merge
    compares it with the new base). The content hash is cleared so the next pull stores what
    the service really answers, even where it equals what was last stored."""
    if item is None:  # created there: the next pull brings the item, linked to this entry
        return
    terms = TERMS[push.connection.provider]
    sent = terms.sent(push.values)
    with transaction.atomic():
        current = ExternalItem.objects.select_for_update().filter(pk=item.pk).first()
        if current is None:
            return
        synced = current.synced if isinstance(current.synced, dict) else {}
        synced = {key: value for key, value in synced.items() if key != "removed"}
        updates = {"synced": {**synced, **sent, "at": timezone.now().isoformat()}}
        if current.content_hash == item.content_hash:
            attrs = current.attrs if isinstance(current.attrs, dict) else {}
            updates |= {"attrs": terms.attrs_after_push(attrs, sent), "content_hash": ""}
        ExternalItem.objects.filter(pk=item.pk).update(**updates)


def _newer_exists(push: LibraryPush) -> bool:
    """A later push of the same entry to the same service: this one's values are old."""
    return LibraryPush.objects.filter(entry_id=push.entry_id, connection_id=push.connection_id,
                                      pk__gt=push.pk).exists()


def _done(push: LibraryPush, state: str, *, error: str = "", run: ActionRun | None = None,
          retry: bool = False) -> LibraryPush:
    now = timezone.now()
    if state in (LibraryPush.State.FAILED, LibraryPush.State.WAITING_RECONNECT) and \
            _newer_exists(push):  # a later edit made a push of its own: only that one waits
        state, retry = LibraryPush.State.SUPERSEDED, False
    push.state, push.error = state, error[:1000]
    push.action_run = run or push.action_run
    push.sent_at = now if state == LibraryPush.State.SENT else push.sent_at
    push.next_attempt_at = (now + min(MAX_RETRY, FIRST_RETRY * 2 ** (push.attempts - 1))
                            if retry else None)
    # Conditional: values changed while this attempt was out make a new push, not this one.
    LibraryPush.objects.filter(pk=push.pk, state=LibraryPush.State.SENDING).update(
        state=push.state, error=push.error, action_run=push.action_run, sent_at=push.sent_at,
        next_attempt_at=push.next_attempt_at, updated_at=now)
    return push


def library_pushes_retry(*, limit: int = 500) -> int:
    """Queue the pushes due again: failed ones whose backoff has passed, ones waiting for a
    reconnect that happened, and pending ones whose queueing was lost. Scheduled (setup)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.THINKALIKE_ACTION_STALE_SECONDS)
    due = LibraryPush.objects.filter(
        Q(state=LibraryPush.State.FAILED, next_attempt_at__lte=now)
        | Q(state=LibraryPush.State.WAITING_RECONNECT,
            connection__status=Connection.Status.ACTIVE)
        | Q(state=LibraryPush.State.PENDING, updated_at__lt=stale)
        | Q(state=LibraryPush.State.SENDING, updated_at__lt=stale),
        connection__status=Connection.Status.ACTIVE, connection__sync_enabled=True,
        connection__auto_sync=True,
    ).order_by("updated_at")[:limit]
    ids = list(due.values_list("pk", flat=True))
    with transaction.atomic():
        LibraryPush.objects.filter(pk__in=ids).update(
            state=LibraryPush.State.PENDING, next_attempt_at=None, updated_at=now)
        return library_pushes_enqueue(ids)


def library_pushes_send_now(*, connection: Connection) -> int:
    """A manual sync: queue every push of ``connection`` not sent yet, whatever the backoff
    (automatic sync off included: this is the person asking)."""
    if connection.status != Connection.Status.ACTIVE:
        return 0
    now = timezone.now()
    with transaction.atomic():
        ids = list(LibraryPush.objects.filter(
            connection=connection,
            state__in=[LibraryPush.State.PENDING, LibraryPush.State.FAILED,
                       LibraryPush.State.WAITING_RECONNECT],
        ).values_list("pk", flat=True))
        LibraryPush.objects.filter(pk__in=ids).update(
            state=LibraryPush.State.PENDING, next_attempt_at=None, updated_at=now)
        return library_pushes_enqueue(ids)

