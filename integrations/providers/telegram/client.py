"""Telegram Bot API methods used here (relative to https://api.telegram.org/bot<token>/), and
how its answers are read: every answer is an envelope, ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}``."""

import math

import requests

from integrations import classify
from integrations.classify import Classification, Verdict

# https://core.telegram.org/bots/api#getme
GET_ME = "getMe"
# https://core.telegram.org/bots/api#sendmessage
SEND_MESSAGE = "sendMessage"
# https://core.telegram.org/bots/api#making-requests: the HTTP status matches error_code, and
# a refused chat (400 "chat not found", 403 "bot was blocked by the user") says so in
# ``description``, which no status can.
CHAT_REFUSALS = frozenset({400, 403})


def error_envelope(body: object) -> dict | None:
    """The body when it is Telegram's error envelope, else None."""
    if isinstance(body, dict) and body.get("ok") is False:
        return body
    return None


def body_retry_after(envelope: dict | None) -> float | None:
    """``parameters.retry_after`` (ResponseParameters), when it is a usable number."""
    parameters = envelope.get("parameters") if envelope else None
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(wait, bool) or not isinstance(wait, int | float):
        return None
    try:
        wait = float(wait)  # an integer of 400 digits does not fit
    except OverflowError:
        return None
    return wait if math.isfinite(wait) and wait >= 0 else None


def classify_answer(response: requests.Response) -> Classification:
    """429: wait what the body asks (Telegram often sends no Retry-After). 401: the token was
    revoked; a bot token cannot be refreshed. 400 and 403 with an envelope: the request was
    answered and refused for a reason about the chat, not the token: the envelope is left to
    ``check_payload``, which fails the request with its description (a 403 must not ask the
    person to reconnect). 404 (a malformed path) and the rest: the default."""
    status = response.status_code
    envelope = error_envelope(classify.safe_json(response))
    if status == 429:
        wait = body_retry_after(envelope)
        return Classification(Verdict.RATE_LIMITED,
                               classify.retry_after(response) if wait is None else wait)
    if status == 401:
        return Classification(Verdict.RECONNECT)
    if status in CHAT_REFUSALS and envelope is not None:
        return classify.OK
    return classify.default(response)
