"""SendGrid's answers for the contract test (v3 stats, scopes, rate-limit headers, errors).

The stats windows depend on today, so the answers match the URL only; the dates each window
asks for are checked with a fixed clock in tests/integrations/providers/test_sendgrid.py.
"""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

API = "https://api.sendgrid.com/v3/"
KEY = "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"
RATE = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "598",
        "X-RateLimit-Reset": "1777000000"}
STATS = tuple(Answer("GET", API + "stats", fixture(__file__, page), headers=RATE)
              for page in ("stats", "stats_more", "stats_last"))


def error(message: str) -> dict:
    return {"errors": [{"field": None, "message": message}]}


CONTRACT = Contract(
    fields={"token": KEY},
    connect=(Answer("GET", API + "scopes", fixture(__file__, "scopes"), headers=RATE),),
    sync=STATS,
    expected_items={"daily_stats": 5},
    errors=(
        # A key cannot be refreshed: the client, holding no token, asks for a reconnect.
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY, error("authorization required")),
        ErrorCase(403, Verdict.RECONNECT, error("access forbidden")),
        ErrorCase(429, Verdict.RATE_LIMITED, error("too many requests"), headers={
            **RATE, "X-RateLimit-Remaining": "0"}),
        ErrorCase(500, Verdict.TRY_LATER),
    ),
)
