"""The export in a real browser: a person with sandbox items prepares an export, watches its
progress until the download link appears, downloads the zip and finds their items in it; then
deletes that service's imported data on the connection page."""

import json
import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import (
    EMAIL,
    allow_matching_everywhere,
    connect_sandbox,
    sign_up,
    sync_now,
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_prepare_download_an_export_then_delete_a_services_data(
    sandbox_on_live_server, page: Page, console_errors, monkeypatch, settings, tmp_path
):
    from integrations.models import Connection, ExternalItem
    from privacy import export_services as services
    from privacy.models import DataExport
    from privacy.tasks import export_build_task

    settings.THINKALIKE_EXPORT_DIR = tmp_path / "exports"
    # The export's task is held back (the syncs still run inline), so the page shows it queued
    # and polls; the test then plays the worker.
    queued: list[tuple] = []
    monkeypatch.setattr(services, "enqueue_many", lambda func, calls: queued.extend(calls))

    base = sandbox_on_live_server.url
    sign_up(page, base)
    connect_sandbox(page)
    allow_matching_everywhere(page)
    sync_now(page)
    connection = Connection.objects.get(user__email=EMAIL, provider="sandbox")
    titles = sorted(ExternalItem.objects.filter(connection=connection).values_list("title",
                                                                                    flat=True))
    assert titles

    page.goto(f"{base}/your-data/export/")
    page.get_by_role("button", name="Prepare my export").click()
    expect(page).to_have_url(re.compile(r"/your-data/export/$"))
    expect(page.get_by_test_id("export-state")).to_have_text("Queued")
    expect(page.locator("#export-progress")).to_be_visible()
    expect(page.get_by_role("button", name="Prepare my export")).to_have_count(0)

    (args, _name), = queued
    export_build_task(*args)  # the worker; the page's polling shows the outcome
    download_link = page.get_by_role("link", name="Download my export")
    expect(download_link).to_be_visible()
    expect(page.get_by_test_id("export-state")).to_have_text("Ready")

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert re.fullmatch(r"thinkalike-export-\d{8}-\d{4}\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as zf:
        items = json.loads(zf.read("items.json"))
        assert "README.txt" in zf.namelist()
    assert sorted(row["title"] for row in items) == titles
    assert {row["provider"] for row in items} == {"sandbox"}
    assert DataExport.objects.get(user__email=EMAIL).status == DataExport.Status.READY

    page.goto(f"{base}/connections/{connection.pk}/")
    expect(page.locator("#imported")).to_contain_text(f"{len(titles)} item")
    page.get_by_role("button", name="Delete imported data").click()
    expect(page.get_by_role("main")).to_contain_text(f"Deleted {len(titles)} imported items")
    expect(page.locator("#imported")).to_contain_text("Nothing imported yet")
    assert ExternalItem.objects.filter(connection=connection).count() == 0
    # The zip of the deleted data went with it.
    export = DataExport.objects.get(user__email=EMAIL)
    assert export.status == DataExport.Status.EXPIRED and not export.file_name
    assert not list(settings.THINKALIKE_EXPORT_DIR.glob("export-*"))
    page.goto(f"{base}/your-data/export/")
    expect(page.get_by_role("link", name="Download my export")).to_have_count(0)
    assert console_errors == []
