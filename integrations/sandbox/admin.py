"""Admin for the sandbox. Code and token rows never show their hashes."""

from django.contrib import admin

from integrations import clock

from .models import SandboxAuthCode, SandboxGrant, SandboxKnobs, SandboxRequest, StandInListEntry


@admin.register(SandboxKnobs)
class SandboxKnobsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "latency_ms", "error_rate", "rate_limit_rate",
                    "rate_limit_requests", "token_lifetime_seconds", "rotate_refresh_tokens"]
    readonly_fields = ["saved_at"]

    def has_add_permission(self, request):
        return not SandboxKnobs.objects.exists()  # a singleton

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SandboxAuthCode)
class SandboxAuthCodeAdmin(ReadOnlyAdmin):
    list_display = ["account", "client_id", "expires_at", "used"]
    list_filter = ["used"]
    fields = ["account", "client_id", "redirect_uri", "scope", "expires_at", "used"]


@admin.register(SandboxGrant)
class SandboxGrantAdmin(ReadOnlyAdmin):
    list_display = ["account", "client_id", "scope", "access_expires_at", "revoked", "created"]
    list_filter = ["revoked"]
    search_fields = ["account"]
    fields = ["account", "client_id", "scope", "access_expires_at", "revoked", "created"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected grants")
    def revoke(self, request, queryset):
        queryset.update(revoked=True)


@admin.register(SandboxRequest)
class SandboxRequestAdmin(ReadOnlyAdmin):
    list_display = ["at", "client_id", "account", "path", "status", "counted"]
    list_filter = ["status", "counted"]


@admin.register(StandInListEntry)
class StandInListEntryAdmin(admin.ModelAdmin):
    """The MyAnimeList and Kitsu stand-ins' lists. Staff may change an entry here to play a
    change made at the service (the next sync pulls it); entries are added by a PATCH."""

    list_display = ["title", "service", "kind", "status", "progress", "score", "updated_at"]
    list_filter = ["service", "kind", "status"]
    search_fields = ["title", "title_en"]
    fields = ["service", "account", "kind", "media_id", "entry_id", "mal_id", "title",
              "title_en", "title_ja", "total", "genres", "status", "progress", "score",
              "repeating", "updated_at"]
    readonly_fields = ["service", "account", "kind", "media_id", "entry_id", "mal_id", "title",
                       "title_en", "title_ja", "total", "genres", "updated_at"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_at = clock.now()  # as the service stamps a change
        super().save_model(request, obj, form, change)
