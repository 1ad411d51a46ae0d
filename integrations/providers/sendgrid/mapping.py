"""SendGrid global statistics -> one dashboard item per day (pure functions). Business data:
no interests. The metrics are counts of emails, not about any one recipient."""

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from integrations.exceptions import ProviderDataError
from integrations.providers.base import MappedItem, require

DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
METRICS = ("requests", "processed", "delivered", "deferred", "bounces", "blocks",
           "invalid_emails", "opens", "unique_opens", "clicks", "unique_clicks", "spam_reports",
           "unsubscribes", "bounce_drops", "spam_report_drops", "unsubscribe_drops")


def _count(value: Any) -> int:
    return value if type(value) is int and value >= 0 else 0


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def map_daily_stats(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    day = require(record, "date")
    if not DAY.fullmatch(day) or not _is_date(day):
        raise ProviderDataError("a statistics day has an unexpected date")
    totals = dict.fromkeys(METRICS, 0)
    # Global stats hold one entry per day; should there be more, their counts add up.
    for entry in require(record, "stats", list):
        metrics = entry.get("metrics") if isinstance(entry, Mapping) else None
        if not isinstance(metrics, Mapping):
            raise ProviderDataError("a statistics entry has no metrics")
        for name in METRICS:
            totals[name] += _count(metrics.get(name))
    return MappedItem(external_id=day, title=f"{day}: {totals['delivered']} delivered",
                      attrs={"date": day, **totals})
