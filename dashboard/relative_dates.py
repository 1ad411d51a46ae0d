"""Relative dates in widget parameters, resolved each time a widget loads.

A widget that shows "the last 30 days" must not store the day it was made, so a parameter value
may be relative to now:

    -30d          now minus 30 days, as Unix epoch seconds   (Stripe's created[gte])
    -30d:date     the same moment as a UTC date, YYYY-MM-DD   (SendGrid's start_date)
    -30d:iso      the same moment as ISO 8601 UTC, 2026-10-30T08:00:00Z
    0d:date       today

The amount is 0 to 9999, the unit m (minutes), h (hours), d (days) or w (weeks), and it is
always in the past (or now): a leading minus, or 0. Any other value is sent as it is.

The moment is rounded down to the start of its unit (the minute, the hour, the UTC day; a week
to the day), so a widget asks the same question, and the proxy answers it from its cache, until
that unit turns: "-30d" is midnight UTC 30 days ago all day long.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

RELATIVE = re.compile(r"(?:-(?P<amount>[1-9][0-9]{0,3})|(?P<zero>0))(?P<unit>[mhdw])"
                      r"(?::(?P<format>date|iso))?")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def is_relative(value: str) -> bool:
    return isinstance(value, str) and RELATIVE.fullmatch(value) is not None


def resolve(value: str, now: datetime) -> str:
    """``value`` with a relative date replaced by the moment it names from ``now``."""
    match = RELATIVE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return value
    amount = 0 if match["zero"] else int(match["amount"])
    unit = match["unit"]
    moment = now.astimezone(UTC).replace(second=0, microsecond=0)
    if unit != "m":
        moment = moment.replace(minute=0)
    if unit in "dw":
        moment = moment.replace(hour=0)
    moment -= timedelta(**{UNITS[unit]: amount})
    if match["format"] == "date":
        return moment.date().isoformat()
    if match["format"] == "iso":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(int(moment.timestamp()))


def resolve_params(params: list[list[str]], now: datetime) -> list[tuple[str, str]]:
    return [(name, resolve(value, now)) for name, value in params]
