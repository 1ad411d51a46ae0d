"""Telegram: a bot, connected with its token; it can send messages. No data is read."""

from typing import Any

from integrations.auth import BotToken
from integrations.exceptions import ConnectionTestFailed, ReauthRequired
from integrations.providers.base import AccountInfo, Provider

from . import actions, client, mapping

# Messages people see; tests import them.
TOKEN_REFUSED = ("Telegram refused the bot token. Copy it again from @BotFather (/token), or "
                 "make a new one there if it was revoked.")
OTHER_BOT = "This token belongs to another bot than the one connected here."


class TelegramProvider(Provider):
    slug = "telegram"
    name = "Telegram"
    description = "A Telegram bot of yours, connected with its token, sends messages to chats."
    icon = "TG"
    category = "messaging"
    auth = BotToken(label="Bot token",
                    help_text="From @BotFather, like 123456789:AAE... It is stored encrypted.")
    api_base_url = "https://api.telegram.org/"
    stand_in = True
    stand_in_example = "123456789:AAFdemoStandInToken000000000000"
    # The Bot FAQ: about 30 messages a second per bot (each connection is its own bot).
    rate_limit = (30, 1.0)
    rate_limit_per_connection = True
    actions = (actions.SEND_MESSAGE,)

    def check_payload(self, payload: Any) -> None:
        mapping.check_envelope(payload)

    def classify_response(self, response):
        return client.classify_answer(response)

    def test_credentials(self, client_, fields) -> AccountInfo:
        try:
            return mapping.bot_account(client_.get_json(client.GET_ME))
        except ReauthRequired:
            raise ConnectionTestFailed(TOKEN_REFUSED) from None

    def test_connection(self, client_, connection) -> AccountInfo:
        account = mapping.bot_account(client_.get_json(client.GET_ME))
        if account.external_id != connection.external_account_id:
            raise ConnectionTestFailed(OTHER_BOT)
        return account
