"""The newcomer's path in a real browser: sign up, connect the sandbox, consent, sync, see the
interests, disconnect, and check that nothing of the connection is left behind.
"""

import re

import pytest
from playwright.sync_api import Page, expect

EMAIL = "e2e-person@example.com"
PASSWORD = "e2e-Correct-Horse-2026"
SANDBOX_ACCOUNT = "e2e-listener"
SANDBOX_LABEL = "E2E-Listener"  # the sandbox's display name: the account, title-cased
SCREENSHOT = "/tmp/e2e-interests.png"


def sandbox_card(page: Page):
    return page.get_by_role("region", name="Sandbox", exact=True)


def counter(page: Page, name: str):
    """The value of one counter (Fetched, Created...) on a sync run page."""
    return page.locator("#run-status .counters div").filter(
        has=page.get_by_role("term").filter(has_text=re.compile(f"^{name}$"))
    ).get_by_role("definition")


def sign_up(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.locator('input[name="email"]').fill(EMAIL)
    page.locator('input[name="password1"]').fill(PASSWORD)
    page.locator('input[name="password2"]').fill(PASSWORD)
    page.get_by_role("button", name=re.compile(r"sign up", re.I)).click()
    expect(page).to_have_url(re.compile(r"/connections/$"))


def connect_sandbox(page: Page) -> None:
    sandbox_card(page).get_by_role("button", name="Connect", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sandbox/oauth/authorize"))
    page.get_by_label("Sandbox account").fill(SANDBOX_ACCOUNT)
    page.get_by_role("button", name="Allow").click()
    expect(page).to_have_url(re.compile(r"/connections/$"))
    expect(page.get_by_role("status").first).to_contain_text(re.compile("connected", re.I))
    expect(sandbox_card(page).get_by_text(f"Connected as {SANDBOX_LABEL}", exact=True)) \
        .to_be_visible()


def allow_matching_everywhere(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Consent").click()
    page.get_by_role("button", name="Turn on Matching for all services").click()
    matching = page.get_by_role("region", name="Matching", exact=True)
    expect(matching.get_by_role("row", name=re.compile("^All services"))).to_contain_text("On")


def sync_now(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connected Services") \
        .click()
    sandbox_card(page).get_by_role("button", name="Sync now").click()
    expect(page).to_have_url(re.compile(r"/connections/\d+/runs/\d+/$"))
    expect(page.locator("#run-status .run-state")).to_contain_text("Succeeded")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_connect_consent_sync_interests_disconnect(
    sandbox_on_live_server, page: Page, console_errors
):
    from django.contrib.auth import get_user_model

    from integrations.models import Connection, Credential, ExternalItem, SyncRun, UserInterest
    from integrations.sandbox.models import SandboxGrant

    base = sandbox_on_live_server.url
    sign_up(page, base)
    connect_sandbox(page)
    allow_matching_everywhere(page)

    sync_now(page)
    user = get_user_model().objects.get(email=EMAIL)
    run = SyncRun.objects.get(connection__user=user, trigger=SyncRun.Trigger.MANUAL)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.fetched > 0 and run.created > 0, (run.fetched, run.created)
    expect(counter(page, "Fetched")).to_have_text(str(run.fetched))
    expect(counter(page, "Created")).to_have_text(str(run.created))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My interests").click()
    interest = UserInterest.objects.filter(user=user).select_related("interest").first()
    assert interest is not None
    row = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name=interest.interest.label, exact=True)
    )
    expect(row).to_contain_text(f"Sandbox ({SANDBOX_LABEL})")
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connected Services") \
        .click()
    sandbox_card(page).get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("main")).to_contain_text(SANDBOX_LABEL)
    page.get_by_role("button", name=re.compile("^Disconnect")).click()
    expect(page).to_have_url(re.compile(r"/connections/$"))
    expect(page.get_by_role("main")).to_contain_text("Access was also revoked at Sandbox.")
    card = sandbox_card(page)
    expect(card.get_by_text("Not connected", exact=True)).to_be_visible()
    expect(card.get_by_role("button", name="Connect", exact=True)).to_be_visible()

    assert not Connection.objects.filter(user=user).exists()
    assert not Credential.objects.filter(connection__user=user).exists()
    assert not ExternalItem.objects.filter(connection__user=user).exists()
    assert not UserInterest.objects.filter(user=user).exists()
    grants = SandboxGrant.objects.filter(account=SANDBOX_ACCOUNT)
    assert grants.exists()
    assert not grants.filter(revoked=False).exists()
    assert console_errors == []
