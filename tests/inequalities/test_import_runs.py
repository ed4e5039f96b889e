"""Import runs as jobs, on the embedded default (SQLite, Celery eager): the run record, its
states, idempotence, rejection without change, the size limit, stale runs, the drop folder and the
audit trail. The importer is the real LSOA lookup importer on small files in tests/data/jobs/."""

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from inequalities import imports
from inequalities.imports import execute_run, mark_stale_runs, scan_drop_folder, start_import
from inequalities.models import AuditEvent, ImportRun, LsoaLookup

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data" / "jobs"
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


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(name):
    return SimpleUploadedFile(name, (DATA / name).read_bytes(), content_type="text/csv")


def lookup_pairs():
    return set(LsoaLookup.objects.values_list("lsoa11_code", "lsoa21_code", "change"))


def pairs_in(name):
    lines = (DATA / name).read_text().splitlines()[1:]
    return {(c[0], c[2], c[4]) for c in (line.split(",") for line in lines)}


def run_upload(name, by, capture, kind="lsoa_lookup"):
    with capture(execute=True):
        run = start_import(kind=kind, uploaded_file=upload(name), by=by, trigger="upload")
        queued = ImportRun.objects.get(pk=run.pk)
        assert queued.status == Status.QUEUED  # nothing runs before the run is committed
    run.refresh_from_db()
    return run


def test_import_run_upload_goes_from_queued_to_succeeded(world, media, django_capture_on_commit_callbacks):
    analyst = world.users["icb_analyst"]
    content = (DATA / "lookup_a.csv").read_bytes()

    run = run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)

    assert run.status == Status.SUCCEEDED
    assert run.created_by == analyst and run.trigger == "upload"
    assert run.size_bytes == len(content)
    assert run.sha256 == hashlib.sha256(content).hexdigest()
    assert Path(run.source_path) == media / "imports" / str(run.pk) / "lookup_a.csv"
    assert Path(run.source_path).read_bytes() == content
    assert run.layout == "ONS LSOA 2011 to 2021 lookup"
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (4, 4, 0)
    assert run.progress == 100
    assert run.started_at <= run.finished_at and run.heartbeat_at == run.finished_at
    assert run.summary["pairs"] == 4
    assert run.errors == [] and run.error_count == 0
    assert lookup_pairs() == pairs_in("lookup_a.csv")


def test_import_run_same_file_twice_is_unchanged_and_writes_nothing(
    world, media, django_capture_on_commit_callbacks
):
    analyst = world.users["icb_analyst"]
    first = run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)
    ids_before = set(LsoaLookup.objects.values_list("pk", flat=True))

    second = run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)

    assert second.status == Status.UNCHANGED
    assert second.summary == {"same_as_run": first.pk}
    assert f"run {first.pk} (lookup_a.csv, " in second.progress_message
    assert "nothing changed" in second.progress_message
    assert second.rows_accepted == 0
    # Not even rewritten: the same rows with the same primary keys.
    assert set(LsoaLookup.objects.values_list("pk", flat=True)) == ids_before


def test_import_run_different_file_replaces_previous(world, media, django_capture_on_commit_callbacks):
    analyst = world.users["icb_analyst"]
    run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)

    run = run_upload("lookup_b.csv", analyst, django_capture_on_commit_callbacks)

    assert run.status == Status.SUCCEEDED
    assert lookup_pairs() == pairs_in("lookup_b.csv")


def test_import_run_going_back_to_an_earlier_file_is_a_change(
    world, media, django_capture_on_commit_callbacks
):
    analyst = world.users["icb_analyst"]
    run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)
    run_upload("lookup_b.csv", analyst, django_capture_on_commit_callbacks)

    back = run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)

    assert back.status == Status.SUCCEEDED
    assert lookup_pairs() == pairs_in("lookup_a.csv")


def test_import_run_rejected_file_fails_keeps_errors_and_changes_nothing(
    world, media, django_capture_on_commit_callbacks
):
    analyst = world.users["icb_analyst"]
    run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)
    ids_before = set(LsoaLookup.objects.values_list("pk", flat=True))

    run = run_upload("lookup_bad.csv", analyst, django_capture_on_commit_callbacks)

    assert run.status == Status.FAILED
    assert run.error_count == 2
    assert run.errors == [
        "lookup_bad.csv:3: LSOA11CD: 'E0101195X' is not an LSOA 2011 code (E01/W01 and 6 digits)",
        "lookup_bad.csv:4: CHGIND: 'Q' is not a change indicator (U, S, M or X)",
    ]
    assert run.layout == "ONS LSOA 2011 to 2021 lookup"
    assert run.rows_read == 3 and run.rows_accepted == 0
    assert "nothing was changed" in run.progress_message
    assert run.finished_at is not None
    assert set(LsoaLookup.objects.values_list("pk", flat=True)) == ids_before
    assert lookup_pairs() == pairs_in("lookup_a.csv")


def test_import_run_rejected_file_does_not_count_for_idempotence(
    world, media, django_capture_on_commit_callbacks
):
    analyst = world.users["icb_analyst"]
    first = run_upload("lookup_bad.csv", analyst, django_capture_on_commit_callbacks)
    second = run_upload("lookup_bad.csv", analyst, django_capture_on_commit_callbacks)
    assert first.status == second.status == Status.FAILED
    assert second.error_count == 2


def test_import_run_over_size_limit_is_refused_with_file_level_message(
    world, media, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_BYTES = 100
    analyst = world.users["icb_analyst"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = start_import(
            kind="lsoa_lookup", uploaded_file=upload("lookup_a.csv"), by=analyst, trigger="upload"
        )
    run.refresh_from_db()

    assert callbacks == []  # no task queued
    assert run.status == Status.FAILED
    size = (DATA / "lookup_a.csv").stat().st_size
    assert run.size_bytes == size
    assert run.errors == [
        f"lookup_a.csv: the file is {size / 1048576:,.1f} MB, over the 0.0 MB limit for imports; "
        "nothing was imported."
    ]
    assert run.error_count == 1
    assert not (media / "imports" / str(run.pk)).exists()
    assert LsoaLookup.objects.count() == 0
    assert AuditEvent.objects.filter(action="import.rejected", object_id=str(run.pk)).exists()


def test_import_run_over_size_limit_by_path_is_refused(world, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 100
    run = start_import(kind="lsoa_lookup", path=DATA / "lookup_a.csv", by=None, trigger="command")
    assert run.status == Status.FAILED
    assert "over the 0.0 MB limit" in run.errors[0]


def test_start_import_refuses_people_without_run_imports(world, media):
    for role in ("hi_lead", "commissioner", "clinical_director", "pcn_member"):
        with pytest.raises(PermissionError):
            start_import(
                kind="lsoa_lookup",
                uploaded_file=upload("lookup_a.csv"),
                by=world.users[role],
                trigger="upload",
            )
    assert ImportRun.objects.count() == 0


def test_start_import_refuses_unknown_kind(world, media):
    with pytest.raises(ValueError, match="Unknown import kind"):
        start_import(kind="nonsense", path=DATA / "lookup_a.csv", by=None, trigger="command")


def test_import_run_by_path_for_the_system_records_no_person(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start_import(kind="lsoa_lookup", path=DATA / "lookup_a.csv", by=None, trigger="command")
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    assert run.created_by is None and run.trigger == "command"
    assert run.source_path == str((DATA / "lookup_a.csv").resolve())


def test_execute_run_only_runs_a_queued_run_once(world, media, django_capture_on_commit_callbacks):
    run = run_upload("lookup_a.csv", world.users["icb_analyst"], django_capture_on_commit_callbacks)
    finished_at = run.finished_at

    assert execute_run(run.pk) == Status.SUCCEEDED  # a second delivery of the task

    run.refresh_from_db()
    assert run.finished_at == finished_at
    assert AuditEvent.objects.filter(action="import.succeeded").count() == 1


def test_import_run_unexpected_error_fails_with_message(world, media, django_capture_on_commit_callbacks):
    analyst = world.users["icb_analyst"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = start_import(
            kind="lsoa_lookup", uploaded_file=upload("lookup_a.csv"), by=analyst, trigger="upload"
        )
    # The stored file turns into a directory before the worker gets to it.
    stored = Path(run.source_path)
    stored.unlink()
    stored.mkdir()
    for callback in callbacks:
        callback()
    run.refresh_from_db()

    assert run.status == Status.FAILED
    assert run.error_count == 1
    assert run.errors[0].startswith("lookup_a.csv: import failed: IsADirectoryError")
    assert LsoaLookup.objects.count() == 0


def test_progress_updates_the_run_and_beats_the_heartbeat(db):
    run = ImportRun.objects.create(
        kind="lsoa_lookup",
        source_name="x.csv",
        status=Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    progress = imports._Progress(run.pk, low=0, high=80)

    progress(50, "Checked 500 of 1,000 rows")

    run.refresh_from_db()
    assert run.progress == 40
    assert run.progress_message == "Checked 500 of 1,000 rows"
    assert timezone.now() - run.heartbeat_at < timedelta(seconds=5)


def test_progress_stops_a_run_that_was_marked_stale(db):
    run = ImportRun.objects.create(kind="lsoa_lookup", source_name="x.csv", status=Status.FAILED)
    with pytest.raises(imports.RunAbandoned):
        imports._Progress(run.pk)(100, "done")


def test_mark_stale_runs_fails_only_runs_with_an_old_heartbeat(db, settings):
    settings.IMPORT_STALE_AFTER_SECONDS = 600
    now = timezone.now()
    stale = ImportRun.objects.create(
        kind="registrations",
        source_name="old.csv",
        status=Status.RUNNING,
        started_at=now - timedelta(minutes=30),
        heartbeat_at=now - timedelta(minutes=11),
    )
    alive = ImportRun.objects.create(
        kind="registrations",
        source_name="alive.csv",
        status=Status.RUNNING,
        started_at=now - timedelta(minutes=30),
        heartbeat_at=now - timedelta(minutes=9),
    )
    queued = ImportRun.objects.create(kind="imd", source_name="queued.csv", status=Status.QUEUED)

    assert mark_stale_runs() == 1
    assert mark_stale_runs() == 0

    stale.refresh_from_db()
    alive.refresh_from_db()
    queued.refresh_from_db()
    assert stale.status == Status.FAILED
    assert stale.progress_message == "Worker stopped mid-import; previous data kept."
    assert stale.errors == ["old.csv: Worker stopped mid-import; previous data kept."]
    assert stale.finished_at is not None
    assert alive.status == Status.RUNNING
    assert queued.status == Status.QUEUED
    event = AuditEvent.objects.get(action="import.stale")
    assert event.object_id == str(stale.pk)
    assert event.before["status"] == "running" and event.after["status"] == "failed"


def test_scan_drop_folder_imports_settled_files_once(
    db, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_DROP_DIR = tmp_path / "incoming"
    folder = settings.IMPORT_DROP_DIR / "lsoa_lookup"
    folder.mkdir(parents=True)
    settled = folder / "lookup_a.csv"
    settled.write_bytes((DATA / "lookup_a.csv").read_bytes())
    old = time.time() - 3600
    os.utime(settled, (old, old))
    fresh = folder / "lookup_b.csv"  # still being copied in: too new to pick up
    fresh.write_bytes((DATA / "lookup_b.csv").read_bytes())
    (folder / "half.csv.part").write_text("LSOA11CD")

    with django_capture_on_commit_callbacks(execute=True):
        runs = scan_drop_folder()

    assert len(runs) == 1
    run = ImportRun.objects.get(pk=runs[0].pk)
    assert run.status == Status.SUCCEEDED
    assert run.trigger == "schedule" and run.created_by is None
    assert not settled.exists() and fresh.exists()
    moved = Path(run.source_path)
    assert moved.parent == folder / "processed" and moved.name.endswith("-lookup_a.csv")
    assert lookup_pairs() == pairs_in("lookup_a.csv")

    # Nothing new: the next scan starts nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert scan_drop_folder() == []

    # The same file dropped again is recorded and changes nothing.
    again = folder / "lookup_a_copy.csv"
    again.write_bytes((DATA / "lookup_a.csv").read_bytes())
    os.utime(again, (old, old))
    with django_capture_on_commit_callbacks(execute=True):
        (second,) = scan_drop_folder()
    second.refresh_from_db()
    assert second.status == Status.UNCHANGED


def test_import_runs_write_an_audit_event_for_each_outcome(world, media, django_capture_on_commit_callbacks):
    analyst = world.users["icb_analyst"]
    good = run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)
    same = run_upload("lookup_a.csv", analyst, django_capture_on_commit_callbacks)
    bad = run_upload("lookup_bad.csv", analyst, django_capture_on_commit_callbacks)

    events = {
        (e.action, e.object_id): e for e in AuditEvent.objects.filter(object_type="inequalities.ImportRun")
    }
    assert set(events) == {
        ("import.queued", str(good.pk)),
        ("import.succeeded", str(good.pk)),
        ("profiles.recomputed", str(good.pk)),  # the follow-on task, for the successful run only
        ("import.queued", str(same.pk)),
        ("import.unchanged", str(same.pk)),
        ("import.queued", str(bad.pk)),
        ("import.rejected", str(bad.pk)),
    }
    queued = events[("import.queued", str(good.pk))]
    assert queued.actor == analyst
    assert queued.after["sha256"] == good.sha256 and queued.after["source_name"] == "lookup_a.csv"
    assert events[("import.succeeded", str(good.pk))].after["rows_accepted"] == 4
    assert events[("import.unchanged", str(same.pk))].after["same_as_run"] == good.pk
    assert events[("import.rejected", str(bad.pk))].after["error_count"] == 2


def test_registrations_run_recomputes_the_profiles_of_its_snapshot(
    world, media, django_capture_on_commit_callbacks
):
    """The real chain on real data: IoD2019 File 1 by command, then a registrations upload; the
    follow-on task recomputes the profiles of the snapshot the run loaded."""
    from inequalities.models import DeprivationProfile, RegistrationSnapshot

    imd = ROOT / "data" / "open" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    with django_capture_on_commit_callbacks(execute=True):
        imd_run = start_import(kind="imd", path=imd, by=None, trigger="command")
    imd_run.refresh_from_db()
    assert imd_run.status == Status.SUCCEEDED, imd_run.errors
    assert imd_run.rows_accepted == 32844

    run = run_upload(
        "registrations_small.csv",
        world.users["icb_analyst"],
        django_capture_on_commit_callbacks,
        kind="registrations",
    )

    assert run.status == Status.SUCCEEDED, run.errors
    snapshot = RegistrationSnapshot.objects.get()
    assert run.summary["snapshot_id"] == snapshot.pk
    assert run.summary["unknown_lsoa_patients"] == 5
    assert any("A81001" in w for w in run.warnings)  # a practice the organisations do not know
    profile = DeprivationProfile.objects.get(level="practice", code="A81001", snapshot=snapshot)
    assert profile.registered_patients == 155
    assert profile.unknown_patients == 5
    assert profile.core20_patients == 100
    assert profile.decile_patients == [100, 0, 0, 0, 0, 0, 0, 0, 50, 0]
    event = AuditEvent.objects.filter(action="profiles.recomputed").latest("at")
    assert event.after["import_run"] == run.pk
    assert event.after["scope"] == str(snapshot)


def test_beat_schedule_runs_the_drop_folder_scan_and_the_stale_check():
    from pcn_portal.celery import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule == {"inequalities.scan_drop_folder": 300.0, "inequalities.mark_stale_runs": 60.0}
    app.loader.import_default_modules()
    assert set(schedule) <= set(app.tasks)


def test_scheduled_tasks_run_through_celery(db, settings, tmp_path):
    from inequalities import tasks

    settings.IMPORT_DROP_DIR = tmp_path / "incoming"
    settings.IMPORT_STALE_AFTER_SECONDS = 60
    stale = ImportRun.objects.create(
        kind="imd",
        source_name="old.csv",
        status=Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert tasks.mark_stale_runs_task.delay().get() == 1
    assert tasks.scan_drop_folder.delay().get() == []
    stale.refresh_from_db()
    assert stale.status == Status.FAILED


def test_progress_writes_each_new_step_but_throttles_repeats(db):
    run = ImportRun.objects.create(kind="imd", source_name="x.csv", status=Status.RUNNING)
    progress = imports._Progress(run.pk)
    seen = []

    def written():
        run.refresh_from_db()
        seen.append((run.progress, run.progress_message))

    progress(2, "Reading the file")
    written()
    time.sleep(0.15)
    progress(30, "Validating")
    written()
    progress(31, "Validating")  # the same step again at once: not written
    written()
    time.sleep(0.15)
    progress(45, "Checking practices")
    written()

    assert seen == [
        (2, "Reading the file"),
        (30, "Validating"),
        (30, "Validating"),
        (45, "Checking practices"),
    ]


def test_execute_run_of_a_deleted_run_does_nothing(db):
    assert execute_run(123456) is None
