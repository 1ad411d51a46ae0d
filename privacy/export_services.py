"""Exports: request one, build it (the worker), expire them. Writes only; reads are selectors.

One export per person is queued or running at a time: a database constraint guarantees it
and a request while one is on its way returns that one. The worker claims the export with a
conditional UPDATE under a fresh token and renews the lease (``heartbeat_at``) with each
progress update; every later write of the worker names its token, so a worker whose lease was
taken over (it was thought dead) changes nothing and stops at its next progress update.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.queue import enqueue_many

from .export import export_write
from .models import DataExport

logger = logging.getLogger(__name__)

EXPORT_TASK = "privacy.tasks.export_build_task"  # stored in queued payloads: keep the name
BUILD_FAILED = "The export could not be prepared. Please try again."
LOST = "The worker preparing this export stopped; it was queued again."


class LeaseLost(Exception):
    """Another worker took this export over: stop writing."""


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.THINKALIKE_EXPORT_LEASE_SECONDS)


def _enqueue(export_pk: int) -> None:
    calls = [((export_pk,), f"export-{export_pk}")]
    transaction.on_commit(lambda: enqueue_many(EXPORT_TASK, calls))


def _requeue_if_stale(export_pk: int) -> bool:
    """Queue again an active export whose lease is stale (its worker died, or its queued task
    was lost with a Redis broker). The old worker's token is dropped, so it can write nothing."""
    requeued = DataExport.objects.filter(
        pk=export_pk, status__in=DataExport.ACTIVE, heartbeat_at__lt=_stale_before(),
    ).update(status=DataExport.Status.QUEUED, claim_token=None, heartbeat_at=timezone.now(),
             error=LOST)
    if requeued:
        _enqueue(export_pk)
    return bool(requeued)


def export_request(*, user) -> DataExport:
    """The person's export being prepared, or a new one queued. Never two at once."""
    active = DataExport.objects.filter(user=user, status__in=DataExport.ACTIVE).first()
    if active is None:
        try:
            with transaction.atomic():
                export = DataExport.objects.create(user=user, heartbeat_at=timezone.now())
        except IntegrityError:  # a concurrent request queued one first: that one it is
            return DataExport.objects.get(user=user, status__in=DataExport.ACTIVE)
        _enqueue(export.pk)
        return export
    if _requeue_if_stale(active.pk):
        active.refresh_from_db()
    return active


def exports_requeue_stale() -> int:
    """Queue again every export whose worker stopped renewing its lease."""
    stale = DataExport.objects.filter(status__in=DataExport.ACTIVE,
                                      heartbeat_at__lt=_stale_before())
    return sum(_requeue_if_stale(pk) for pk in stale.values_list("pk", flat=True))


def _claim(export_id: int) -> tuple[uuid.UUID, DataExport] | None:
    token = uuid.uuid4()
    now = timezone.now()
    claimed = DataExport.objects.filter(
        Q(status=DataExport.Status.QUEUED)
        | Q(status=DataExport.Status.RUNNING, heartbeat_at__lt=_stale_before()),
        pk=export_id,
    ).update(status=DataExport.Status.RUNNING, claim_token=token, heartbeat_at=now,
             started_at=now, progress_done=0, error="",
             file_name=f"export-{export_id}-{token.hex}.zip")
    if not claimed:
        return None
    return token, DataExport.objects.select_related("user").get(pk=export_id)


def export_build(*, export_id: int) -> DataExport | None:
    """Write the export's zip (the worker's side). Returns the export as it ends, or None when
    it is gone; an export another worker holds, or already finished, is left alone."""
    claim = _claim(export_id)
    if claim is None:
        return DataExport.objects.filter(pk=export_id).first()
    token, export = claim
    final = export.path
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_suffix(".part")
    mine = DataExport.objects.filter(pk=export_id, claim_token=token)

    def report(done: int, total: int) -> None:
        # One UPDATE per chunk: progress and the lease together.
        if not mine.update(progress_done=done, progress_total=total,
                           heartbeat_at=timezone.now()):
            raise LeaseLost

    try:
        rows = export_write(user=export.user, path=part, progress=report)
    except LeaseLost:
        part.unlink(missing_ok=True)
        return DataExport.objects.filter(pk=export_id).first()
    except Exception:  # a bug must still end the export and free the person's slot
        logger.exception("export %s failed", export_id)
        part.unlink(missing_ok=True)
        mine.update(status=DataExport.Status.FAILED, finished_at=timezone.now(),
                    claim_token=None, file_name="", error=BUILD_FAILED)
        return DataExport.objects.filter(pk=export_id).first()
    os.replace(part, final)
    now = timezone.now()
    finished = mine.update(
        status=DataExport.Status.READY, finished_at=now, claim_token=None, error="",
        expires_at=now + timedelta(hours=settings.THINKALIKE_EXPORT_TTL_HOURS),
        size_bytes=final.stat().st_size, progress_done=rows, progress_total=rows,
    )
    if not finished:  # taken over at the last moment: the new holder writes its own file
        final.unlink(missing_ok=True)
    else:
        # The newest export replaces the earlier ones: their files go now.
        older = DataExport.objects.filter(user_id=export.user_id,
                                          status=DataExport.Status.READY).exclude(pk=export_id)
        for pk in older.values_list("pk", flat=True):
            _expire(pk)
    return DataExport.objects.filter(pk=export_id).first()


def _expire(export_pk: int) -> bool:
    export = DataExport.objects.filter(pk=export_pk, status=DataExport.Status.READY).first()
    if export is None:
        return False
    path = export.path
    if not DataExport.objects.filter(pk=export_pk, status=DataExport.Status.READY).update(
            status=DataExport.Status.EXPIRED, file_name=""):
        return False
    if path is not None:
        path.unlink(missing_ok=True)
    return True


def exports_expire() -> int:
    """Delete the files of ready exports whose time is up and mark them expired."""
    due = DataExport.objects.filter(status=DataExport.Status.READY,
                                    expires_at__lte=timezone.now())
    return sum(_expire(pk) for pk in due.values_list("pk", flat=True))


def export_file_delete(*, path: Path | None) -> None:
    """Remove an export's file once the deleting transaction commits (a rollback keeps it)."""
    if path is not None:
        transaction.on_commit(lambda: path.unlink(missing_ok=True))
