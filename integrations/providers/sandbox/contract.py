"""The sandbox's answers for the contract test (integrations/sandbox/api.py serves the same
shapes in the demo)."""

from django.conf import settings

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

BASE = settings.THINKALIKE_SANDBOX_URL.rstrip("/")
API = BASE + "/api/v1/"
LAST_TRACKS = {"items": [{"id": "trk_00003", "title": "Paper Lanterns", "artist": "Low Tide",
                          "genres": ["ambient"], "updated_at": "2026-01-01T03:00:00Z"}],
               "total": 3, "limit": 2, "offset": 2, "next": None}

CONTRACT = Contract(
    oauth_uid="usr_demo",
    connect=(Answer("GET", API + "me", {"id": "usr_demo", "display_name": "Demo Listener"}),),
    sync=(
        Answer("GET", API + "me/tracks", fixture(__file__, "tracks"), params={"limit": "50"}),
        Answer("GET", API + "me/tracks", LAST_TRACKS, params={"limit": "2", "offset": "2"}),
        Answer("GET", API + "me/top-artists", fixture(__file__, "top_artists"),
               params={"limit": "50"}),
    ),
    expected_items={"track": 3, "artist": 1},
    revoke=(Answer("POST", BASE + "/oauth/revoke", body=""),),
    errors=(
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY, {"error": "invalid_token"}),
        ErrorCase(403, Verdict.RECONNECT, {"error": "insufficient_scope"}),
        ErrorCase(429, Verdict.RATE_LIMITED, {"error": "rate_limited"},
                  headers={"Retry-After": "2"}),
        ErrorCase(500, Verdict.TRY_LATER),
    ),
)
