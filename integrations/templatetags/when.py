"""How times read on every page: "just now", "5 minutes ago", "in 5 hours", "3 Dec 2026, 14:05 UTC".

One place, so every page says it the same way and always names the time zone.
"""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince, timeuntil

register = template.Library()

JUST_NOW = "just now"
STAMP_FORMAT = "j M Y, H:i T"  # T: the zone's abbreviation (UTC, CET...) of settings.TIME_ZONE
SECONDS_STAMP_FORMAT = "j M Y, H:i:s T"


@register.filter
def ago(value: datetime | None) -> str:
    """"just now" within a minute either way, else "5 minutes ago" or "in 5 hours"."""
    if not value:
        return ""
    now = timezone.now()
    if abs(now - value) < timedelta(minutes=1):
        return JUST_NOW
    if value < now:
        return f"{timesince(value, now, depth=1)} ago"
    return f"in {timeuntil(value, now, depth=1)}"


@register.filter
def stamp(value: datetime | None, seconds: bool = False) -> str:
    """An absolute time in the site's time zone, with the zone named."""
    if not value:
        return ""
    return date_format(timezone.localtime(value), SECONDS_STAMP_FORMAT if seconds else
                       STAMP_FORMAT)
