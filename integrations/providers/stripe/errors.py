"""What Stripe's refusals mean, in words for people (docs.stripe.com/error-codes)."""

import re

import requests

from integrations import classify
from integrations.classify import Classification, Verdict

INVALID_KEY = (
    "Stripe did not accept this API key. Check that you copied the whole key (it starts with "
    "rk_ or sk_) and that it has not been rolled or deleted."
)
MISSING_PERMISSION = (
    "This Stripe key lacks the {permission} permission. Add it to the restricted key in the "
    "Stripe Dashboard (Developers, API keys) and try again."
)
KEY_REFUSED = "Stripe refused this API key for this request. Check its permissions."
# Stripe's 403 names the permission as 'rak_<resource>_<read|write>'. Only that token is taken
# from the message: the rest quotes the key (masked by Stripe, but nothing here relies on it).
PERMISSION = re.compile(r"'(rak_[a-z0-9_]{1,60})'")


def classify_response(response: requests.Response) -> Classification:
    """401 reconnect: a key cannot be refreshed, so there is no point asking the token layer
    first. A 429 (with Stripe-Rate-Limited-Reason, or a lock_timeout) names no wait: the
    default's RATE_LIMITED without one makes the transport back off exponentially with
    jitter, as Stripe advises; a Retry-After, should one come, is still honoured."""
    if response.status_code == 401:
        return Classification(Verdict.RECONNECT)
    return classify.default(response)


def refusal_message(response: requests.Response) -> str:
    if response.status_code == 401:
        return INVALID_KEY
    if response.status_code != 403:
        return ""
    body = classify.safe_json(response)
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    found = PERMISSION.search(message) if isinstance(message, str) else None
    return MISSING_PERMISSION.format(permission=found.group(1)) if found else KEY_REFUSED
