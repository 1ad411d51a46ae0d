"""GitHub's answers for the contract test (shapes from docs.github.com, trimmed).

GitHub sends its rate-limit headers in lower case on every answer, an ETag on most, and pages
through the Link header (no rel="next" on the last page).
"""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

API = "https://api.github.com/"
STARRED = API + "user/starred"
RESET = "1795000000"  # an epoch in 2026


def limits(remaining: int) -> dict[str, str]:
    return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(5000 - remaining), "x-ratelimit-reset": RESET,
            "x-ratelimit-resource": "core"}


PAGE_1_LINK = (f'<{STARRED}?per_page=100&page=2>; rel="next", '
               f'<{STARRED}?per_page=100&page=2>; rel="last"')
PAGE_2_LINK = (f'<{STARRED}?per_page=100&page=1>; rel="prev", '
               f'<{STARRED}?per_page=100&page=1>; rel="first"')
PAGE_1_ETAG = 'W/"7f1c2b9e0d4a6c3b8e5f1a2d9c0b7e64"'
SYNC = (
    Answer("GET", STARRED, fixture(__file__, "starred"), params={"per_page": "100"},
           headers={**limits(4998), "ETag": PAGE_1_ETAG, "Link": PAGE_1_LINK}),
    Answer("GET", STARRED, fixture(__file__, "starred_last"),
           params={"per_page": "100", "page": "2"},
           headers={**limits(4997), "ETag": 'W/"0b9d3e"', "Link": PAGE_2_LINK}),
)
DOCS = "https://docs.github.com/rest"

CONTRACT = Contract(
    oauth_uid="1",
    connect=(Answer("GET", API + "user", fixture(__file__, "user"), headers=limits(4999)),),
    sync=SYNC,
    expected_items={"repository": 3},
    revoke=(Answer("DELETE", API + "applications/Iv1.github-test-client/token", status=204,
                   json_body={"access_token": "contract-access-token-0001"}),),
    errors=(
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY,
                  {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}),
        ErrorCase(403, Verdict.RECONNECT,
                  {"message": "Resource not accessible by integration",
                   "documentation_url": DOCS, "status": "403"}, limits(4990)),
        ErrorCase(403, Verdict.RATE_LIMITED,
                  {"message": "API rate limit exceeded for user ID 1.",
                   "documentation_url": DOCS, "status": "403"}, limits(0)),
        ErrorCase(429, Verdict.RATE_LIMITED,
                  {"message": "You have exceeded a secondary rate limit. Please wait a few "
                              "minutes before you try again.",
                   "documentation_url": DOCS, "status": "429"},
                  {**limits(4200), "retry-after": "60"}),
        ErrorCase(502, Verdict.TRY_LATER, {"message": "Server Error"}),
    ),
)
