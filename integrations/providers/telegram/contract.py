"""Telegram's answers for the contract test (core.telegram.org/bots/api, "Making requests").
Telegram has no data streams here, so no sync answers; getMe is the connect test."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

TOKEN = "123456789:AAE-contract-token-0001abcdefghij"
API = f"https://api.telegram.org/bot{TOKEN}/"
JSON = {"Content-Type": "application/json"}

CONTRACT = Contract(
    fields={"bot_token": TOKEN},
    connect=(Answer("GET", API + "getMe", fixture(__file__, "get_me"), headers=JSON),),
    errors=(
        ErrorCase(401, Verdict.RECONNECT, json=fixture(__file__, "unauthorized")),
        # A chat's refusal, not the token's: check_payload fails the request with the reason.
        ErrorCase(403, Verdict.OK, json=fixture(__file__, "bot_blocked")),
        ErrorCase(400, Verdict.OK, json=fixture(__file__, "chat_not_found")),
        # The wait is in the body; Telegram may send no Retry-After header.
        ErrorCase(429, Verdict.RATE_LIMITED, json=fixture(__file__, "flood")),
        ErrorCase(404, Verdict.BAD_DATA,
                  json={"ok": False, "error_code": 404, "description": "Not Found"}),
        ErrorCase(502, Verdict.TRY_LATER),
    ),
)
