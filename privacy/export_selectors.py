"""Reads of exports, always among the caller's own (another person's export is a 404)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from .models import DataExport

# The error of an export a deletion of the person's data discarded (ready or being prepared).
DISCARDED = "Discarded with the data you deleted. Prepare a new one."


def export_latest_for_user(*, user) -> DataExport | None:
    return DataExport.objects.filter(user=user).order_by("-created_at", "-pk").first()


def export_latest_ready_for_user(*, user) -> DataExport | None:
    """The newest ready export not yet past its expiry (a newer one may be on its way)."""
    return (DataExport.objects.filter(user=user, status=DataExport.Status.READY,
                                      expires_at__gt=timezone.now())
            .order_by("-finished_at", "-pk").first())


# However they end (failed, discarded by a purge), at most this many exports start per person
# in any hour: each one reads every table of theirs.
EXPORTS_PER_HOUR = 6


def export_next_allowed_at(*, user) -> datetime | None:
    """When the person may start a new export, or None when they may now: one per
    THINKALIKE_EXPORT_COOLDOWN_MINUTES after the last one finished (a failed one, or one a
    purge discarded, does not count: it was not theirs to keep), and EXPORTS_PER_HOUR in any
    hour whatever became of them."""
    now = timezone.now()
    waits = []
    last = (DataExport.objects.filter(user=user, finished_at__isnull=False)
            .exclude(status=DataExport.Status.FAILED).exclude(error=DISCARDED)
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
    if last is not None:
        waits.append(last + timedelta(minutes=settings.THINKALIKE_EXPORT_COOLDOWN_MINUTES))
    started = list(DataExport.objects.filter(user=user, created_at__gt=now - timedelta(hours=1))
                   .order_by("-created_at").values_list("created_at", flat=True)
                   [:EXPORTS_PER_HOUR])
    if len(started) >= EXPORTS_PER_HOUR:
        waits.append(started[-1] + timedelta(hours=1))
    allowed = max(waits, default=None)
    return allowed if allowed is not None and allowed > now else None


def export_get_for_user(*, user, pk: int) -> DataExport:
    export = DataExport.objects.filter(user=user, pk=pk).first()
    if export is None:
        raise Http404("No such export.")
    return export


def export_downloadable(export: DataExport | None) -> bool:
    """Ready, not yet past its expiry (the expiry schedule may not have run yet), on disk."""
    return (export is not None and export.status == DataExport.Status.READY
            and export.expires_at is not None and export.expires_at > timezone.now()
            and export.path is not None and export.path.is_file())
