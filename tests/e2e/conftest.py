"""Browser fixtures: the system Chromium driven by Playwright against pytest-django's live server.

Never ``playwright install``: the browser is Debian's ``chromium`` (scripts/ensure-chromium.sh).
"""

import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture
def sandbox_on_live_server(live_server, settings, monkeypatch):
    """Serve the sandbox from the live server and run django-q2 tasks inline.

    Server-side calls (token exchange, profile, sync) then reach the sandbox over loopback, and
    a queued sync runs on commit in the server thread that queued it.
    """
    from django_q.conf import Conf

    settings.THINKALIKE_SANDBOX = True
    settings.THINKALIKE_SANDBOX_URL = f"{live_server.url}/sandbox"
    monkeypatch.setattr(Conf, "SYNC", True)
    return live_server


def _record(errors: list[str], message) -> None:
    url = message.location.get("url", "")
    # Chromium asks for /favicon.ico on its own; a missing one is not an error of the page.
    if message.type == "error" and not url.endswith("/favicon.ico"):
        errors.append(f"{message.text} ({url})")


@pytest.fixture
def console_errors() -> list[str]:
    """What the page logged as errors (console ``error`` messages and uncaught exceptions)."""
    return []


@pytest.fixture
def page(monkeypatch, console_errors):
    """A fresh page in a fresh context of the system Chromium, with bounded timeouts."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium at /usr/bin/chromium or on PATH (apt-get install chromium)")
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM queries are
    # still synchronous, so Django's async-safety guard must stand aside.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("console", lambda msg: _record(console_errors, msg))
            page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
            yield page
        finally:
            # The test's ORM queries ran in Playwright's context, which has its own connections
            # (asgiref locals follow the context); left open, they stop PostgreSQL from
            # dropping the test database.
            from django.db import connections

            connections.close_all()
            browser.close()
