"""The library in a real browser against the Kitsu stand-in: connect with the password grant,
see the synced list as My library, edit an entry, and see the change arrive at the stand-in."""

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.sandbox.standins import anime_lists
from tests.e2e.test_browser import EMAIL, allow_matching_everywhere, sign_up

KITSU_LOGIN = anime_lists.KITSU_ACCOUNT["email"]
KITSU_PASSWORD = "kitsu-demo-password-2026"
DEATH_NOTE = ("anime", 1376)  # Kitsu's id; on hold at episode 12, 7/10 in the seed


@pytest.fixture
def stand_ins(sandbox_on_live_server, settings):
    settings.THINKALIKE_STAND_INS = True
    return sandbox_on_live_server


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_edit_a_library_entry_and_see_it_pushed_to_kitsu(stand_ins, page: Page,
                                                         console_errors):
    from integrations.models import ActionRun
    from library.models import LibraryPush

    before = anime_lists.list_state(anime_lists.KITSU)[DEATH_NOTE]
    assert (before["status"], before["progress"]) == ("on_hold", 12)

    sign_up(page, stand_ins.url)
    allow_matching_everywhere(page)  # the lists serve matching: no consent, no sync
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connected Services") \
        .click()
    kitsu = page.get_by_role("region", name="Kitsu", exact=True)
    kitsu.get_by_role("link", name="Connect", exact=True).click()
    page.get_by_label("Email or username").fill(KITSU_LOGIN)
    page.get_by_label("Password").fill(KITSU_PASSWORD)
    page.get_by_role("button", name="Connect Kitsu").click()
    expect(page).to_have_url(re.compile(r"/connections/$"))

    # The first sync ran on commit: the list is the library now.
    page.get_by_role("link", name="My library").click()
    expect(page.get_by_role("link", name="Death Note")).to_be_visible()
    page.get_by_role("link", name="Death Note").click()

    page.get_by_label("Status").select_option("current")
    page.get_by_label("Progress").fill("13")
    page.get_by_role("button", name="Save and send").click()

    # The push ran on commit, through Kitsu's update_entry action, at the stand-in.
    expect(page.get_by_text("Up to date on Kitsu")).to_be_visible()
    after = anime_lists.list_state(anime_lists.KITSU)[DEATH_NOTE]
    assert (after["status"], after["progress"]) == ("current", 13)
    push = LibraryPush.objects.get(entry__user__email=EMAIL)
    assert push.state == LibraryPush.State.SENT
    assert push.action_run.status == ActionRun.Status.SUCCEEDED
    assert console_errors == []
