"""Staff look at titles, entries, conflicts, pushes and list sync switches; the services
write them."""

from django.contrib import admin

from integrations.models import ExternalItem
from thinkalike.admin import ReadOnlyAdmin, ReadOnlyPermissionsMixin

from .models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings, MediaTitle


@admin.register(MediaTitle)
class MediaTitleAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "mal_id", "anilist_id", "kitsu_id", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["titles", "=mal_id", "=anilist_id", "=kitsu_id"]
    fields = ["kind", "titles", "mal_id", "anilist_id", "kitsu_id", "created_at", "updated_at"]


class ExternalItemInline(ReadOnlyPermissionsMixin, admin.TabularInline):
    """Where this entry lives on each service, with what was last synced there."""

    model = ExternalItem
    fields = ["connection", "external_id", "synced", "deleted_at"]
    readonly_fields = fields
    extra = 0


class ConflictInline(ReadOnlyPermissionsMixin, admin.TabularInline):
    model = LibraryConflict
    fields = ["field", "local_value", "remote_value", "winner", "provider", "detected_at"]
    readonly_fields = fields
    extra = 0


@admin.register(LibraryEntry)
class LibraryEntryAdmin(ReadOnlyAdmin):
    list_display = ["title", "user", "status", "progress", "score", "removed_at", "updated_at"]
    list_filter = ["status", "title__kind"]
    list_select_related = ["title", "user"]
    search_fields = ["user__email", "title__titles"]
    fields = ["user", "title", "status", "progress", "score", "status_changed_at",
              "progress_changed_at", "score_changed_at", "removed_at", "created_at",
              "updated_at"]
    inlines = [ExternalItemInline, ConflictInline]


@admin.register(LibraryConflict)
class LibraryConflictAdmin(ReadOnlyAdmin):
    list_display = ["entry", "field", "local_value", "remote_value", "winner", "provider",
                    "detected_at", "seen_at"]
    list_filter = ["field", "winner", "provider"]
    list_select_related = ["entry__title", "entry__user"]
    search_fields = ["entry__user__email"]
    fields = ["entry", "field", "local_value", "local_changed_at", "remote_value",
              "remote_changed_at", "winner", "provider", "detected_at", "seen_at"]


@admin.register(LibraryPush)
class LibraryPushAdmin(ReadOnlyAdmin):
    list_display = ["entry", "connection", "state", "created_at", "sent_at"]
    list_filter = ["state", "connection__provider"]
    list_select_related = ["entry__title", "connection__user"]
    search_fields = ["entry__user__email"]
    fields = ["entry", "connection", "values", "state", "action_run", "error", "created_at",
              "updated_at", "sent_at"]


@admin.register(ListSyncSettings)
class ListSyncSettingsAdmin(ReadOnlyAdmin):
    list_display = ["connection", "sync_status", "sync_progress", "sync_ratings", "updated_at"]
    list_filter = ["sync_status", "sync_progress", "sync_ratings", "connection__provider"]
    list_select_related = ["connection__user"]
    search_fields = ["connection__user__email"]
    fields = ["connection", "sync_status", "sync_progress", "sync_ratings", "updated_at"]
