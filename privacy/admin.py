"""Staff see that exports happen and how they end (the files stay the person's own), and
delete accounts the way the person would: disconnecting and revoking first."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from integrations.models import Connection
from thinkalike.admin import ReadOnlyAdmin

from .models import DataExport
from .services import AccountDeletionIncomplete, account_delete


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


# Staff delete accounts as the person would: Django's own delete (a view or the bulk action)
# runs in one transaction, where no provider may be called, so it would cascade connections
# away without revoking their tokens. A person with connections is deleted by the action below.
ACCOUNTS_DELETED = "{email}: account deleted; {revoked} of {total} services' access revoked."
ACCOUNT_NOT_REVOKED = "{email}: {name} was not revoked ({note})."
ACCOUNT_NOT_DELETED = "{email}: not deleted: {reason}"


class AccountAdmin(UserAdmin):
    actions = ["delete_accounts"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the cascade that revokes nothing
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and Connection.objects.filter(user=obj).exists():
            return False  # use "Delete accounts": it disconnects and revokes first
        return super().has_delete_permission(request, obj)

    @admin.action(description="Delete accounts (disconnect and revoke every token first)",
                  permissions=["delete"])
    def delete_accounts(self, request, queryset) -> None:
        # An admin action runs outside any transaction: each account_delete calls providers
        # between its own short transactions, as the person's own deletion does.
        for user in list(queryset):
            email = user.email or user.get_username()
            try:
                result = account_delete(user=user)
            except AccountDeletionIncomplete as exc:
                self.message_user(request, ACCOUNT_NOT_DELETED.format(email=email,
                                                                      reason=exc),
                                  messages.ERROR)
                continue
            revoked = sum(1 for outcome in result.revokes if outcome.revoked)
            self.message_user(request, ACCOUNTS_DELETED.format(
                email=email, revoked=revoked, total=len(result.revokes)), messages.SUCCESS)
            for outcome in result.revokes:
                if not outcome.revoked:
                    self.message_user(request, ACCOUNT_NOT_REVOKED.format(
                        email=email, name=outcome.name, note=outcome.note), messages.WARNING)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
