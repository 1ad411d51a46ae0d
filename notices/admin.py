"""Notices are written by the services: staff can read them, never edit."""

from django.contrib import admin

from thinkalike.admin import ReadOnlyAdmin

from .models import Notice, NotificationSettings


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "provider", "kind", "state", "title", "read_at",
                    "emailed_at"]
    list_filter = ["kind", "state", "provider"]
    list_select_related = ["user"]
    search_fields = ["user__email", "title"]
    date_hierarchy = "created_at"
    fields = ["user", "connection", "provider", "kind", "state", "title", "body", "created_at",
              "read_at", "emailed_at", "resolved_at"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(ReadOnlyAdmin):
    list_display = ["user", "email_on_health", "updated_at"]
    list_filter = ["email_on_health"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
