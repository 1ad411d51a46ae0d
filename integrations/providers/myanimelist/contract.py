"""MyAnimeList's answers for the contract test (shapes from MAL's API v2 reference and
observed answers). MAL sends no rate-limit headers; the last page of a list has no
paging.next (only paging.previous, or an empty paging)."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

from .client import ANIME_FIELDS, ANIME_LIST, API_BASE, MANGA_FIELDS, MANGA_LIST, ME, PAGE_SIZE

USER_ID = 1234567


def page(path: str, name: str, fields: str, **params: str) -> Answer:
    return Answer("GET", API_BASE + path, fixture(__file__, name),
                  params={"fields": fields, "nsfw": "true", "limit": str(PAGE_SIZE), **params})


CONTRACT = Contract(
    oauth_uid=str(USER_ID),
    connect=(Answer("GET", API_BASE + ME, fixture(__file__, "me")),),
    sync=(
        page(ANIME_LIST, "anime_list", ANIME_FIELDS),
        # The first page's paging.next, followed as MAL wrote it.
        page(ANIME_LIST, "anime_list_last", ANIME_FIELDS, offset=str(PAGE_SIZE)),
        page(MANGA_LIST, "manga_list", MANGA_FIELDS),
    ),
    expected_items={"anime": 3, "manga": 2},
    errors=(
        # An expired access token: MAL issues refresh tokens, so refresh once first.
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY, fixture(__file__, "invalid_token")),
        ErrorCase(403, Verdict.RATE_LIMITED, fixture(__file__, "forbidden")),
        ErrorCase(403, Verdict.RATE_LIMITED),  # an HTML ban page: no JSON at all
        ErrorCase(429, Verdict.RATE_LIMITED, {"error": "too_many_requests"}),
        ErrorCase(400, Verdict.BAD_DATA, fixture(__file__, "bad_request")),
        ErrorCase(404, Verdict.BAD_DATA, {"error": "not_found", "message": ""}),
        ErrorCase(500, Verdict.TRY_LATER, {"error": "internal_server_error", "message": ""}),
    ),
)
