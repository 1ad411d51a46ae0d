"""What MyAnimeList's answers mean. Its error bodies are ``{"error": "...", "message": "..."}``.

- 401 ``{"error": "invalid_token"}``: the access token expired or was revoked. MAL issues
  refresh tokens, so the default holds: refresh once, then ask the person to reconnect.
- 403 is MAL's answer to too many requests ("DoS detected etc." in its reference; its site
  bans an address with an HTML 403 too), never about the credential, which is a 401: wait,
  never "reconnect" every MAL connection at once. MAL publishes no rate-limit headers, so the
  wait is ours unless the answer names one.
- 429 is not in MAL's reference; should it come, it is read the same way, Retry-After first.
"""

import requests

from integrations import classify
from integrations.classify import Classification, Verdict

# Seconds to leave MAL alone after it refused us as too many requests: its bans are said to
# last from minutes to hours, and asking again early prolongs them.
THROTTLED_WAIT = 300.0


def classify_response(response: requests.Response) -> Classification:
    if response.status_code == 403:
        wait = classify.retry_after(response)
        return Classification(Verdict.RATE_LIMITED, THROTTLED_WAIT if wait is None else wait)
    found = classify.default(response)  # a 429 waits as asked, when it asks
    if found.verdict == Verdict.RATE_LIMITED and found.wait is None:
        return Classification(Verdict.RATE_LIMITED, THROTTLED_WAIT)
    return found
