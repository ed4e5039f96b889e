"""The data imports journey in Chromium: an ICB analyst signs in, uploads a file and sees the
result, uploads a bad file and sees its problems by line and column, and watches a running import's
progress bar move while a worker reports progress.

On the embedded default (SQLite, eager tasks) an upload is imported inside the request, so the
run is finished by the time the page loads. To watch progress, the test plays the worker's part
for one run: it reports progress through the same function the worker uses
(`inequalities.imports._set_progress`) and then closes the run, while the page polls the real
status endpoint with static/js/import-progress.js.
"""

from pathlib import Path

import pytest
from django.utils import timezone

from inequalities import imports
from inequalities.models import ImportRun, LsoaLookup

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parent.parent / "data" / "jobs"
PASSWORD = "correct-horse-battery"  # tests/factories UserFactory


@pytest.fixture(autouse=True)
def eager_tasks():
    """These tests run the job in this process (the embedded default), even on the second CI pass
    where REDIS_URL is set; tests/inequalities/test_import_worker.py covers the real worker."""
    from pcn_portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def assert_accessible(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]})
    serious = [v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}]
    assert not serious, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]


def upload(page, name):
    page.get_by_role("link", name="Data imports").first.click()
    page.get_by_label("LSOA 2011 to 2021 lookup", exact=False).check()
    page.set_input_files("#id_file", str(DATA / name))
    page.get_by_role("button", name="Start import").click()
    page.wait_for_url("**/imports/*/")


def test_import_upload_journey(page, live_server, world, media, screenshot_dir):
    sign_in(page, "analyst@example.nhs.uk")

    page.goto("/imports/")
    assert page.get_by_role("heading", name="Data imports", level=1).is_visible()
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "imports-1-upload-form.png", full_page=True)

    # A good file: the run succeeds and says what it did.
    upload(page, "lookup_a.csv")
    assert page.locator(".nhsuk-tag--green").first.inner_text() == "Succeeded"
    assert page.get_by_text("Imported 4 rows.").is_visible()
    assert page.get_by_text("4 read, 4 accepted, 0 rejected").is_visible()
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "imports-2-succeeded.png", full_page=True)
    assert LsoaLookup.objects.count() == 4

    # A bad file: nothing changes and every problem names its line and column.
    upload(page, "lookup_bad.csv")
    assert page.get_by_role("heading", name="This file was not imported").is_visible()
    rows = page.locator("#errors ~ table tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t") == [
        "3",
        "LSOA11CD",
        "'E0101195X' is not an LSOA 2011 code (E01/W01 and 6 digits)",
    ]
    assert rows.nth(1).inner_text().split("\t")[:2] == ["4", "CHGIND"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these problems (CSV)").click()
    assert "lookup_bad.csv,3,LSOA11CD" in Path(download.value.path()).read_text()
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "imports-3-rejected.png", full_page=True)
    assert LsoaLookup.objects.count() == 4

    # The history lists both runs.
    page.goto("/imports/")
    history = page.locator("table tbody tr")
    assert history.count() == 2
    assert "Failed" in history.nth(0).inner_text() and "Succeeded" in history.nth(1).inner_text()


def test_import_progress_bar_follows_a_running_import(page, live_server, world, media, screenshot_dir):
    run = ImportRun.objects.create(
        kind="registrations",
        source_name="gp-reg-pat-prac-lsoa-all.csv",
        status=ImportRun.Status.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        progress=5,
        progress_message="Reading the file",
    )
    sign_in(page, "analyst@example.nhs.uk")
    page.goto(f"/imports/{run.pk}/")
    bar = page.locator("progress#import-progress")
    status = page.locator("#import-status-text")
    assert bar.get_attribute("value") == "5"
    assert status.get_attribute("aria-live") == "polite"
    assert_accessible(page)

    # The worker reports progress; the page follows without a reload.
    imports._set_progress(run.pk, 55, "Checked 550,000 of 1,000,000 rows")
    page.wait_for_function("document.querySelector('progress#import-progress').value === 55")
    assert "Checked 550,000 of 1,000,000 rows" in status.inner_text()
    assert "55% done" in status.inner_text()
    page.screenshot(path=screenshot_dir / "imports-4-progress.png", full_page=True)

    # The worker finishes; the page reloads itself and shows the outcome.
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.SUCCEEDED,
        progress=100,
        progress_message="Imported 1,000,000 rows.",
        rows_read=1_000_000,
        rows_accepted=1_000_000,
        finished_at=timezone.now(),
    )
    page.locator("#import-outcome").wait_for()
    assert page.locator("progress").count() == 0
    assert "Imported 1,000,000 rows." in page.locator("#import-outcome").inner_text()
    page.screenshot(path=screenshot_dir / "imports-5-finished.png", full_page=True)


def test_import_run_page_without_javascript_refreshes_itself(
    chromium_browser, live_server, world, screenshot_dir
):
    run = ImportRun.objects.create(
        kind="imd",
        source_name="File_1.csv",
        status=ImportRun.Status.RUNNING,
        heartbeat_at=timezone.now(),
        progress=30,
        progress_message="Checking deciles",
    )
    context = chromium_browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "analyst@example.nhs.uk")
        page.goto(f"/imports/{run.pk}/")
        assert page.locator("progress#import-progress").get_attribute("value") == "30"
        assert page.get_by_role("link", name="Refresh the page").is_visible()

        imports._set_progress(run.pk, 100, "Done")
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.FAILED,
            errors=["File_1.csv: the file has a header but no data rows"],
            error_count=1,
            progress_message="Rejected with 1 problem; nothing was changed.",
            finished_at=timezone.now(),
        )
        # The <noscript> meta refresh (every 5 s) brings the outcome in.
        page.locator("#import-outcome").wait_for(timeout=12000)
        assert "the file has a header but no data rows" in page.locator("#errors ~ table").inner_text()
        page.screenshot(path=screenshot_dir / "imports-6-no-js-finished.png", full_page=True)
    finally:
        context.close()
