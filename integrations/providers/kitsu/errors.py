"""What Kitsu's answers mean.

- Data calls answer JSON:API errors, ``{"errors": [{"title", "detail", "status"}]}``, with a
  matching HTTP status: 401 (an expired or revoked token: refresh once, then reconnect), 403,
  404, 422 (a value the PATCH of an entry refused), 429 and 5xx (try later). The shared
  classification already reads the statuses that way.
- The token endpoint (Rails Doorkeeper) answers OAuth errors, ``{"error": "invalid_grant"}``
  for a wrong password: integrations/tokens.py turns that into "not accepted, nothing saved".
- A 200 that carries ``errors`` and no ``data`` failed as a whole.
"""

from typing import Any

from integrations.exceptions import ProviderDataError

API_ERROR = "Kitsu answered with an error: {errors}"
MAX_ERRORS = 5
MAX_ERROR_TEXT = 300


def error_texts(payload: Any) -> list[str]:
    """The first JSON:API errors' details (or titles), bounded; [] when there are none."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    texts = []
    for error in errors[:MAX_ERRORS] if isinstance(errors, list) else ():
        if not isinstance(error, dict):
            continue
        text = next((error[k] for k in ("detail", "title")
                     if isinstance(error.get(k), str) and error[k].strip()), "")
        if text:
            texts.append(" ".join(text.split())[:MAX_ERROR_TEXT])
    return texts


def check_payload(payload: Any) -> None:
    texts = error_texts(payload)
    if texts and (not isinstance(payload, dict) or payload.get("data") is None):
        raise ProviderDataError(API_ERROR.format(errors="; ".join(texts)[:MAX_ERROR_TEXT]))
