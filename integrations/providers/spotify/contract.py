"""Spotify's answers for the contract test (shapes from developer.spotify.com, trimmed)."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

API = "https://api.spotify.com/v1/"
# Spotify sends no X-RateLimit headers; a 429 carries Retry-After only.
SYNC = (
    Answer("GET", API + "me/top/artists", fixture(__file__, "top_artists"),
           params={"time_range": "medium_term", "limit": "50"}),
    Answer("GET", API + "me/top/artists", fixture(__file__, "top_artists_last"),
           params={"time_range": "medium_term", "limit": "2", "offset": "2"}),
    Answer("GET", API + "me/tracks", fixture(__file__, "saved_tracks"), params={"limit": "50"}),
)

CONTRACT = Contract(
    oauth_uid="acc-7f3a",
    connect=(Answer("GET", API + "me", fixture(__file__, "me")),),
    sync=SYNC,
    expected_items={"artist": 3, "track": 2},
    errors=(
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY,
                  {"error": {"status": 401, "message": "The access token expired"}}),
        ErrorCase(403, Verdict.RECONNECT,
                  {"error": {"status": 403, "message": "User not registered in the Developer "
                                                      "Dashboard"}}),
        ErrorCase(429, Verdict.RATE_LIMITED, headers={"Retry-After": "7"}),
        ErrorCase(503, Verdict.TRY_LATER,
                  {"error": {"status": 503, "message": "Service unavailable"}}),
    ),
)
