"""The data imports pages: upload, run detail, status JSON, error and history CSVs, and 404 for
everyone who may not run imports."""

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inequalities.models import ImportRun

DATA = Path(__file__).resolve().parent.parent / "data" / "jobs"
Status = ImportRun.Status


@pytest.fixture(autouse=True)
def eager_tasks():
    """These tests run the job in this process (the embedded default), even on the second CI pass
    where REDIS_URL is set; tests/inequalities/test_import_worker.py covers the real worker."""
    from pcn_portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client, name, kind="lsoa_lookup", capture=None):
    data = {"kind": kind, "file": SimpleUploadedFile(name, (DATA / name).read_bytes(), "text/csv")}
    with capture(execute=True):
        response = client.post(reverse("imports:index"), data)
    return response


def rows_of(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_imports_upload_creates_a_run_and_shows_its_outcome(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.users["icb_analyst"])

    response = upload(client, "lookup_a.csv", capture=django_capture_on_commit_callbacks)

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:detail", args=[run.pk])
    assert run.created_by == world.users["icb_analyst"] and run.trigger == "upload"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "nhsuk-tag--green" in html and "Succeeded" in html
    assert "Imported 4 rows." in html
    assert "Deprivation profiles recalculated" in html and "(0 profiles)" in html
    assert "4 read, 4 accepted, 0 rejected" in html
    assert run.sha256 in html
    assert "<progress" not in html  # finished: no progress bar, no polling script
    assert "import-progress.js" not in html


def test_imports_rejected_upload_shows_errors_by_line_and_column(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.users["administrator"])

    response = upload(client, "lookup_bad.csv", capture=django_capture_on_commit_callbacks)

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "This file was not imported" in html
    assert "Rejected with 2 problems; nothing was changed." in html
    assert "The data loaded before is still in place." in html
    assert "&#x27;E0101195X&#x27; is not an LSOA 2011 code (E01/W01 and 6 digits)" in html
    assert '<td class="nhsuk-table__cell">CHGIND</td>' in html
    run = ImportRun.objects.get()
    assert reverse("imports:errors_csv", args=[run.pk]) in html


def test_imports_errors_csv_splits_file_line_column_problem(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.users["icb_analyst"])
    upload(client, "lookup_bad.csv", capture=django_capture_on_commit_callbacks)
    run = ImportRun.objects.get()

    response = client.get(reverse("imports:errors_csv", args=[run.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert rows_of(response) == [
        ["run", "number", "file", "line", "column", "problem", "message"],
        [
            str(run.pk),
            "1",
            "lookup_bad.csv",
            "3",
            "LSOA11CD",
            "'E0101195X' is not an LSOA 2011 code (E01/W01 and 6 digits)",
            run.errors[0],
        ],
        [
            str(run.pk),
            "2",
            "lookup_bad.csv",
            "4",
            "CHGIND",
            "'Q' is not a change indicator (U, S, M or X)",
            run.errors[1],
        ],
    ]


def test_imports_errors_csv_keeps_file_level_reasons(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_BYTES = 10
    client.force_login(world.users["icb_analyst"])
    upload(client, "lookup_a.csv", capture=django_capture_on_commit_callbacks)
    run = ImportRun.objects.get()
    assert run.status == Status.FAILED

    (_, row) = rows_of(client.get(reverse("imports:errors_csv", args=[run.pk])))

    assert row[2:5] == ["lookup_a.csv", "", ""]
    assert row[5].startswith("lookup_a.csv: the file is 0.0 MB, over the 0.0 MB limit")
    page = client.get(reverse("imports:detail", args=[run.pk])).content.decode()
    assert "over the 0.0 MB limit for imports; nothing was imported." in page


def test_imports_status_json_reports_progress(client, world):
    client.force_login(world.users["icb_analyst"])
    run = ImportRun.objects.create(
        kind="registrations",
        source_name="big.csv",
        status=Status.RUNNING,
        progress=42,
        progress_message="Checked 420,000 rows",
    )

    response = client.get(reverse("imports:status", args=[run.pk]))

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    data = response.json()
    assert data["status"] == "running" and data["status_label"] == "Running"
    assert data["progress"] == 42 and data["progress_message"] == "Checked 420,000 rows"
    assert data["is_finished"] is False
    assert data["detail_url"] == reverse("imports:detail", args=[run.pk])


def test_imports_running_run_page_has_progress_bar_and_works_without_js(client, world):
    client.force_login(world.users["icb_analyst"])
    run = ImportRun.objects.create(
        kind="registrations", source_name="big.csv", status=Status.RUNNING, progress=42
    )

    html = client.get(reverse("imports:detail", args=[run.pk])).content.decode()

    assert '<progress id="import-progress" class="portal-progress" max="100" value="42"' in html
    assert 'role="status" aria-live="polite"' in html
    assert f'data-import-status-url="{reverse("imports:status", args=[run.pk])}"' in html
    assert '<script src="/static/js/import-progress.js" defer></script>' in html
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert "Refresh the page</a>" in html
    assert "<script>" not in html  # no inline script


def test_imports_index_shows_history_and_form(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.users["icb_analyst"])
    upload(client, "lookup_a.csv", capture=django_capture_on_commit_callbacks)
    upload(client, "lookup_bad.csv", capture=django_capture_on_commit_callbacks)

    html = client.get(reverse("imports:index")).content.decode()

    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html
    assert "lookup_a.csv" in html and "lookup_bad.csv" in html
    assert "nhsuk-tag--green" in html and "nhsuk-tag--red" in html
    assert "Download the import history (CSV)" in html
    # Data in use: the latest successful import of each kind.
    current = html[html.index('id="current"') : html.index('id="history"')]
    assert "lookup_a.csv</a>, imported" in current and "lookup_bad.csv" not in current
    assert current.count("Not imported yet") == len(ImportRun.Kind) - 1


def test_imports_index_without_file_shows_error_summary(client, world):
    client.force_login(world.users["icb_analyst"])

    response = client.post(reverse("imports:index"), {"kind": "imd"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert '<a href="#id_file">This field is required.</a>' in html
    assert ImportRun.objects.count() == 0


def test_imports_history_csv_lists_every_run(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.users["icb_analyst"])
    upload(client, "lookup_a.csv", capture=django_capture_on_commit_callbacks)
    upload(client, "lookup_a.csv", capture=django_capture_on_commit_callbacks)

    rows = rows_of(client.get(reverse("imports:index") + "?format=csv"))

    assert rows[0][:3] == ["id", "kind", "status"]
    assert [(r[1], r[2], r[4], r[9]) for r in rows[1:]] == [
        ("lsoa_lookup", "unchanged", "analyst@example.nhs.uk", "lookup_a.csv"),
        ("lsoa_lookup", "succeeded", "analyst@example.nhs.uk", "lookup_a.csv"),
    ]


def test_imports_summary_csv(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.users["icb_analyst"])
    upload(client, "lookup_a.csv", capture=django_capture_on_commit_callbacks)
    run = ImportRun.objects.get()

    rows = rows_of(client.get(reverse("imports:summary_csv", args=[run.pk])))

    assert rows[0] == ["run", "figure", "value"]
    assert [str(run.pk), "pairs", "4"] in rows
    html = client.get(reverse("imports:detail", args=[run.pk])).content.decode()
    assert (
        '<th scope="row" class="nhsuk-table__cell">Changes</th><td class="nhsuk-table__cell">S: 2, U: 2</td>'
        in html
    )


def test_imports_index_query_count_does_not_grow_with_runs(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.cache import clear_portal_cache

    analyst = world.users["icb_analyst"]
    client.force_login(analyst)

    def queries_with(n):
        ImportRun.objects.all().delete()
        for i in range(n):
            ImportRun.objects.create(
                kind=ImportRun.Kind.values[i % 5],
                source_name=f"f{i}.csv",
                created_by=analyst,
                status=Status.SUCCEEDED,
            )
        clear_portal_cache()  # both cold: the signed-in user is read from the database each time
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("imports:index")).status_code == 200
        return len(ctx)

    assert queries_with(1) == queries_with(25) <= 12


@pytest.mark.parametrize("role", ["clinical_director", "hi_lead", "pcn_member", "commissioner", "no_role"])
def test_imports_pages_are_404_for_people_who_may_not_run_imports(client, world, role):
    run = ImportRun.objects.create(kind="imd", source_name="f.csv", errors=["f.csv: bad"])
    client.force_login(world.users[role])
    urls = [
        reverse("imports:index"),
        reverse("imports:index") + "?format=csv",
        reverse("imports:detail", args=[run.pk]),
        reverse("imports:status", args=[run.pk]),
        reverse("imports:errors_csv", args=[run.pk]),
        reverse("imports:summary_csv", args=[run.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("imports:index"), {"kind": "imd"}).status_code == 404
    home = client.get(reverse("home")).content.decode()
    assert reverse("imports:index") not in home


def test_imports_pages_need_sign_in(client, db):
    response = client.get(reverse("imports:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_imports_nav_item_for_analysts(client, world):
    client.force_login(world.users["icb_analyst"])
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("imports:index")}"' in html and "Data imports" in html


def test_imports_unknown_run_is_404(client, world):
    client.force_login(world.users["icb_analyst"])
    assert client.get(reverse("imports:detail", args=[999999])).status_code == 404


def test_imports_detail_says_when_only_the_first_100_problems_are_kept(client, world):
    client.force_login(world.users["icb_analyst"])
    errors = [f"big.csv:{line}: NUMBER_OF_PATIENTS: 'x' is not a whole number" for line in range(2, 102)]
    run = ImportRun.objects.create(
        kind="registrations",
        source_name="big.csv",
        status=Status.FAILED,
        errors=errors,
        error_count=250,
        progress_message="Rejected with 250 problems; nothing was changed.",
    )

    html = client.get(reverse("imports:detail", args=[run.pk])).content.decode()

    assert "The first 100 of 250 problems are listed below." in html
    assert html.count("is not a whole number</td>") == 100


def test_imports_detail_says_profiles_are_still_being_recalculated(client, world):
    client.force_login(world.users["icb_analyst"])
    run = ImportRun.objects.create(
        kind="registrations", source_name="r.csv", status=Status.SUCCEEDED, progress=100
    )
    html = client.get(reverse("imports:detail", args=[run.pk])).content.decode()
    assert "Deprivation profiles are being recalculated" in html
