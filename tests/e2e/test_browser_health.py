"""The staff health overview and the connection page's charts, in the system Chromium.

Set SCREENSHOT_DIR to keep the screenshots (they go to the test's tmp_path otherwise).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.models import ProxyStat, SyncRun, UsageDay
from tests.factories import make_connection, make_user

PASSWORD = "pw-0123456789"


def seed():
    staff = make_user("staff@example.com")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_healthoverview"))
    person = make_user("ada@example.com")
    connection = make_connection(person, "spotify")
    other = make_connection(make_user("bob@example.com"), "sandbox", external_id="b")
    today = timezone.now().date()
    now = timezone.now()
    for age in range(30):
        day = today - timedelta(days=age)
        UsageDay.objects.create(connection=connection, provider="spotify", day=day,
                                requests=40 + (age * 7) % 23, errors=age % 4,
                                rate_limit_waits=(age * 3) % 5, wait_seconds=age % 3)
        ProxyStat.objects.create(connection=connection, day=day, hits=(age * 5) % 17,
                                 misses=3)
        UsageDay.objects.create(connection=other, provider="sandbox", day=day,
                                requests=10 + age % 6, errors=age % 2)
    for n in range(12):
        SyncRun.objects.create(connection=connection, trigger="scheduled", status="succeeded",
                               started_at=now - timedelta(hours=n, seconds=20 + n * 3),
                               finished_at=now - timedelta(hours=n), fetched=50 + n * 4,
                               created=n % 5)
    SyncRun.objects.create(connection=other, trigger="scheduled", status="failed",
                           error_code="try_later",
                           error_message="Sandbox is having problems (HTTP 503)")
    return connection


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('input[type="submit"]').click()


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_overview_and_connection_charts_render(live_server, page: Page, console_errors,
                                                tmp_path):
    connection = seed()
    folder = shots(tmp_path)
    log_in(page, live_server.url, "staff")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Health overview").first.click()
    expect(page.get_by_role("heading", name="Connections by health")).to_be_visible()
    expect(page.get_by_role("img", name="Spotify: usage a day, last 30 days")).to_be_visible()
    page.screenshot(path=str(folder / "health-overview.png"), full_page=True)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator('input[name="login"]').fill("ada@example.com")
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('button[type="submit"]').last.click()
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    chart = page.get_by_role("img", name="Requests to Spotify a day, last 30 days")
    expect(chart).to_be_visible()
    expect(page.get_by_role("img", name="Items per sync, last 30 syncs")).to_be_visible()
    page.locator("#usage").screenshot(path=str(folder / "connection-usage.png"))
    assert console_errors == []
