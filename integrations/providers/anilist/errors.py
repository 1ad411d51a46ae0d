"""What AniList's answers mean: its GraphQL errors say more than its status codes.

- An expired or revoked token is HTTP 400 ``{"errors":[{"message":"Invalid token",
  "status":400}]}`` (z411/trackma#555, RickDB/PlexAniSync#232), not a 401: reconnect.
- When AniList switches its API off during an outage it answers every request with HTTP 403
  ``"The AniList API has been temporarily disabled..."`` (2021, November 2024): try later,
  never "reconnect" for every AniList connection at once.
- 429 carries Retry-After and X-RateLimit-Reset: the default classification reads them.
"""

from typing import Any

import requests

from integrations import classify
from integrations.classify import Classification, Verdict
from integrations.exceptions import ProviderDataError
from integrations.pagination import graphql_errors

INVALID_TOKEN = "Invalid token"
# Shown to people (the provider's own words, cut short and redacted where stored).
GRAPHQL_ERROR = "AniList answered with an error: {errors}"
MAX_ERROR_TEXT = 300


def _error_statuses(payload: Any) -> set[int]:
    """The whole-number statuses of the first errors (anything else there is ignored)."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return set()
    statuses = (e.get("status") for e in errors[:10] if isinstance(e, dict))
    return {s for s in statuses if isinstance(s, int) and not isinstance(s, bool)}


def classify_response(response: requests.Response) -> Classification:
    status = response.status_code
    if status not in (400, 401, 403):
        return classify.default(response)
    body = classify.safe_json(response)
    if status == 401 or 401 in _error_statuses(body) or INVALID_TOKEN in graphql_errors(body):
        # No refresh token exists: a refused token can only be replaced by connecting again.
        return Classification(Verdict.RECONNECT)
    if status == 403 and graphql_errors(body):
        return Classification(Verdict.TRY_LATER)
    return classify.default(response)


def check_payload(payload: Any) -> None:
    """A 200 whose errors left no data (every top-level field null) failed as a whole."""
    messages = graphql_errors(payload)
    data = payload.get("data") if isinstance(payload, dict) else None
    if messages and (not isinstance(data, dict) or all(v is None for v in data.values())):
        raise ProviderDataError(GRAPHQL_ERROR.format(errors="; ".join(messages)[:MAX_ERROR_TEXT]))
