"""Telegram writes: sending a message as the bot (DESIGN.md section 12)."""

from collections.abc import Mapping

from integrations.formfields import FormField
from integrations.providers.base import Action, ActionResult
from integrations.wire import ApiRequest

from . import client, mapping

# A chat id (negative for groups and channels) or a public channel's @username (5-32
# characters: https://core.telegram.org/bots/api#sendmessage, t.me username rules).
CHAT_ID_PATTERN = r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31}"
# https://core.telegram.org/bots/api#sendmessage: 1-4096 characters after entities parsing.
MAX_TEXT = 4096
SENT = "Message {message_id} sent to chat {chat_id}."


def send_message(client_, data: Mapping[str, str]) -> ActionResult:
    chat_id = data["chat_id"]
    # Browsers send a text area's line breaks as CRLF (HTML's form submission rules); the
    # message's own line breaks are LF.
    body = {"chat_id": chat_id if chat_id.startswith("@") else int(chat_id),
            "text": data["text"].replace("\r\n", "\n")}
    answer = client_.fetch(ApiRequest(client.SEND_MESSAGE, method="POST", json=body))
    sent = mapping.message_id(answer.payload)
    return ActionResult(external_id=sent, summary=SENT.format(message_id=sent, chat_id=chat_id))


SEND_MESSAGE = Action(
    name="send_message",
    label="Send a message",
    description="The bot sends this text to a chat it is in, or to a person who started it.",
    fields=(
        FormField("chat_id", "Chat", "A chat id such as -1001234567890, or @channelusername.",
                  max_length=33, pattern=CHAT_ID_PATTERN),
        FormField("text", "Message", max_length=MAX_TEXT, multiline=True),
    ),
    perform=send_message,
    # Telegram has no idempotency key: a retried send may post the message twice.
    idempotent=False,
)
