"""Telegram answers -> what is kept of them (pure functions). Provider text is untrusted: a
description shown to people is stripped of control characters and cut."""

from collections.abc import Mapping
from typing import Any

from integrations.exceptions import IntegrationError
from integrations.providers.base import AccountInfo, require

from .client import error_envelope

# Messages people see; tests import them.
REFUSED = "Telegram refused it: {description}"
NO_DESCRIPTION = "no reason given"
MIGRATED = " The group is now chat {chat_id}: send there instead."
MAX_DESCRIPTION = 200


class TelegramRefused(IntegrationError):
    """Telegram answered and refused the request (a chat not found, a bot blocked): nothing
    was done. Not a TryLater: sending again would be refused again."""

    code = "telegram_refused"


def untrusted_text(value: Any, max_length: int = MAX_DESCRIPTION) -> str:
    """Provider text for a message: printable characters only, on one line, bounded."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    return text if len(text) <= max_length else text[:max_length - 1] + "…"


def refusal(envelope: Mapping[str, Any]) -> TelegramRefused:
    message = REFUSED.format(description=untrusted_text(envelope.get("description"))
                             or NO_DESCRIPTION)
    parameters = envelope.get("parameters")
    moved = parameters.get("migrate_to_chat_id") if isinstance(parameters, dict) else None
    if isinstance(moved, int) and not isinstance(moved, bool):
        message += MIGRATED.format(chat_id=moved)
    return TelegramRefused(message)


def check_envelope(payload: Any) -> None:
    """Raise TelegramRefused for ``ok: false``, whatever the HTTP status was."""
    envelope = error_envelope(payload)
    if envelope is not None:
        raise refusal(envelope)


def result_of(payload: Any) -> Mapping[str, Any]:
    return require(payload, "result", dict)


def bot_account(payload: Any) -> AccountInfo:
    """getMe's User: its id is the account, its username the label people recognise."""
    bot = result_of(payload)
    return AccountInfo(external_id=str(require(bot, "id", int)),
                       label=untrusted_text(require(bot, "username"), 64))


def message_id(payload: Any) -> str:
    """sendMessage's Message: its id within the chat."""
    return str(require(result_of(payload), "message_id", int))
