"""Import runs on the full stack: PostgreSQL, Redis and a real Celery worker process.

(a) A run started here goes through Redis, a separate worker executes it, and its result is in
    PostgreSQL.
(b) The worker is killed with SIGKILL while its write transaction is open (the importer has
    deleted the old lookup and loaded the new one, uncommitted): the previous data is intact, and
    once its heartbeat is old the run is marked failed. The worker is held mid-write by the
    test-only hold in `inequalities.imports` (a real `time.sleep` inside the real transaction,
    switched on by an environment variable only the worker process gets).
"""

import os
import signal
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inequalities import imports
from inequalities.imports import execute_run, mark_stale_runs, start_import
from inequalities.models import AuditEvent, ImportRun, LsoaLookup
from tests.conftest import ARTIFACTS, _require_or_skip, start_worker, stop_worker

pytestmark = pytest.mark.worker

DATA = Path(__file__).resolve().parent.parent / "data" / "jobs"
Status = ImportRun.Status


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name):
    return SimpleUploadedFile(name, (DATA / name).read_bytes(), content_type="text/csv")


def lookup_pairs():
    return set(LsoaLookup.objects.values_list("lsoa11_code", "lsoa21_code", "change"))


def pairs_in(name):
    lines = (DATA / name).read_text().splitlines()[1:]
    return {(c[0], c[2], c[4]) for c in (line.split(",") for line in lines)}


def wait_for(predicate, *, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def descendants(pid):
    """Process ids of every descendant of `pid` (the worker's prefork pool), from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def writer_backend_pid():
    """The PostgreSQL backend holding an uncommitted write on the lookup table (not ours)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.pid, a.state FROM pg_locks l
            JOIN pg_class c ON c.oid = l.relation
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted
              AND l.pid <> pg_backend_pid()
            """,
            [LsoaLookup._meta.db_table],
        )
        return cursor.fetchone()


def backend_alive(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] > 0


def test_import_run_sent_through_redis_is_executed_by_the_worker(
    celery_worker_process, world, media, settings
):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    analyst = world.users["icb_analyst"]

    run = start_import(kind="lsoa_lookup", uploaded_file=upload("lookup_a.csv"), by=analyst, trigger="upload")

    wait_for(lambda: ImportRun.objects.get(pk=run.pk).is_finished, what="the worker to finish the run")
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.errors
    assert run.created_by == analyst
    assert (run.rows_read, run.rows_accepted) == (4, 4)
    assert lookup_pairs() == pairs_in("lookup_a.csv")
    # The follow-on task also went through Redis to the worker.
    wait_for(
        lambda: AuditEvent.objects.filter(action="profiles.recomputed").exists(),
        what="the profile recompute task",
    )
    assert AuditEvent.objects.filter(action="import.succeeded", object_id=str(run.pk)).exists()


def test_worker_killed_mid_import_keeps_previous_data_and_run_is_marked_failed(
    transactional_db, media, settings
):
    if not settings.REDIS_URL:
        _require_or_skip("REQUIRE_WORKER", "needs REDIS_URL and a Celery worker (run .ci/run)")
    if connection.vendor != "postgresql":
        _require_or_skip("REQUIRE_WORKER", "a worker process needs a shared database server (PostgreSQL)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from pcn_portal.celery import app

    # The previous good data: lookup A, imported here through the same code path.
    first = start_import(
        kind="lsoa_lookup", path=DATA / "lookup_a.csv", by=None, trigger="command", enqueue=False
    )
    assert execute_run(first.pk, recompute_inline=True) == Status.SUCCEEDED
    ids_before = set(LsoaLookup.objects.values_list("pk", flat=True))

    app.control.purge()
    worker = start_worker(connection.settings_dict["NAME"], extra_env={imports.HOLD_ENV: "120"})
    try:
        started = time.monotonic()
        run = start_import(
            kind="lsoa_lookup", uploaded_file=upload("lookup_b.csv"), by=None, trigger="upload"
        )

        # The worker validates, then opens the write transaction: the old rows are deleted and the
        # new ones loaded, uncommitted, and it is held there.
        wait_for(
            lambda: ImportRun.objects.get(pk=run.pk).progress_message.startswith("Validated"),
            what="the worker to validate the file",
        )
        pid, state = wait_for(writer_backend_pid, what="the worker's open write transaction")
        assert state == "idle in transaction"
        # Read committed: from outside, the previous lookup is still all there is.
        assert lookup_pairs() == pairs_in("lookup_a.csv")
        mid = ImportRun.objects.get(pk=run.pk)
        assert mid.status == Status.RUNNING and mid.progress == imports.PARSE_SHARE
        # A live write is never marked stale, however old its heartbeat: its run row is locked,
        # and the check skips it rather than waiting.
        settings.IMPORT_STALE_AFTER_SECONDS = 0
        assert mark_stale_runs() == 0
        assert ImportRun.objects.get(pk=run.pk).status == Status.RUNNING

        for victim in [worker.pid, *descendants(worker.pid)]:
            os.kill(victim, signal.SIGKILL)
        worker.wait(timeout=20)
        assert time.monotonic() - started < 100  # killed while held, long before the hold ends
        wait_for(lambda: not backend_alive(pid), what="PostgreSQL to drop the dead worker's session")
    finally:
        stop_worker(worker)

    # The write was rolled back: the same rows, the same primary keys.
    assert lookup_pairs() == pairs_in("lookup_a.csv")
    assert set(LsoaLookup.objects.values_list("pk", flat=True)) == ids_before
    run.refresh_from_db()
    assert run.status == Status.RUNNING  # nobody has told it yet

    settings.IMPORT_STALE_AFTER_SECONDS = 1
    time.sleep(1.2)
    assert mark_stale_runs() == 1

    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.progress_message == "Worker stopped mid-import; previous data kept."
    assert run.errors == ["lookup_b.csv: Worker stopped mid-import; previous data kept."]
    assert AuditEvent.objects.filter(action="import.stale", object_id=str(run.pk)).exists()
    assert not AuditEvent.objects.filter(action="import.succeeded", object_id=str(run.pk)).exists()

    # Nothing is left locked: the same file imports cleanly now.
    again = start_import(
        kind="lsoa_lookup", path=DATA / "lookup_b.csv", by=None, trigger="command", enqueue=False
    )
    assert execute_run(again.pk, recompute_inline=True) == Status.SUCCEEDED
    assert lookup_pairs() == pairs_in("lookup_b.csv")
