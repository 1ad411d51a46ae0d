"""The Plausible stand-in's made-up but stable numbers: each (site, day) always gives the same
visitors, visits, pageviews, bounce rate and visit duration, so the demo's charts and totals
agree with each other from one request to the next. Days after today count nothing."""

import hashlib
from calendar import monthrange
from datetime import date, timedelta

COUNTS = ("visitors", "visits", "pageviews", "events")
# Breakdown values per property, as Plausible names the result's key.
PROPERTIES = {
    "visit:source": ("source", ["Google", "Direct / None", "DuckDuckGo", "Hacker News",
                                "GitHub", "Bing", "Mastodon", "Reddit"]),
    "visit:country": ("country", ["US", "DE", "FR", "GB", "NL", "IN", "BR", "CA"]),
    "visit:device": ("device", ["Desktop", "Mobile", "Tablet"]),
    "visit:browser": ("browser", ["Chrome", "Firefox", "Safari", "Edge"]),
    "visit:os": ("os", ["Windows", "Mac", "iOS", "Android", "GNU/Linux"]),
    "event:page": ("page", ["/", "/pricing", "/blog", "/docs", "/about", "/blog/launch"]),
    "visit:entry_page": ("entry_page", ["/", "/blog/launch", "/pricing", "/docs"]),
    "visit:exit_page": ("exit_page", ["/", "/pricing", "/docs", "/contact"]),
}


def _seed(*parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def day_numbers(site: str, day: date, today: date) -> dict[str, int]:
    weekday_bump = 15 if day.weekday() < 5 else 0
    return _numbers(_seed(site, day.isoformat()), 20 + weekday_bump, 60, day > today)


def hour_numbers(site: str, day: date, hour: int, today: date) -> dict[str, int]:
    return _numbers(_seed(site, day.isoformat(), hour), 0, 9, day > today)


def _numbers(seed: bytes, least: int, spread: int, future: bool) -> dict[str, int]:
    if future:
        return dict.fromkeys((*COUNTS, "bounce_rate", "visit_duration"), 0)
    visitors = least + seed[0] % spread
    visits = visitors + seed[1] % 10
    pageviews = visits * (1 + seed[2] % 3) + seed[3] % 7
    return {"visitors": visitors, "visits": visits, "pageviews": pageviews, "events": pageviews,
            "bounce_rate": 35 + seed[4] % 40, "visit_duration": 30 + seed[5] % 200}


def total(rows: list[dict[str, int]], metrics: list[str]) -> dict[str, float | int]:
    """The metrics over several days: counts add up, rates are weighted by visits."""
    sums = {name: sum(row[name] for row in rows) for name in COUNTS}
    visits = sums["visits"] or 1
    derived = {
        "bounce_rate": round(sum(r["bounce_rate"] * r["visits"] for r in rows) / visits),
        "visit_duration": round(sum(r["visit_duration"] * r["visits"] for r in rows) / visits),
        "views_per_visit": round(sums["pageviews"] / visits, 2),
    }
    return {name: {**sums, **derived}[name] for name in metrics}


def period_days(period: str, anchor: date, custom: tuple[date, date] | None) -> list[date]:
    """The days a period covers (Plausible's v1 periods), ``anchor`` being today or ``date``."""
    if period == "custom" and custom:
        first, last = custom
    elif period in ("7d", "30d"):
        first, last = anchor - timedelta(days=int(period[:-1]) - 1), anchor
    elif period == "month":
        first = anchor.replace(day=1)
        last = anchor.replace(day=monthrange(anchor.year, anchor.month)[1])
    elif period in ("6mo", "12mo"):
        first, last = month_start(anchor, int(period[:-2]) - 1), anchor
    else:  # day
        first = last = anchor
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def breakdown_rows(site: str, prop: str, visitors: int, metrics: list[str]) -> list[dict]:
    """``visitors`` shared out over the property's values, largest first."""
    key, values = PROPERTIES[prop]
    weights = {value: 1 + _seed(site, prop, value)[0] for value in values}
    rows = []
    for value, weight in weights.items():
        share = visitors * weight // sum(weights.values())
        seed = _seed(site, prop, value, "rates")
        numbers = {"visitors": share, "visits": share + seed[0] % 3,
                   "pageviews": share * (1 + seed[1] % 3), "bounce_rate": 30 + seed[2] % 50,
                   "visit_duration": 20 + seed[3] % 240}
        numbers["events"] = numbers["pageviews"]
        numbers["views_per_visit"] = round(numbers["pageviews"] / (numbers["visits"] or 1), 2)
        rows.append((share, {key: value, **{name: numbers[name] for name in metrics}}))
    return [row for _, row in sorted(rows, key=lambda pair: (-pair[0], pair[1][key]))]
