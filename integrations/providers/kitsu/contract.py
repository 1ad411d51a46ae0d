"""Kitsu's answers for the contract test (shapes from hummingbird-me/api-docs and observed
answers). Kitsu publishes no rate-limit headers; a 429 is answered as any API does."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

from .client import API_BASE, LIBRARY_ENTRIES, PAGE_LIMIT, TOKEN_URL, USERS, library_params

USER_ID = "42"
PASSWORD = "contract pass word: 0001"
JSON_API = {"Content-Type": "application/vnd.api+json"}


def first_page(kind: str) -> dict[str, str]:
    return {**library_params(kind), "filter[userId]": USER_ID, "page[limit]": str(PAGE_LIMIT)}


def page(name: str, params: dict[str, str]) -> Answer:
    return Answer("GET", API_BASE + LIBRARY_ENTRIES, fixture(__file__, name), headers=JSON_API,
                  params=params)


CONTRACT = Contract(
    fields={"username": "someone@example.com", "password": PASSWORD},
    connect=(
        # OAuth calls are plain JSON, and the password goes there once.
        Answer("POST", TOKEN_URL, fixture(__file__, "token"),
               form={"grant_type": "password", "username": "someone@example.com",
                     "password": PASSWORD}),
        Answer("GET", API_BASE + USERS, fixture(__file__, "users_self"), headers=JSON_API,
               params={"filter[self]": "true"}),
    ),
    sync=(
        page("anime_list", first_page("anime")),
        # links.next of the first page, as Kitsu writes it.
        page("anime_list_last", {**first_page("anime"), "page[offset]": "100"}),
        page("manga_list", first_page("manga")),
    ),
    expected_items={"anime": 3, "manga": 2},
    errors=(
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY, fixture(__file__, "invalid_token"),
                  headers=JSON_API),
        ErrorCase(403, Verdict.RECONNECT, fixture(__file__, "forbidden"), headers=JSON_API),
        ErrorCase(422, Verdict.BAD_DATA, fixture(__file__, "validation_error"),
                  headers=JSON_API),
        ErrorCase(429, Verdict.RATE_LIMITED, {"errors": [{"title": "Too Many Requests",
                                                          "status": "429"}]},
                  headers={"Retry-After": "60"}),
        ErrorCase(500, Verdict.TRY_LATER, fixture(__file__, "server_error"), headers=JSON_API),
    ),
)
