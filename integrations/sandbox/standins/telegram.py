"""A stand-in of the Telegram Bot API for the demo: getMe and sendMessage under
``bot<token>/``, with Telegram's envelope, statuses and descriptions.

Any token of the real shape is a bot (its id is the digits before the colon), except
REVOKED_TOKEN, which answers 401 like a token revoked at @BotFather. Two chats refuse the way
real ones do: CHAT_NOT_FOUND (400) and BLOCKED_CHAT (403). Sent messages are kept in memory,
the last MAX_KEPT per bot, so the demo and its tests can see what arrived (``sent_messages``).
"""

import itertools
import re
import threading
import time
import zlib
from collections import defaultdict, deque

from django.http import JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from integrations.auth import BotToken

from ..guards import sandbox_required
from .gate import json_body

REVOKED_TOKEN = "111111111:AAF-revoked-stand-in-token-000000"
CHAT_NOT_FOUND = "-1000000000404"
BLOCKED_CHAT = "403403403"
MAX_TEXT = 4096
MAX_KEPT = 100
TOKEN = re.compile(BotToken.pattern)
CHAT = re.compile(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31}")

_lock = threading.Lock()
_sent: dict[int, deque] = defaultdict(lambda: deque(maxlen=MAX_KEPT))
_message_ids = defaultdict(lambda: itertools.count(1))


def sent_messages(bot_id: int) -> list[dict]:
    """What bot ``bot_id`` sent, oldest first: {"message_id", "chat_id", "text"}."""
    with _lock:
        return list(_sent[bot_id])


def forget_messages() -> None:
    with _lock:
        _sent.clear()
        _message_ids.clear()


def _error(status: int, description: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error_code": status, "description": description},
                        status=status)


def _bot(token: str) -> tuple[dict, JsonResponse | None]:
    if not TOKEN.fullmatch(token):
        return {}, _error(404, "Not Found")  # Telegram's answer to a path it cannot route
    if token == REVOKED_TOKEN:
        return {}, _error(401, "Unauthorized")
    bot_id = int(token.partition(":")[0])
    return {"id": bot_id, "is_bot": True, "first_name": "Stand-in Bot",
            "username": f"standin_{bot_id}_bot"}, None


def get_me(request, bot: dict):
    return JsonResponse({"ok": True, "result": {**bot, "can_join_groups": True,
                                                "can_read_all_group_messages": False,
                                                "supports_inline_queries": False}})


def _params(request) -> dict:
    """Parameters from the query string, a form or a JSON body, as Telegram takes them."""
    if request.content_type == "application/json":
        body = json_body(request)
        return body if isinstance(body, dict) else {}
    return {**request.GET.dict(), **request.POST.dict()}


def _chat(chat_id: str) -> dict:
    if chat_id.startswith("@"):  # a public channel: a stable id of the channel kind
        number = -1001000000000 - zlib.crc32(chat_id.encode()) % 10**9
        return {"id": number, "title": chat_id[1:], "username": chat_id[1:], "type": "channel"}
    if int(chat_id) > 0:
        return {"id": int(chat_id), "first_name": "Stand-in", "type": "private"}
    return {"id": int(chat_id), "title": "Stand-in group", "type": "supergroup"}


def send_message(request, bot: dict):
    params = _params(request)
    chat_id, text = str(params.get("chat_id", "")), params.get("text")
    if not chat_id:
        return _error(400, "Bad Request: chat_id is empty")
    if not CHAT.fullmatch(chat_id) or chat_id == CHAT_NOT_FOUND:
        return _error(400, "Bad Request: chat not found")
    if chat_id == BLOCKED_CHAT:
        return _error(403, "Forbidden: bot was blocked by the user")
    if not isinstance(text, str) or not text.strip():
        return _error(400, "Bad Request: message text is empty")
    if len(text) > MAX_TEXT:
        return _error(400, "Bad Request: message is too long")
    with _lock:
        message_id = next(_message_ids[bot["id"]])
        _sent[bot["id"]].append({"message_id": message_id, "chat_id": chat_id, "text": text})
    return JsonResponse({"ok": True, "result": {
        "message_id": message_id, "from": bot, "chat": _chat(chat_id),
        "date": int(time.time()), "text": text}})


@csrf_exempt
@sandbox_required
def bot_method(request, token: str, method: str):
    view = METHODS.get(method.lower())  # Telegram's method names are case-insensitive
    bot, refused = _bot(token)
    if view is None or refused:
        return refused or _error(404, "Not Found")
    return view(request, bot)


METHODS = {"getme": get_me, "sendmessage": send_message}
urlpatterns = [
    re_path(r"^bot(?P<token>[^/]*)/(?P<method>[A-Za-z]{1,64})$", bot_method,
            name="telegram_bot_method"),
]
