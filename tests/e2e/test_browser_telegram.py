"""Telegram in a real browser against its demo stand-in: connect a bot with its token through
the form, send a message from the connection page, and see it succeed at the stand-in once."""

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.providers.telegram.actions import SENT
from integrations.sandbox.standins import telegram as standin
from tests.e2e.test_browser import EMAIL, sign_up

BOT_ID = 7001
TOKEN = f"{BOT_ID}:AAE-browser-test-token-0123456789"
CHAT = "-1009876"
TEXT = "Book club moves to Thursday.\nSame place, 7 pm."


@pytest.fixture
def stand_ins(sandbox_on_live_server, settings):
    settings.THINKALIKE_STAND_INS = True
    standin.forget_messages()
    yield sandbox_on_live_server
    standin.forget_messages()


def telegram_card(page: Page):
    return page.get_by_role("region", name="Telegram", exact=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_connect_a_bot_and_send_a_message(stand_ins, page: Page, console_errors):
    from integrations.models import ActionRun, ApiCall

    sign_up(page, stand_ins.url)
    telegram_card(page).get_by_role("link", name="Connect", exact=True).click()
    page.get_by_label("Bot token").fill(TOKEN)
    page.get_by_role("button", name="Connect Telegram").click()
    expect(page).to_have_url(re.compile(r"/connections/$"))
    expect(telegram_card(page).get_by_text(f"standin_{BOT_ID}_bot")).to_be_visible()

    telegram_card(page).get_by_role("link", name="View details").click()
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Send a message"))
    form.get_by_label("Chat").fill(CHAT)
    form.get_by_label("Message").fill(TEXT)
    form.get_by_role("button", name="Send a message").click()

    expect(page).to_have_url(re.compile(r"/connections/\d+/#actions$"))
    run = ActionRun.objects.get(connection__user__email=EMAIL)
    assert run.status == ActionRun.Status.SUCCEEDED
    summary = SENT.format(message_id="1", chat_id=CHAT)
    expect(page.get_by_text(summary)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Send a message")
    expect(row).to_contain_text("Succeeded")
    assert standin.sent_messages(BOT_ID) == [{"message_id": 1, "chat_id": CHAT, "text": TEXT}]
    assert not ApiCall.objects.filter(path__contains=TOKEN).exists()
    assert TOKEN not in page.content()
    assert console_errors == []
