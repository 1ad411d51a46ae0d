"""A person connects a custom API in a real browser: the form, the test before save against a
real loopback server that requires a bearer token, and the card that shows it connected."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import sign_up
from tests.loopback_server import LoopbackServer

TOKEN = "e2e-custom-bearer-0001"
NAME = "Team wiki"


def wiki_api(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """The loopback API: /v1/status answers JSON, to the right bearer token only."""
    json_type = {"Content-Type": "application/json"}
    if headers.get("Authorization") != f"Bearer {TOKEN}":
        return 401, {**json_type, "WWW-Authenticate": "Bearer"}, b'{"error":"unauthorized"}'
    if path != "/v1/status":
        return 404, json_type, b'{"error":"not_found"}'
    return 200, json_type, json.dumps({"status": "ok", "pages": 1204}).encode()


def custom_card(page: Page):
    return page.get_by_role("region", name="Custom API", exact=True)


def fill_form(page: Page, base_url: str, token: str) -> None:
    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_label("Base URL").fill(base_url)
    page.get_by_label("Authentication").select_option("bearer")
    page.get_by_label("Access token").fill(token)
    page.get_by_label("Test path").fill("/status")
    page.get_by_role("button", name="Connect Custom API").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_person_connects_a_custom_api(sandbox_on_live_server, page: Page, settings,
                                        console_errors):
    from integrations.models import Connection

    settings.THINKALIKE_OUTBOUND_ALLOW = ["127.0.0.1"]
    with LoopbackServer(respond=wiki_api) as server:
        base_url = f"http://127.0.0.1:{server.port}/v1"
        sign_up(page, sandbox_on_live_server.url)
        custom_card(page).get_by_role("link", name="Connect", exact=True).click()
        expect(page).to_have_url(re.compile(r"/custom_api/"))

        fill_form(page, base_url, "not-the-token")  # refused first: nothing saved
        expect(page.get_by_role("alert").first).to_contain_text("refused the credentials")
        assert not Connection.objects.exists()

        fill_form(page, base_url, TOKEN)
        expect(page).to_have_url(re.compile(r"/connections/$"))
        expect(custom_card(page).get_by_text(f"Connected as {NAME}", exact=True)).to_be_visible()

    connection = Connection.objects.get()
    assert connection.config["base_url"] == base_url + "/"
    assert [path for path, _ in server.seen.requests] == ["/v1/status", "/v1/status"]
    assert server.seen.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(connection.config)
    assert console_errors == []
