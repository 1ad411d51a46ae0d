"""Open Library's answers for the contract test (openlibrary.org/dev/docs/api/mybooks)."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

API = "https://openlibrary.org/"
LOG = API + "people/bookworm/books/{shelf}.json"
EMPTY = {"page": 1, "numFound": 0, "reading_log_entries": []}
SHELVES = (
    Answer("GET", LOG.format(shelf="want-to-read"), fixture(__file__, "reading_log"),
           params={"page": "1", "limit": "100"}),
    Answer("GET", LOG.format(shelf="currently-reading"), EMPTY, params={"page": "1",
                                                                         "limit": "100"}),
    Answer("GET", LOG.format(shelf="already-read"), EMPTY, params={"page": "1", "limit": "100"}),
)
# Subjects are fetched for new or changed works only: the re-sync asks for none.
WORKS = (
    Answer("GET", API + "works/OL82563W.json", fixture(__file__, "work")),
    Answer("GET", API + "works/OL45804W.json", fixture(__file__, "work")),
)

CONTRACT = Contract(
    fields={"username": "bookworm"},
    connect=(Answer("GET", LOG.format(shelf="want-to-read"), fixture(__file__, "reading_log"),
                    params={"limit": "1"}),),
    sync=SHELVES + WORKS,
    resync=SHELVES,
    expected_items={"work": 2},
    errors=(
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY),
        ErrorCase(403, Verdict.RECONNECT),
        ErrorCase(429, Verdict.RATE_LIMITED, headers={"Retry-After": "30"}),
        ErrorCase(502, Verdict.TRY_LATER),
    ),
)
