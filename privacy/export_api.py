"""/api/v1/export/: start an export of everything held about the caller, follow it, fetch it.

* ``POST /export/`` queues one (202); while one is queued or running it returns that one.
* ``GET /export/`` the latest export: status, progress, expiry, and the download URL once ready
  (404 ``no_export`` before the first).
* ``GET /export/download/`` the latest ready zip, while it has not expired, even while a newer
  one is being prepared (404 ``no_export_file`` otherwise), whatever the ``Accept`` header.

Only the caller's own exports are ever read: there is no id to guess.
"""

from __future__ import annotations

import math

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api.errors import ApiError
from integrations.api.schema import ErrorSerializer

from .export_selectors import (
    export_downloadable,
    export_latest_for_user,
    export_latest_ready_for_user,
)
from .export_services import ExportCooldown, export_request
from .models import DataExport
from .views_export import export_file_response

NO_EXPORT = "You have not asked for an export yet."
NO_FILE = "No export is ready to download: it expired, or is still being prepared."
COOLDOWN = "Your last export finished too recently; try again after Retry-After seconds."


class ExportSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, help_text="0 to 100.")
    download_url = serializers.SerializerMethodField(
        help_text="Where to fetch the newest ready, unexpired zip (this export's, or the "
                  "previous one's while this one is prepared); else null.")

    class Meta:
        model = DataExport
        fields = ["id", "status", "progress_done", "progress_total", "percent", "created_at",
                  "started_at", "finished_at", "expires_at", "size_bytes", "error",
                  "download_url"]
        read_only_fields = fields
        extra_kwargs = {
            "progress_done": {"help_text": "Rows written so far."},
            "progress_total": {"help_text": "Rows to write, counted when the export started."},
            "expires_at": {"help_text": "When the file is deleted (null until ready)."},
        }

    def get_download_url(self, export: DataExport) -> str | None:
        """Where the newest ready zip is fetched: this export's, or, while a newer one is on
        its way, the previous one's (``/export/download/`` serves the newest ready zip)."""
        ready = export if export_downloadable(export) else export_latest_ready_for_user(
            user=self.context["request"].user)
        if not export_downloadable(ready):
            return None
        return self.context["request"].build_absolute_uri(reverse("api:export-download"))


def _not_found(message: str, code: str) -> ApiError:
    return ApiError(status_code=status.HTTP_404_NOT_FOUND, code=code, message=message)


class ExportView(APIView):
    """The caller's export."""

    @extend_schema(responses={200: ExportSerializer,
                              404: OpenApiResponse(ErrorSerializer, description=NO_EXPORT)},
                   summary="The latest export", operation_id="export_retrieve")
    def get(self, request: Request) -> Response:
        export = export_latest_for_user(user=request.user)
        if export is None:
            raise _not_found(NO_EXPORT, "no_export")
        return Response(ExportSerializer(export, context={"request": request}).data)

    @extend_schema(request=None,
                   responses={202: ExportSerializer,
                              429: OpenApiResponse(ErrorSerializer, description=COOLDOWN)},
                   summary="Start an export (or get the one being prepared)",
                   operation_id="export_create")
    def post(self, request: Request) -> Response:
        try:
            export = export_request(user=request.user)
        except ExportCooldown as refused:
            wait = max(1, math.ceil((refused.retry_at - timezone.now()).total_seconds()))
            raise ApiError(status_code=status.HTTP_429_TOO_MANY_REQUESTS, code="export_cooldown",
                           message=COOLDOWN, headers={"Retry-After": str(wait)}) from None
        return Response(ExportSerializer(export, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class AnyAcceptNegotiation(BaseContentNegotiation):
    """The download answers a file whatever the client accepts (``Accept: application/zip``
    included); its errors are rendered by the first renderer (JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportDownloadView(APIView):
    """The latest ready export's zip."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY,
                                                  description="The zip (an attachment)."),
        404: OpenApiResponse(ErrorSerializer, description=NO_FILE),
    }, summary="Download the export", operation_id="export_download")
    def get(self, request: Request):
        export = export_latest_ready_for_user(user=request.user)
        if not export_downloadable(export):
            raise _not_found(NO_FILE, "no_export_file")
        return export_file_response(export)
