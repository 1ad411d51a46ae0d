from django.contrib import admin

from .models import Widget


@admin.register(Widget)
class WidgetAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "connection", "view", "path", "position", "created")
    list_filter = ("view",)
    search_fields = ("title", "path", "user__email")
    raw_id_fields = ("user", "connection")
    readonly_fields = ("created",)
