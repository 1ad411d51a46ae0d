"""Reads of exports, always among the caller's own (another person's export is a 404)."""

from django.http import Http404
from django.utils import timezone

from .models import DataExport


def export_latest_for_user(*, user) -> DataExport | None:
    return DataExport.objects.filter(user=user).order_by("-created_at", "-pk").first()


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
