"""A stand-in of Stripe's API for the demo: /v1/balance, /v1/charges and /v1/customers with
Stripe's list shape (``object: list``, ``has_more``), ``limit``/``starting_after`` paging,
``created[gte]`` and Stripe's error bodies. A few fixed test-mode records, and charges spread
over the last 30 days (made up, the same for a given day) so the demo's dashboard has a month to
chart; any key shaped like a Stripe key is accepted."""

import hashlib
import re
from datetime import UTC, datetime, time, timedelta

from django.http import JsonResponse
from django.urls import path

from integrations import clock

from .gate import stand_in_view

KEY = re.compile(r"Bearer (rk|sk)_test_[0-9A-Za-z]{10,240}")
VERSION = "2024-06-20"
START = 1767225600  # 2026-01-01, so the demo's records look recent
CHARGES = [{"id": f"ch_3StandIn{n:015d}", "object": "charge", "amount": amount,
            "amount_captured": amount, "amount_refunded": 0, "captured": True,
            "created": START + n * 86400, "currency": "usd", "customer": None,
            "description": None, "livemode": False, "metadata": {}, "paid": status == "succeeded",
            "payment_method": f"card_1StandIn{n:013d}", "refunded": False, "status": status}
           for n, (amount, status) in enumerate([(1099, "succeeded"), (2500, "succeeded"),
                                                 (500, "failed"), (4200, "succeeded"),
                                                 (990, "succeeded")])]
RECENT_DAYS = 30


def charge(charge_id: str, amount: int, created: int, status: str = "succeeded") -> dict:
    return {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": 0, "captured": True, "created": created, "currency": "usd",
            "customer": None, "description": None, "livemode": False, "metadata": {},
            "paid": status == "succeeded", "payment_method": f"card_1{charge_id[3:]}",
            "refunded": False, "status": status}


def recent_charges() -> list[dict]:
    """0 to 4 charges a day over the last RECENT_DAYS days, up to now: each day's are derived
    from its date, so they stay the same however often they are asked for."""
    now = clock.now().astimezone(UTC)
    charges = []
    for back in range(RECENT_DAYS + 1):
        day = now.date() - timedelta(days=back)
        seed = hashlib.sha256(f"stripe-{day.isoformat()}".encode()).digest()
        start = int(datetime.combine(day, time(), tzinfo=UTC).timestamp())
        for n in range(seed[0] % 5):
            created = start + int.from_bytes(seed[4 + 2 * n:6 + 2 * n]) * 86399 // 65535
            if created <= now.timestamp():
                amount = 500 + int.from_bytes(seed[12 + 2 * n:14 + 2 * n]) % 9500
                charges.append(charge(f"ch_3Recent{day:%Y%m%d}{n:07d}", amount, created,
                                      "failed" if seed[20 + n] < 16 else "succeeded"))
    return charges


def charges() -> list[dict]:
    return CHARGES + recent_charges()


CUSTOMERS = [{"id": f"cus_StandIn{n:07d}", "object": "customer", "balance": 0,
              "created": START + n * 86400, "currency": "usd", "delinquent": False,
              "email": f"customer{n}@example.com", "livemode": False, "metadata": {},
              "name": f"Demo Customer {n}"} for n in range(3)]
BALANCE = {"object": "balance", "livemode": False,
           "available": [{"amount": 666670, "currency": "usd", "source_types": {"card": 666670}}],
           "connect_reserved": [{"amount": 0, "currency": "usd"}],
           "pending": [{"amount": 61414, "currency": "usd", "source_types": {"card": 61414}}]}


def error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": {"type": "invalid_request_error", "message": message,
                                   **extra}}, status=status)


def stripe_headers(request) -> dict[str, str]:
    return {"Request-Id": "req_StandIn0000000",
            "Stripe-Version": request.headers.get("Stripe-Version", VERSION)}


stripe_view = stand_in_view(KEY, lambda: error(401, "Invalid API Key provided."),
                            stripe_headers)


def listing(request, records: list[dict], url: str) -> JsonResponse:
    """Newest first, ``created[gte]`` then ``starting_after`` then ``limit`` (1 to 100)."""
    try:
        limit = int(request.GET.get("limit", "10"))
        since = int(request.GET.get("created[gte]", "0"))
    except ValueError:
        return error(400, "Invalid integer.", code="parameter_invalid_integer")
    if not 1 <= limit <= 100:
        return error(400, "Invalid limit: must be between 1 and 100.", param="limit")
    rows = sorted((r for r in records if r["created"] >= since), key=lambda r: -r["created"])
    after = request.GET.get("starting_after")
    if after is not None:
        ids = [r["id"] for r in rows]
        if after not in ids:
            return error(400, f"No such object: '{after[:60]}'", code="resource_missing",
                         param="starting_after")
        rows = rows[ids.index(after) + 1:]
    return JsonResponse({"object": "list", "url": url, "has_more": len(rows) > limit,
                         "data": rows[:limit]})


urlpatterns = [
    path("balance", stripe_view(lambda request: JsonResponse(BALANCE))),
    path("charges", stripe_view(lambda request: listing(request, charges(), "/v1/charges"))),
    path("customers",
         stripe_view(lambda request: listing(request, CUSTOMERS, "/v1/customers"))),
]
