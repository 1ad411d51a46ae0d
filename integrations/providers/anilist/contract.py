"""AniList's answers for the contract test (shapes from docs.anilist.co and observed answers).

Every AniList answer carries X-RateLimit-Limit (still 90 while the API is degraded to 30) and
X-RateLimit-Remaining; a 429 adds Retry-After and X-RateLimit-Reset.
"""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

from .client import API_BASE, VIEWER

USER_ID = 12345


def rate(remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": "90", "X-RateLimit-Remaining": str(remaining)}


def page(name: str, media_type: str, number: int, remaining: int) -> Answer:
    return Answer("POST", API_BASE, fixture(__file__, name), headers=rate(remaining),
                  json_body={"variables": {"userId": USER_ID, "type": media_type,
                                           "page": number, "perPage": 50}})


CONTRACT = Contract(
    oauth_uid=str(USER_ID),
    connect=(Answer("POST", API_BASE, fixture(__file__, "viewer"), headers=rate(89),
                    json_body={"query": VIEWER}),),
    sync=(
        page("anime_list", "ANIME", 1, 88),
        page("anime_list_last", "ANIME", 2, 87),
        page("manga_list", "MANGA", 1, 86),
    ),
    expected_items={"anime": 3, "manga": 2},
    errors=(
        ErrorCase(401, Verdict.RECONNECT,
                  {"errors": [{"message": "Unauthorized.", "status": 401}], "data": None}),
        # An expired or revoked token: AniList says so with a 400.
        ErrorCase(400, Verdict.RECONNECT, fixture(__file__, "invalid_token"), headers=rate(80)),
        ErrorCase(400, Verdict.BAD_DATA, fixture(__file__, "validation_error"), headers=rate(80)),
        # The whole API switched off during an outage: nobody needs to reconnect.
        ErrorCase(403, Verdict.TRY_LATER, fixture(__file__, "api_disabled")),
        ErrorCase(429, Verdict.RATE_LIMITED, fixture(__file__, "too_many_requests"),
                  headers={"Retry-After": "60", "X-RateLimit-Limit": "90",
                           "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1717200060"}),
        ErrorCase(500, Verdict.TRY_LATER,
                  {"errors": [{"message": "Internal Server Error", "status": 500}],
                   "data": None}),
    ),
)
