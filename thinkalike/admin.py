"""Admin building blocks shared by the apps."""

from django.contrib import admin


class ReadOnlyPermissionsMixin:
    """Staff may look, never add, change or delete: the services write these rows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyPermissionsMixin, admin.ModelAdmin):
    pass
