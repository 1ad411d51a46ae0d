"""Plausible's answers for the contract test (plausible.io/docs/stats-api-v1; the bodies and
statuses of PlausibleWeb.Plugs.AuthorizePublicAPI and Api.ExternalStatsController). No streams,
so no sync answers; the connect test is today's visitors of the site."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

from . import client

API = "https://plausible.io/"
KEY = "Pl4usibleC0ntractKey_0001-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
SITE = "example.com"
# Phoenix's defaults on every answer (the JSON content type is added by the test).
HEADERS = {"Cache-Control": "max-age=0, private, must-revalidate",
           "X-Request-Id": "GHx3i7sK2yYAAAAB"}

CONTRACT = Contract(
    fields={"site_id": SITE, "token": KEY},
    connect=(Answer("GET", API + client.AGGREGATE, fixture(__file__, "aggregate_day"),
                    params={"site_id": SITE, **client.TEST_QUERY}, headers=HEADERS),),
    errors=(
        # The same 401 for a bad key and for a site the key cannot read.
        ErrorCase(401, Verdict.RECONNECT, fixture(__file__, "unauthorized"), headers=HEADERS),
        # The plan lacks the Stats API, or the site is locked: only the person can fix it.
        ErrorCase(402, Verdict.RECONNECT, fixture(__file__, "payment_required")),
        # A refused query: check_payload fails the request with Plausible's message.
        ErrorCase(400, Verdict.OK, fixture(__file__, "bad_period"), headers=HEADERS),
        ErrorCase(400, Verdict.OK, fixture(__file__, "missing_site"), headers=HEADERS),
        # Not one of the Stats API's answers; an edge in front of it may send one.
        ErrorCase(403, Verdict.RECONNECT),
        # 600 requests an hour per key; Plausible names no wait (no Retry-After).
        ErrorCase(429, Verdict.RATE_LIMITED, fixture(__file__, "too_many_requests"),
                  headers=HEADERS),
        ErrorCase(500, Verdict.TRY_LATER),
        ErrorCase(503, Verdict.TRY_LATER),
    ),
)
