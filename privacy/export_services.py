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
import re
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.queue import enqueue_many

from .export import export_write
from .export_selectors import DISCARDED, export_next_allowed_at
from .models import DataExport

logger = logging.getLogger(__name__)

EXPORT_TASK = "privacy.tasks.export_build_task"  # stored in queued payloads: keep the name
BUILD_FAILED = "The export could not be prepared. Please try again."
NO_STORAGE = ("The export could not be written: the server's export storage is unavailable. "
              "Please try again later.")
LOST = "The worker preparing this export stopped; it was queued again."


class LeaseLost(Exception):
    """Another worker took this export over: stop writing."""


class ExportCooldown(Exception):
    """The person's last export finished too recently to start another."""

    def __init__(self, retry_at):
        super().__init__(f"next export allowed at {retry_at.isoformat()}")
        self.retry_at = retry_at


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
    """The person's export being prepared, or a new one queued. Never two at once, and a new
    one at most once per THINKALIKE_EXPORT_COOLDOWN_MINUTES after the last finished (raises
    ExportCooldown)."""
    active = DataExport.objects.filter(user=user, status__in=DataExport.ACTIVE).first()
    if active is None:
        retry_at = export_next_allowed_at(user=user)
        if retry_at is not None:
            raise ExportCooldown(retry_at)
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
    if final is None:  # a purge discarded it between the claim and this read
        return export
    part = final.with_suffix(".part")
    mine = DataExport.objects.filter(pk=export_id, claim_token=token)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        logger.exception("export %s: export directory %s unusable", export_id, final.parent)
        mine.update(status=DataExport.Status.FAILED, finished_at=timezone.now(),
                    claim_token=None, file_name="", error=NO_STORAGE)
        return DataExport.objects.filter(pk=export_id).first()

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
    except Exception as exc:  # a bug must still end the export and free the person's slot
        logger.exception("export %s failed", export_id)
        part.unlink(missing_ok=True)
        mine.update(status=DataExport.Status.FAILED, finished_at=timezone.now(),
                    claim_token=None, file_name="",
                    error=NO_STORAGE if isinstance(exc, OSError) else BUILD_FAILED)
        return DataExport.objects.filter(pk=export_id).first()
    if not mine.exists():  # discarded (a purge) or taken over while the last rows went out
        part.unlink(missing_ok=True)
        return DataExport.objects.filter(pk=export_id).first()
    try:
        os.replace(part, final)
    except FileNotFoundError:  # a purge committed meanwhile and removed the file
        return DataExport.objects.filter(pk=export_id).first()
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


def _export_files(export_pk: int) -> list[Path]:
    """Every file of one export in the export dir: its zip, and the ``.part`` of any worker
    (each claim names its files after its own token)."""
    folder = Path(settings.THINKALIKE_EXPORT_DIR)
    if not folder.is_dir():
        return []
    return [path for path in folder.glob(f"export-{export_pk}-*") if path.is_file()]


def export_files_delete(*, export_pk: int) -> None:
    """Remove every file of an export once the current transaction commits (a rollback keeps
    them). Matched by the export's id, not its recorded name: a killed worker's ``.part`` is
    recorded nowhere."""
    def delete() -> None:
        for path in _export_files(export_pk):
            path.unlink(missing_ok=True)

    transaction.on_commit(delete)


def exports_discard_for_user(*, user_id: int, again_on_commit: bool = True) -> int:
    """A person's data is being deleted: none of their exports may outlive it. Inside the
    deleting transaction: ready ones are expired, a queued or running one is ended with its
    lease token dropped (its worker's later writes change nothing and it deletes its own
    file), and every file goes once the transaction commits. Returns the exports discarded.

    Once more when the deletion commits: an export started while it ran could not see its
    uncommitted deletes, read the data being deleted, and may be ready by then."""
    if again_on_commit:
        transaction.on_commit(
            lambda: exports_discard_for_user(user_id=user_id, again_on_commit=False))
    now = timezone.now()
    pks = list(DataExport.objects.filter(
        user_id=user_id, status__in=[*DataExport.ACTIVE, DataExport.Status.READY],
    ).values_list("pk", flat=True))
    if not pks:
        return 0
    # Marked with DISCARDED: the cool-down does not count a zip the person never got to keep.
    DataExport.objects.filter(pk__in=pks, status=DataExport.Status.READY).update(
        status=DataExport.Status.EXPIRED, file_name="", expires_at=now, error=DISCARDED)
    DataExport.objects.filter(pk__in=pks, status__in=DataExport.ACTIVE).update(
        status=DataExport.Status.FAILED, claim_token=None, file_name="", finished_at=now,
        error=DISCARDED)
    for pk in pks:
        export_files_delete(export_pk=pk)
    return len(pks)


EXPORT_FILE = re.compile(r"^export-(\d+)-")


def exports_orphans_delete() -> int:
    """Delete every ``export-<pk>-*`` file in the export dir that no live export names: a
    killed worker's ``.part``, a file left by a crash between two steps. The files are listed
    before the rows are read, so a worker's file created meanwhile is never among them."""
    folder = Path(settings.THINKALIKE_EXPORT_DIR)
    if not folder.is_dir():
        return 0
    files = [path for path in folder.iterdir()
             if path.is_file() and EXPORT_FILE.match(path.name)]
    if not files:
        return 0
    live = {Path(name).stem for name in DataExport.objects.filter(
        status__in=[*DataExport.ACTIVE, DataExport.Status.READY]).exclude(file_name="")
        .values_list("file_name", flat=True)}
    deleted = 0
    for path in files:
        if path.stem not in live:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
