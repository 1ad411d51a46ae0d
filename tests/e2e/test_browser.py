"""The newcomer's path in a real browser: sign up, connect the sandbox, consent, sync, see the
interests, disconnect, and check that nothing of the connection is left behind.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from integrations.sandbox.liveserver import (
    PROJECT_DIR,
    SandboxServer,
    _env,
    _shell,
    manage,
    migrated_sqlite_url,
)

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


# --- The demo as people run it: a 10-second token against a real server -------------------------

SYNCS_IN_A_ROW = 3


def unfinished_runs(db_path) -> int:
    with sqlite3.connect(db_path, timeout=20) as db:
        return db.execute("SELECT COUNT(*) FROM integrations_syncrun WHERE status IN "
                          "('queued', 'running')").fetchone()[0]


def wait_for_quiet(db_path, worker) -> None:
    """Until no run is queued or running (the first sync is queued by the connect)."""
    deadline = time.monotonic() + 60
    while unfinished_runs(db_path):
        assert worker.poll() is None, "the worker died"
        assert time.monotonic() < deadline, "a sync never finished"
        time.sleep(0.1)


def wait_until_the_token_is_due(db_path) -> None:
    """Until the stored token needs renewing (tokens.is_expiring: half of a short life), so
    that the next sync has to refresh it first."""
    deadline = time.monotonic() + 60
    while True:
        with sqlite3.connect(db_path, timeout=20) as db:
            expires, refreshed = db.execute(
                "SELECT expires_at, refreshed_at FROM integrations_credential").fetchone()
        if refreshed is None:
            return  # as connected: within the 300 s margin already
        expires, refreshed = (datetime.fromisoformat(v).replace(tzinfo=UTC)
                              for v in (expires, refreshed))
        if datetime.now(UTC) >= expires - (expires - refreshed) / 2:
            return
        assert time.monotonic() < deadline, "the token never came due"
        time.sleep(0.2)


@pytest.mark.browser
def test_with_a_ten_second_token_every_sync_now_succeeds(tmp_path, page: Page, console_errors):
    """The demo's setup: runserver and a qcluster worker sharing one SQLite file, the sandbox
    served by the same server. Every sync must first refresh the token at the sandbox's token
    endpoint, which writes to the same database; a refresh holding a transaction across that
    request locked it until the request timed out, and every run failed."""
    database_url = migrated_sqlite_url(tmp_path)
    db_path = database_url.removeprefix("sqlite:///")
    env = {"REDIS_URL": "", "THINKALIKE_WORKERS": "1"}
    manage("createcachetable", database_url=database_url, extra_env=env)
    with SandboxServer(database_url, extra_env=env) as server:
        env["THINKALIKE_SANDBOX_URL"] = server.sandbox_url
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=PROJECT_DIR,
            env=_env(database_url, env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            sign_up(page, server.url)
            _shell("from django.contrib.auth import get_user_model\n"
                   "get_user_model().objects.filter(email=ARGS['email']).update(is_staff=True)\n",
                   database_url=database_url, email=EMAIL)
            page.goto(f"{server.sandbox_url}/knobs/")
            page.get_by_label("access token lifetime (s)").fill("10")
            page.get_by_role("button", name="Save knobs").click()
            expect(page.get_by_text("Sandbox knobs saved.")).to_be_visible()
            page.goto(f"{server.url}/connections/")
            connect_sandbox(page)
            allow_matching_everywhere(page)
            for _ in range(SYNCS_IN_A_ROW):
                wait_for_quiet(db_path, worker)
                wait_until_the_token_is_due(db_path)
                sync_now(page)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # its runs are over; no need to wait
            worker.wait(timeout=30)
    with sqlite3.connect(db_path) as db:
        manual = db.execute(
            "SELECT status, (SELECT COUNT(*) FROM integrations_apicall WHERE path LIKE "
            "'%/oauth/token' AND status_code = 200 AND at BETWEEN started_at AND finished_at) "
            "FROM integrations_syncrun WHERE trigger = 'manual' ORDER BY id").fetchall()
        reconnect = db.execute("SELECT COUNT(*) FROM integrations_connection WHERE status != "
                               "'active'").fetchone()[0]
    assert [status for status, _ in manual] == ["succeeded"] * SYNCS_IN_A_ROW
    assert all(refreshes >= 1 for _, refreshes in manual), manual  # each renewed the token
    assert reconnect == 0
    assert console_errors == []
