"""Removing secrets from text before it is stored, logged or shown."""

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# key=value and "key": "value" pairs whose value is a secret, in query strings, form bodies and
# JSON that providers echo back in error messages.
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (["']?(?:access_token|refresh_token|client_secret|id_token|code_verifier|password|
         api_key|apikey|secret|token)["']?\s*[:=]\s*["']?)
    ([^"'&\s,}]+)
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# A bot token, "<bot id>:<secret>" (Telegram's shape): it lives in URL paths, so any logged or
# echoed URL may carry one without a key= in front of it.
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{1,20}:[A-Za-z0-9_-]{20,100}")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and any secret-looking pairs replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BOT_TOKEN.sub(REDACTED, text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact_mapping(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with the values of ``keys`` replaced at any depth, lists included.

    Keys match whatever their case (``API_KEY`` is ``api_key``): a provider declares its keys
    once, but the JSON it echoes, or a person's settings, may spell them otherwise.
    """
    return _redact(dict(data), frozenset(k.lower() for k in keys))


def _redact(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in keys else _redact(v, keys) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, keys) for v in value]
    return value


def fingerprint(secret: str) -> str:
    """Last 4 hex digits of SHA-256: enough for staff to tell two tokens apart, no more."""
    if not secret:
        return ""
    return hashlib.sha256(secret.encode()).hexdigest()[-4:]
