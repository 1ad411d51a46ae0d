"""What Plausible's refusals mean, in words for people. Every error body is
``{"error": "<message>"}`` (PlausibleWeb.Api.Helpers)."""

import re
import unicodedata
from typing import Any

import requests

from integrations import classify
from integrations.classify import Classification, Verdict
from integrations.exceptions import ProviderDataError
from integrations.redaction import redact_text

# Messages people see; tests import them.
KEY_OR_SITE_REFUSED = (
    "Plausible refused this API key for this site. Check the key (Plausible: Settings, API "
    "Keys) and that the site ID is the site's domain exactly as Plausible lists it, on an "
    "account the key can read."
)
NO_STATS_API = (
    "Plausible refused the request: the account that owns this key has no Stats API access, "
    "or the site is locked until its subscription is active. Check the plan in Plausible."
)
QUERY_REFUSED = "Plausible refused the query: {message}"
QUERY_REFUSED_UNSAID = "Plausible refused the query without saying why."
# Plausible's messages are a sentence or two about the parameters; anything longer is cut.
MAX_MESSAGE = 300
SPACES = re.compile(r"\s+")


def classify_response(response: requests.Response) -> Classification:
    """401 reconnect: Plausible answers it for a bad key and for a site the key cannot read
    alike, and a key cannot be refreshed. 402 reconnect: the account's plan or a locked site;
    only the person can change that. 400 with Plausible's error body: the query was refused
    for a reason its message names; it is left to ``check_payload``, which fails the request
    with that message. The rest: the default (429 rate limited, 5xx try later)."""
    status = response.status_code
    if status in (401, 402):
        return Classification(Verdict.RECONNECT)
    if status == 400 and isinstance(error_of(classify.safe_json(response)), str):
        return classify.OK
    return classify.default(response)


def refusal_message(response: requests.Response) -> str:
    """Fixed words per status: Plausible's own 401 text is the same for a key and a site."""
    return {401: KEY_OR_SITE_REFUSED, 402: NO_STATS_API}.get(response.status_code, "")


def error_of(payload: Any) -> Any:
    """The ``error`` member of an error body, or None when the payload is not one."""
    return payload.get("error") if isinstance(payload, dict) else None


def printable(message: str) -> str:
    """``message`` as one short line of printable text, with anything secret-looking removed."""
    kept = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in message)
    line = redact_text(SPACES.sub(" ", kept).strip())
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 3].rstrip() + "..."


def check_payload(payload: Any) -> None:
    """A body carrying ``error`` is a refused query (a 400 let through by classify_response)."""
    if not isinstance(payload, dict) or "error" not in payload:
        return
    message = error_of(payload)
    text = printable(message) if isinstance(message, str) else ""
    raise ProviderDataError(QUERY_REFUSED.format(message=text) if text else QUERY_REFUSED_UNSAID,
                            code="query_refused")
