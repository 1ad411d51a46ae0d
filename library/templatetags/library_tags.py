"""The connection page's List sync box, drawn by the library (integrations knows nothing of
it): ``{% load library_tags %}{% list_sync_box connection %}``."""

from django import template

from library.selectors import provider_name
from library.services import library_settings_for
from library.terms import TERMS

register = template.Library()

SWITCH_LABELS = (
    ("sync_status", "Sync status", "Watching, completed, dropped…"),
    ("sync_progress", "Sync progress", "Episodes watched or chapters read."),
    ("sync_ratings", "Sync ratings", "Your score (0 to 100 here, the service's own scale there)."),
)


@register.inclusion_tag("library/_list_sync_box.html")
def list_sync_box(connection) -> dict:
    """Nothing for a connection that keeps no anime or manga list."""
    if connection.provider not in TERMS:
        return {"show": False}
    row = library_settings_for(connection)
    return {"show": True, "connection": connection,
            "switches": [{"name": name, "label": label, "help": help_text,
                          "on": getattr(row, name)}
                         for name, label, help_text in SWITCH_LABELS]}


@register.filter
def service_name(slug: str) -> str:
    """A service's name from the slug a conflict keeps."""
    return provider_name(slug)
