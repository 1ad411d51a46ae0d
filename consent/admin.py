"""Consent is the person's to give: staff can read the answers and their history, never edit."""

from django.contrib import admin

from thinkalike.admin import ReadOnlyAdmin

from .models import ALL_PROVIDERS, ConsentEvent, ConsentGrant

ALL_SERVICES = "All services"


@admin.display(description="provider", ordering="provider")
def provider_or_all(obj: ConsentGrant | ConsentEvent) -> str:
    return ALL_SERVICES if obj.provider == ALL_PROVIDERS else obj.provider


@admin.register(ConsentGrant)
class ConsentGrantAdmin(ReadOnlyAdmin):
    list_display = ["user", provider_or_all, "purpose", "granted", "updated_at"]
    list_filter = ["purpose", "granted", "provider"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    fields = ["user", provider_or_all, "purpose", "granted", "updated_at"]
    readonly_fields = [provider_or_all]


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    """Append-only history: no add, change or delete, for anyone."""

    list_display = ["at", "user", provider_or_all, "purpose", "granted", "source",
                    "policy_version"]
    list_filter = ["purpose", "granted", "source", "policy_version"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    date_hierarchy = "at"
    fields = ["at", "user", provider_or_all, "purpose", "granted", "source", "policy_version"]
    readonly_fields = [provider_or_all]
