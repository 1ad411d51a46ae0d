"""The export page, the progress fragment htmx polls, and the owner's download."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from .export_selectors import (
    export_downloadable,
    export_get_for_user,
    export_latest_for_user,
    export_next_allowed_at,
)
from .export_services import ExportCooldown, export_request
from .models import DataExport

STARTED = "Your export is being prepared. You can leave this page; it will be here when ready."
GONE = "This export has expired or is no longer available. Prepare a new one."
COOLDOWN = "Your last export finished a moment ago. You can prepare a new one from {at}."


def _context(export: DataExport | None, *, user=None) -> dict:
    context = {"export": export, "downloadable": export_downloadable(export),
               "ttl_hours": settings.THINKALIKE_EXPORT_TTL_HOURS}
    if user is not None:
        context["next_allowed_at"] = export_next_allowed_at(user=user)
        context["cooldown_minutes"] = settings.THINKALIKE_EXPORT_COOLDOWN_MINUTES
    return context


@login_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            export_request(user=request.user)
        except ExportCooldown as refused:
            messages.error(request, COOLDOWN.format(
                at=timezone.localtime(refused.retry_at).strftime("%H:%M")))
        else:
            messages.success(request, STARTED)
        return redirect("privacy:export")
    return render(request, "privacy/export.html",
                  _context(export_latest_for_user(user=request.user), user=request.user))


@login_required
@require_GET
@never_cache
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The fragment htmx polls while the export is queued or running."""
    return render(request, "privacy/_export_status.html",
                  _context(export_get_for_user(user=request.user, pk=pk)))


def export_file_response(export: DataExport) -> FileResponse:
    """The zip as an attachment nobody caches (the caller checked ownership and expiry)."""
    stamp = export.finished_at.strftime("%Y%m%d-%H%M") if export.finished_at else export.pk
    response = FileResponse(export.path.open("rb"), as_attachment=True,
                            filename=f"thinkalike-export-{stamp}.zip",
                            content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = export_get_for_user(user=request.user, pk=pk)
    if not export_downloadable(export):
        raise Http404(GONE)
    return export_file_response(export)
