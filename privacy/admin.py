"""Staff can see that exports happen and how they end; the files stay the person's own."""

from django.contrib import admin

from thinkalike.admin import ReadOnlyAdmin

from .models import DataExport


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "status", "progress_done", "progress_total",
                    "size_bytes", "finished_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    date_hierarchy = "created_at"
    fields = ["user", "status", "progress_done", "progress_total", "created_at", "started_at",
              "finished_at", "expires_at", "size_bytes", "error", "heartbeat_at"]
