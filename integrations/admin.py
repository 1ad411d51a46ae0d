"""The staff UI. Pages are read-only: every state change is an action that calls a service.

Secrets never reach a page: Credential is shown only through an inline that lists its metadata
fields, so no form field and no display exists for ``access_token``, ``refresh_token`` or
``secret``. allauth's SocialApp (client secrets) and SocialToken admins are removed for the same
reason.
"""

from __future__ import annotations

import json

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator

from thinkalike.admin import ReadOnlyAdmin, ReadOnlyPermissionsMixin

from .credentials import credential_unreadable
from .diagnostics import connection_diagnostics
from .exceptions import IntegrationError
from .health_report import health_overview
from .models import (
    ActionRun,
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    HealthOverview,
    Interest,
    OAuthClientApp,
    ProxyStat,
    StreamState,
    SyncRun,
    UserInterest,
)
from .providers.registry import UnknownProvider
from .reauth import connection_mark_reauth
from .services import connection_can_sync, connection_test
from .sync import sync_request

RECENT_RUNS = 10
RECENT_PROXY_DAYS = 14
REAUTH_REASON = "Marked for re-authorisation by staff."
# Messages staff see after an action; tests import them.
NOT_QUEUED_SYNC_OFF = "{connection}: not queued, syncing is turned off for it."
NOT_QUEUED_STATUS = "{connection}: not queued, its status is “{status}”."
NOT_QUEUED_UNREADABLE = "{connection}: not queued, its credential cannot be decrypted."
SYNC_QUEUED = "{connection}: sync queued."
SYNC_ALREADY_QUEUED = "{connection}: a sync is already queued or running."
TEST_FAILED = "{connection}: test failed: {message}"
TEST_WORKED = "{connection}: works (account {label})."
PROVIDER_NOT_INSTALLED = "{connection}: its provider “{slug}” is not installed here."
MARKED_REAUTH = "{count} connection(s) marked for re-authorisation."
CREDENTIAL_UNREADABLE_STAFF = "cannot be decrypted with the configured keys"
DIAGNOSTICS_LINK = "Diagnostics"
DIAGNOSTICS_TEMPLATE = "admin/integrations/connection/diagnostics.html"

# SocialAccount too: deleting one here would bypass connection_disconnect (no revoke, the
# Connection kept). Staff see the account on the connection.
for _model in (SocialAccount, SocialApp, SocialToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


def pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


class ReadOnlyInline(ReadOnlyPermissionsMixin):
    """Staff look; the engine writes. Deleting goes through services (disconnect, purge)."""

    extra = 0
    can_delete = False


class CredentialInline(ReadOnlyInline, admin.StackedInline):
    """Token metadata only. The encrypted fields are not listed, so no form field exists."""

    model = Credential
    verbose_name_plural = "credential (metadata only; secrets are never shown)"
    fields = ["readable", "token_type", "expires_at", "refreshed_at", "fingerprint",
              "has_refresh_token", "scopes", "client_id", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="secrets")
    def readable(self, obj: Credential) -> str:
        return "readable" if obj.is_readable else CREDENTIAL_UNREADABLE_STAFF

    @admin.display(description="has refresh token", boolean=True)
    def has_refresh_token(self, obj: Credential) -> bool:
        return obj.has_refresh_token

    @admin.display(description="scopes granted")
    def scopes(self, obj: Credential) -> str:
        return ", ".join(obj.connection.scopes) or "-"


class RecentRunsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # Sliced here, after the formset has filtered on the parent (a sliced queryset can no
        # longer be filtered), and kept so the formset evaluates it once.
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_RUNS]
        return self._recent


class RunDurationMixin:
    @admin.display(description="duration")
    def duration(self, obj: SyncRun) -> str:
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.1f}s"


class SyncRunInline(RunDurationMixin, ReadOnlyInline, admin.TabularInline):
    model = SyncRun
    formset = RecentRunsFormSet
    verbose_name_plural = f"latest {RECENT_RUNS} sync runs"
    fields = ["queued_at", "trigger", "mode", "status", "pages", "fetched", "created", "updated",
              "unchanged", "deleted", "duration", "error"]
    readonly_fields = fields
    ordering = ["-queued_at", "-pk"]
    show_change_link = True

    @admin.display(description="error")
    def error(self, obj: SyncRun) -> str:
        if not obj.error_code:
            return "-"
        return Truncator(f"{obj.error_code}: {obj.error_message}").chars(120)


class RecentProxyStatsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_PROXY_DAYS]
        return self._recent


def hit_rate_text(stat: ProxyStat) -> str:
    rate = stat.hit_rate
    return "-" if rate is None else f"{rate:.0%}"


class ProxyStatInline(ReadOnlyInline, admin.TabularInline):
    """Hits and misses of the external-API proxy: upstream requests are ApiCall rows, hits
    make none, so this is where they show."""

    model = ProxyStat
    formset = RecentProxyStatsFormSet
    verbose_name_plural = f"proxy answers, latest {RECENT_PROXY_DAYS} days"
    fields = ["day", "hits", "misses", "refreshes", "stale", "errors", "hit_rate"]
    readonly_fields = fields
    ordering = ["-day"]

    @admin.display(description="hit rate")
    def hit_rate(self, obj: ProxyStat) -> str:
        return hit_rate_text(obj)


def _item_count() -> Subquery:
    return Subquery(
        ExternalItem.objects.filter(connection=OuterRef("pk"), deleted_at__isnull=True)
        .order_by().values("connection").annotate(n=Count("pk")).values("n"),
        output_field=IntegerField(),
    )


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ["user_email", "provider", "status", "account_label", "last_sync_status",
                    "last_sync_at", "last_success_at", "consecutive_failures", "items",
                    "token_fingerprint", "credential_state", "diagnostics_link"]
    list_filter = ["provider", "status", "last_sync_status"]
    # The credential is joined so the credential column needs no query per row.
    list_select_related = ["user", "credential"]
    search_fields = ["user__email", "account_label", "external_account_id"]
    fieldsets = [
        (None, {"fields": ["user", "provider", "status", "external_account_id", "account_label",
                           "scopes", "config", "social_account", "runs_link",
                           "action_runs_link", "diagnostics_link"]}),
        ("Sync settings", {"fields": ["sync_enabled", "auto_sync", "stream_settings",
                                      "next_sync_at", "sync_claimed_at"]}),
        ("Health", {"fields": ["last_sync_at", "last_sync_status", "last_success_at",
                               "consecutive_failures", "consecutive_test_failures",
                               "last_error", "last_test_error", "health_state", "health_changed_at",
                               "last_tested_at", "next_test_at"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["runs_link", "action_runs_link", "diagnostics_link"]
    inlines = [CredentialInline, SyncRunInline, ProxyStatInline]
    actions = ["sync_now", "test_connection", "mark_reauth"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Connection]:
        return super().get_queryset(request).annotate(
            credential_fingerprint=F("credential__fingerprint"),
            item_count=Coalesce(_item_count(), 0),
        )

    def has_operate_permission(self, request: HttpRequest) -> bool:
        # The page is read-only; the actions need the change permission all the same.
        return request.user.has_perm("integrations.change_connection")

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj: Connection) -> str:
        return obj.user.email or obj.user.get_username()

    @admin.display(description="items", ordering="item_count")
    def items(self, obj: Connection) -> int:
        return obj.item_count

    @admin.display(description="token fingerprint")
    def token_fingerprint(self, obj: Connection) -> str:
        return obj.credential_fingerprint or "-"

    @admin.display(description="credential")
    def credential_state(self, obj: Connection) -> str:
        if credential_unreadable(obj):
            return CREDENTIAL_UNREADABLE_STAFF
        return "-"

    @admin.display(description="sync runs")
    def runs_link(self, obj: Connection) -> str:
        url = reverse("admin:integrations_syncrun_changelist")
        return format_html('<a href="{}?{}">All sync runs</a>', url,
                           urlencode({"connection__id__exact": obj.pk}))

    @admin.display(description="diagnostics")
    def diagnostics_link(self, obj: Connection) -> str:
        url = reverse("admin:integrations_connection_diagnostics", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, DIAGNOSTICS_LINK)

    def get_urls(self):
        # Before the default URLs: their "<path:object_id>/" would take this path first.
        return [
            path("<path:object_id>/diagnostics/",
                 self.admin_site.admin_view(self.diagnostics_view),
                 name="integrations_connection_diagnostics"),
            *super().get_urls(),
        ]

    def diagnostics_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Configuration, token metadata and recent activity of one connection, redacted."""
        connection = self.get_object(request, unquote(object_id))
        if connection is None:
            raise Http404("No such connection.")
        if not self.has_view_permission(request, connection):
            raise PermissionDenied
        return TemplateResponse(request, DIAGNOSTICS_TEMPLATE, {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": connection,
            "title": f"Diagnostics: {connection}",
            "diag": connection_diagnostics(connection=connection),
        })

    @admin.display(description="action runs")
    def action_runs_link(self, obj: Connection) -> str:
        url = reverse("admin:integrations_actionrun_changelist")
        return format_html('<a href="{}?{}">All action runs</a>', url,
                           urlencode({"connection__id__exact": obj.pk}))

    @admin.action(description="Sync now", permissions=["operate"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset.select_related("user", "credential"):
            if not connection.sync_enabled:
                self.message_user(request, NOT_QUEUED_SYNC_OFF.format(connection=connection),
                                  messages.WARNING)
            elif not connection_can_sync(connection):
                self.message_user(request, NOT_QUEUED_STATUS.format(
                    connection=connection, status=connection.get_status_display()),
                    messages.WARNING)
            elif credential_unreadable(connection):
                self.message_user(request, NOT_QUEUED_UNREADABLE.format(connection=connection),
                                  messages.WARNING)
            elif sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL):
                self.message_user(request, SYNC_QUEUED.format(connection=connection),
                                  messages.SUCCESS)
            else:
                self.message_user(request, SYNC_ALREADY_QUEUED.format(connection=connection),
                                  messages.WARNING)

    @admin.action(description="Test connection", permissions=["operate"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset.select_related("user"):
            try:
                account = connection_test(connection=connection)
            except IntegrationError as exc:
                self.message_user(request, TEST_FAILED.format(
                    connection=connection, message=exc.message), messages.ERROR)
            except UnknownProvider:
                self.message_user(request, PROVIDER_NOT_INSTALLED.format(
                    connection=connection, slug=connection.provider), messages.ERROR)
            else:
                self.message_user(request, TEST_WORKED.format(
                    connection=connection, label=account.label), messages.SUCCESS)

    @admin.action(description="Mark for re-authorisation", permissions=["operate"])
    def mark_reauth(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        actor = request.user.email or request.user.get_username()
        count = 0
        for connection in queryset.select_related("user"):
            connection_mark_reauth(connection=connection, reason=REAUTH_REASON, actor=actor)
            count += 1
        self.message_user(request, MARKED_REAUTH.format(count=count), messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(RunDurationMixin, ReadOnlyAdmin):
    list_display = ["pk", "connection", "trigger", "mode", "status", "queued_at", "duration",
                    "pages", "fetched", "created", "updated", "unchanged", "deleted",
                    "error_code"]
    list_filter = ["status", "trigger", "mode", "connection__provider"]
    list_select_related = ["connection__user"]
    search_fields = ["connection__user__email", "connection__account_label"]
    date_hierarchy = "queued_at"
    fields = ["connection", "trigger", "mode", "status", "queued_at", "started_at",
              "finished_at", "duration", "pages", "fetched", "created", "updated", "unchanged",
              "deleted", "streams_pretty", "progress", "error_code", "error_message"]
    readonly_fields = ["duration", "streams_pretty"]

    @admin.display(description="streams")
    def streams_pretty(self, obj: SyncRun) -> str:
        return pretty_json(obj.streams)


@admin.register(ActionRun)
class ActionRunAdmin(ReadOnlyAdmin):
    """Writes people asked of providers. The input is the redacted summary stored at claim."""

    list_display = ["pk", "connection", "action", "status", "created_at", "finished_at",
                    "external_id", "actor"]
    list_filter = ["status", "action", "connection__provider"]
    list_select_related = ["connection__user"]
    search_fields = ["connection__user__email", "action", "external_id", "idempotency_key"]
    date_hierarchy = "created_at"
    fields = ["connection", "action", "status", "idempotency_key", "input_pretty", "external_id",
              "summary", "error", "actor", "created_at", "finished_at"]
    readonly_fields = ["input_pretty"]

    @admin.display(description="input (redacted)")
    def input_pretty(self, obj: ActionRun) -> str:
        return pretty_json(obj.input_summary)


@admin.register(StreamState)
class StreamStateAdmin(ReadOnlyAdmin):
    list_display = ["connection", "stream", "updated_at"]
    list_filter = ["connection__provider", "stream"]
    list_select_related = ["connection__user"]
    search_fields = ["connection__user__email", "stream"]
    fields = ["connection", "stream", "cursor_pretty", "updated_at"]
    readonly_fields = ["cursor_pretty"]

    @admin.display(description="cursor")
    def cursor_pretty(self, obj: StreamState) -> str:
        return pretty_json(obj.cursor)


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted at the provider"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


@admin.register(ExternalItem)
class ExternalItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "connection", "first_seen_at", "last_seen_at", "deleted_at"]
    list_filter = ["kind", "connection__provider", DeletedFilter]
    list_select_related = ["connection__user"]
    search_fields = ["title", "external_id"]
    fields = ["connection", "kind", "external_id", "title", "attrs_pretty", "content_hash",
              "first_seen_at", "last_seen_at", "deleted_at", "library_entry", "synced"]
    readonly_fields = ["attrs_pretty"]

    @admin.display(description="attributes")
    def attrs_pretty(self, obj: ExternalItem) -> str:
        return pretty_json(obj.attrs)


@admin.register(Interest)
class InterestAdmin(admin.ModelAdmin):
    """Labels and categories may be tidied; interests themselves come from syncs."""

    list_display = ["label", "slug", "category", "holders"]
    list_filter = ["category"]
    search_fields = ["slug", "label"]
    fields = ["slug", "label", "category"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Interest]:
        return super().get_queryset(request).annotate(holder_count=Count("holders"))

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # would silently remove people's signals

    @admin.display(description="holders", ordering="holder_count")
    def holders(self, obj: Interest) -> int:
        return obj.holder_count


@admin.register(UserInterest)
class UserInterestAdmin(ReadOnlyAdmin):
    list_display = ["user", "interest", "connection", "purpose", "weight", "updated_at"]
    list_filter = ["purpose", "interest__category", "connection__provider"]
    list_select_related = ["user", "interest", "connection__user"]
    search_fields = ["user__email", "interest__label", "interest__slug"]


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [("2", "2xx"), ("3", "3xx"), ("4", "4xx"), ("5", "5xx"), ("none", "No response")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(status_code__isnull=True)
        if value in ("2", "3", "4", "5"):
            low = int(value) * 100
            return queryset.filter(status_code__gte=low, status_code__lt=low + 100)
        return queryset


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ["at", "provider", "method", "host", "path", "status_code", "duration_ms",
                    "retries", "error", "connection_id", "cache_outcome", "caller_id"]
    list_filter = ["provider", StatusClassFilter, "method", "cache_outcome"]
    search_fields = ["host", "path", "error"]
    date_hierarchy = "at"


@admin.register(ProxyStat)
class ProxyStatAdmin(ReadOnlyAdmin):
    list_display = ["day", "provider", "connection", "hits", "misses", "refreshes", "stale",
                    "errors", "hit_rate"]
    list_filter = ["provider", "day"]
    list_select_related = ["connection", "connection__user"]
    search_fields = ["connection__user__email"]
    date_hierarchy = "day"

    @admin.display(description="hit rate")
    def hit_rate(self, obj: ProxyStat) -> str:
        return hit_rate_text(obj)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "provider", "user", "connection_ref", "actor", "message"]
    list_filter = ["action", "provider"]
    list_select_related = ["user"]
    search_fields = ["user__email", "actor", "message"]
    date_hierarchy = "at"


@admin.register(OAuthClientApp)
class OAuthClientAppAdmin(ReadOnlyAdmin):
    """People's own OAuth apps: the client id, never the secret (not listed, so no field)."""

    list_display = ["user", "provider", "client_id", "has_secret", "created_at", "updated_at"]
    list_filter = ["provider"]
    list_select_related = ["user"]
    search_fields = ["user__email", "client_id"]
    fields = ["user", "provider", "client_id", "has_secret", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="secret saved and readable", boolean=True)
    def has_secret(self, obj: OAuthClientApp) -> bool:
        return obj.has_secret


HEALTH_TEMPLATE = "admin/integrations/health_overview.html"


@admin.register(HealthOverview)
class HealthOverviewAdmin(ReadOnlyAdmin):
    """The staff health overview: its admin index entry opens the page instead of a list.

    Staff need the "Can view health overview" permission (superusers have it); every figure is
    a count or an aggregate, redacted error texts aside: no secret, no person's data.
    """

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm(
            "integrations.view_healthoverview")

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(request, HEALTH_TEMPLATE, {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Health overview",
            "overview": health_overview(now=timezone.now()),
        })

    def change_view(self, request: HttpRequest, object_id: str, form_url="",
                    extra_context=None) -> HttpResponse:
        """No page per connection here (connections have theirs under Connections): the
        overview again."""
        return self.changelist_view(request)

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        return self.changelist_view(request)
