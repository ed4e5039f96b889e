"""The `import_*` management commands go through the same run machinery as the upload page."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inequalities.models import AuditEvent, ImportRun, LsoaLookup

DATA = Path(__file__).resolve().parent.parent / "data" / "jobs"


@pytest.fixture(autouse=True)
def eager_tasks():
    """These tests run the job in this process (the embedded default), even on the second CI pass
    where REDIS_URL is set; tests/inequalities/test_import_worker.py covers the real worker."""
    from pcn_portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_command_records_a_run_and_prints_the_outcome(db):
    out, _ = run_command("import_lsoa_lookup", str(DATA / "lookup_a.csv"))

    run = ImportRun.objects.get()
    assert run.trigger == "command" and run.created_by is None
    assert run.status == ImportRun.Status.SUCCEEDED
    assert f"Import run {run.pk} (lsoa_lookup) of lookup_a.csv: Succeeded" in out
    assert "rows: 4 read, 4 accepted, 0 rejected" in out
    assert "pairs: 4" in out
    assert LsoaLookup.objects.count() == 4
    # The profiles were recomputed in the same process, after the write committed.
    assert AuditEvent.objects.filter(action="profiles.recomputed").count() == 1


def test_import_command_same_file_again_says_unchanged(db):
    run_command("import_lsoa_lookup", str(DATA / "lookup_a.csv"))
    out, _ = run_command("import_lsoa_lookup", str(DATA / "lookup_a.csv"))
    assert "Unchanged (same file as before)" in out
    assert "nothing changed" in out


def test_import_command_rejected_file_exits_non_zero_with_errors(db):
    with pytest.raises(CommandError, match="failed with 2 problems; nothing was changed"):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_lsoa_lookup", str(DATA / "lookup_bad.csv"), stdout=out, stderr=err)
        finally:
            assert "lookup_bad.csv:3: LSOA11CD: 'E0101195X' is not an LSOA 2011 code" in err.getvalue()
            assert "lookup_bad.csv:4: CHGIND:" in err.getvalue()
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED
    assert LsoaLookup.objects.count() == 0


def test_import_command_attributes_the_run_to_a_user(world):
    run_command("import_lsoa_lookup", str(DATA / "lookup_a.csv"), "--user", "analyst@example.nhs.uk")
    assert ImportRun.objects.get().created_by == world.users["icb_analyst"]


def test_import_command_refuses_a_user_who_may_not_import(world):
    with pytest.raises(CommandError, match="You may not run data imports"):
        run_command("import_lsoa_lookup", str(DATA / "lookup_a.csv"), "--user", "lead@example.nhs.uk")
    assert ImportRun.objects.count() == 0


def test_import_command_missing_file(db):
    with pytest.raises(CommandError, match="no such file"):
        run_command("import_lsoa_lookup", str(DATA / "nope.csv"))


def test_import_command_background_without_a_broker_runs_eagerly(transactional_db):
    out, _ = run_command("import_lsoa_lookup", str(DATA / "lookup_a.csv"), "--background")
    assert "Succeeded" in out
