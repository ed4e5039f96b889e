"""Running data imports as background jobs: the one orchestrator behind the upload page, the
management commands and the drop-folder schedule.

* `start_import` is the *action* (keyword-only, names its actor, audited): it checks the access
  policy, stores an uploaded file, measures and hashes it, records an `ImportRun` as QUEUED and
  enqueues the Celery task once the run is committed.
* `execute_run` is the task body. Validation (the importer's `parse`) runs outside any
  transaction and reports progress on the run with small autocommitted UPDATEs, so the browser
  can show it. The write, and the run turning SUCCEEDED, happen in **one** transaction: the run
  says "succeeded" if and only if the new data committed. A worker killed mid-write leaves the
  transaction uncommitted, so PostgreSQL rolls it back and the previous data stays in place.
* `mark_stale_runs` turns RUNNING runs whose heartbeat stopped (their worker died) into FAILED.
  A run marked stale cannot later commit: the write transaction re-reads the run under a row lock
  and gives up if it is no longer RUNNING.

Idempotence: a file whose sha256 matches the latest SUCCEEDED run of the same kind is not parsed
or written again; the run ends UNCHANGED and says which run loaded that file. (Checked before
parsing, and again under a per-kind lock just before writing, so two uploads of one file at once
write once.)
"""

import hashlib
import json
import logging
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from inequalities import audit, policy, principal
from inequalities.models import ImportRun
from inequalities.policy import Permission

logger = logging.getLogger(__name__)

Status = ImportRun.Status

MAX_KEPT_ERRORS = 100
MAX_KEPT_WARNINGS = 100
PROGRESS_EVERY_SECONDS = 0.5
# Share of the progress bar given to reading and validating; writing takes the rest.
PARSE_SHARE = 80
STALE_MESSAGE = "Worker stopped mid-import; previous data kept."
# Test-only: hold the write transaction open this many seconds after the importer has written,
# so a test can kill the worker mid-write. Read only when the test settings are active.
HOLD_ENV = "PCN_PORTAL_TEST_IMPORT_HOLD_SECONDS"
_CHUNK = 1024 * 1024


class RunAbandoned(Exception):
    """The run stopped being RUNNING under us (marked stale): stop without writing."""


def _importers():
    from inequalities.importers import IMPORTERS

    return IMPORTERS


def _rejected_class():
    from inequalities.importers.base import ImportRejected

    return ImportRejected


def _megabytes(n):
    return f"{n / (1024 * 1024):,.1f} MB"


def _jsonable(value):
    """Round-trip through JSON so dates and decimals in importer summaries store cleanly."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def _run_summary(run):
    return {
        "kind": run.kind,
        "status": run.status,
        "trigger": run.trigger,
        "source_name": run.source_name,
        "size_bytes": run.size_bytes,
        "sha256": run.sha256,
        "rows_read": run.rows_read,
        "rows_accepted": run.rows_accepted,
        "rows_rejected": run.rows_rejected,
        "error_count": run.error_count,
    }


# --- Starting a run -------------------------------------------------------------------------------


def _hash_file(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _store_upload(uploaded_file, directory):
    """Copy an upload into `directory`, hashing it on the way. Returns (path, size, sha256)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = get_valid_filename(Path(uploaded_file.name).name) or "upload"
    target = directory / name
    digest = hashlib.sha256()
    size = 0
    with open(target, "wb") as out:
        for chunk in uploaded_file.chunks(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return target, size, digest.hexdigest()


def _refuse_too_big(run, size, by):
    limit = settings.IMPORT_MAX_BYTES
    message = (
        f"{run.source_name}: the file is {_megabytes(size)}, over the {_megabytes(limit)} limit "
        "for imports; nothing was imported."
    )
    now = timezone.now()
    run.status = Status.FAILED
    run.size_bytes = size
    run.errors = [message]
    run.error_count = 1
    run.progress_message = "Refused: file too large."
    run.started_at = run.finished_at = now
    run.save()
    audit.record(action="import.rejected", by=by, obj=run, after=_run_summary(run) | {"reason": message})
    return run


@transaction.atomic
def start_import(*, kind, path=None, uploaded_file=None, by, trigger, enqueue=True):
    """Record an import of `kind` from a file (a server `path` or an `uploaded_file`) and queue it.

    `by` is the person starting it (checked against the access policy) or None for the system
    (management commands, the schedule). Returns the `ImportRun`; a file over
    `settings.IMPORT_MAX_BYTES` gives a run that is already FAILED with a file-level reason.
    With `enqueue=False` the run is left QUEUED for the caller to `execute_run` itself (a
    management command running in the foreground).
    """
    if by is not None and not policy.has_permission(by, Permission.RUN_IMPORTS):
        raise PermissionError("You may not run data imports.")
    if kind not in _importers():
        raise ValueError(f"Unknown import kind {kind!r}; expected one of {sorted(_importers())}.")
    if (path is None) == (uploaded_file is None):
        raise ValueError("Give exactly one of path or uploaded_file.")

    actor = by if getattr(by, "is_authenticated", False) else None
    if path is not None:
        path = Path(path).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        source_name = path.name
    else:
        source_name = Path(uploaded_file.name).name or "upload"
    run = ImportRun.objects.create(
        kind=kind,
        status=Status.QUEUED,
        created_by=actor,
        trigger=trigger,
        source_name=source_name[:255],
        progress_message="Waiting for a worker.",
    )

    if path is not None:
        size = path.stat().st_size
        if size > settings.IMPORT_MAX_BYTES:
            return _refuse_too_big(run, size, by)
        size, sha256 = _hash_file(path)
        stored = path
    else:
        if uploaded_file.size is not None and uploaded_file.size > settings.IMPORT_MAX_BYTES:
            return _refuse_too_big(run, uploaded_file.size, by)
        directory = Path(settings.MEDIA_ROOT) / "imports" / str(run.pk)
        try:
            stored, size, sha256 = _store_upload(uploaded_file, directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        if size > settings.IMPORT_MAX_BYTES:
            shutil.rmtree(directory, ignore_errors=True)
            return _refuse_too_big(run, size, by)

    run.source_path = str(stored)[:500]
    run.size_bytes = size
    run.sha256 = sha256
    run.save(update_fields=["source_path", "size_bytes", "sha256"])
    audit.record(action="import.queued", by=by, obj=run, after=_run_summary(run))

    if enqueue:
        from inequalities.tasks import run_import

        run_id = run.pk
        transaction.on_commit(lambda: run_import.delay(run_id))
    return run


# --- Executing a run ------------------------------------------------------------------------------


class _Progress:
    """The progress callback handed to `Importer.parse`: throttled autocommitted UPDATEs that also
    beat the heartbeat. A new step (a changed message) is written at once unless the last write
    was under 0.1 s ago; repeats of one step at most every PROGRESS_EVERY_SECONDS. Raises
    RunAbandoned when the run is no longer RUNNING (it was marked stale)."""

    def __init__(self, run_id, *, low=0, high=100):
        self.run_id = run_id
        self.low, self.high = low, high
        self.last = float("-inf")
        self.last_message = None

    def __call__(self, pct, message=""):
        now = time.monotonic()
        since = now - self.last
        new_step = message != self.last_message
        if pct < 100 and since < (0.1 if new_step else PROGRESS_EVERY_SECONDS):
            return
        self.last, self.last_message = now, message
        scaled = self.low + (self.high - self.low) * max(0.0, min(float(pct), 100.0)) / 100
        _set_progress(self.run_id, int(scaled), message)


def _set_progress(run_id, pct, message):
    updated = ImportRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
        progress=max(0, min(int(pct), 100)),
        progress_message=str(message)[:200],
        heartbeat_at=timezone.now(),
    )
    if not updated:
        raise RunAbandoned(run_id)


def _hold_for_tests():
    if not settings.TESTING:
        return
    seconds = float(os.environ.get(HOLD_ENV) or 0)
    if seconds > 0:
        logger.warning("holding the import transaction open for %.1f s (%s)", seconds, HOLD_ENV)
        time.sleep(seconds)


def advisory_lock(name):
    """Inside a transaction, wait for and hold a named lock until it ends, so that writers of one
    kind never interleave across workers (PostgreSQL). SQLite serialises all writes anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"pcn_portal:{name}"])


def _finish(run_id, *, status, message, action, extra_audit=None, **fields):
    """Close a run outside the write transaction (rejected, failed, unchanged)."""
    now = timezone.now()
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run_id)
        if run.status != Status.RUNNING:
            return run
        for name, value in fields.items():
            setattr(run, name, value)
        run.status = status
        run.finished_at = now
        run.heartbeat_at = now
        run.progress_message = message[:200]
        if status != Status.FAILED:
            run.progress = 100
        run.save()
        audit.record(
            action=action,
            by=None,
            obj=run,
            after=_run_summary(run) | (extra_audit or {}),
        )
    return run


class _AlreadyLoaded(Exception):
    def __init__(self, previous):
        super().__init__(previous.pk)
        self.previous = previous


def _same_file_as_last_success(run):
    """The latest SUCCEEDED run of this kind, if it loaded this very file (same sha256).

    Only the latest counts: after A then B, importing A again is a real change back to A."""
    latest = (
        ImportRun.objects.filter(kind=run.kind, status=Status.SUCCEEDED)
        .exclude(pk=run.pk)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if run.sha256 and latest is not None and latest.sha256 == run.sha256:
        return latest
    return None


def _finish_unchanged(run_id, previous):
    when = timezone.localtime(previous.finished_at).strftime("%d %b %Y %H:%M")
    return _finish(
        run_id,
        status=Status.UNCHANGED,
        message=(
            f"Same file as the last successful import of this data, run {previous.pk} "
            f"({previous.source_name}, {when}); nothing changed."
        ),
        action="import.unchanged",
        summary={"same_as_run": previous.pk},
        extra_audit={"same_as_run": previous.pk},
    ).status


def execute_run(run_id, *, recompute_inline=False):
    """The body of the `run_import` task. Returns the run's final status.

    After a successful write the deprivation profiles are recomputed by a follow-on task, or in
    this process with `recompute_inline` (a management command in the foreground)."""
    started = ImportRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        progress=0,
        progress_message="Started.",
    )
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        logger.warning("import run %s no longer exists; skipping", run_id)
        return None
    if not started:
        # Delivered twice (acks_late after a lost worker) or already closed: nothing to do.
        logger.info("import run %s is %s, not queued; skipping", run_id, run.status)
        return run.status

    ImportRejected = _rejected_class()
    try:
        previous = _same_file_as_last_success(run)
        if previous is not None:
            return _finish_unchanged(run_id, previous)

        importer = _importers()[run.kind]
        parsed = importer.parse(
            run.source_path,
            source_name=run.source_name,
            progress=_Progress(run_id, low=0, high=PARSE_SHARE),
        )
        _set_progress(run_id, PARSE_SHARE, f"Validated {parsed.rows_read:,} rows; writing.")

        with transaction.atomic():
            run = ImportRun.objects.select_for_update().get(pk=run_id)
            if run.status != Status.RUNNING:
                raise RunAbandoned(run_id)
            advisory_lock(f"import:{run.kind}")
            # Checked again under the lock: the same file may have been loaded meanwhile.
            previous = _same_file_as_last_success(run)
            if previous is not None:
                raise _AlreadyLoaded(previous)
            summary = importer.write(parsed, run=run)
            # Organisations may have been rewritten in bulk (no model signals): signed-in users'
            # cached memberships name PCNs and their ICBs (inequalities.principal).
            principal.organisations_changed()
            _hold_for_tests()
            now = timezone.now()
            warnings = list(parsed.warnings or [])
            summary = _jsonable(dict(summary or {}))
            if len(warnings) > MAX_KEPT_WARNINGS:
                summary["warning_count"] = len(warnings)
            run.status = Status.SUCCEEDED
            run.layout = str(parsed.layout or "")[:64]
            run.rows_read = parsed.rows_read
            run.rows_accepted = parsed.rows_accepted
            run.rows_rejected = parsed.rows_rejected
            run.warnings = _jsonable([str(w) for w in warnings[:MAX_KEPT_WARNINGS]])
            run.summary = summary
            run.progress = 100
            run.progress_message = f"Imported {parsed.rows_accepted:,} rows."
            run.finished_at = run.heartbeat_at = now
            run.save()
            audit.record(action="import.succeeded", by=None, obj=run, after=_run_summary(run))
    except _AlreadyLoaded as exc:
        return _finish_unchanged(run_id, exc.previous)
    except RunAbandoned:
        run = ImportRun.objects.get(pk=run_id)
        logger.warning("import run %s abandoned: it is %s", run_id, run.status)
        return run.status
    except ImportRejected as exc:
        errors = [str(e) for e in (exc.errors or [])]
        count = max(int(getattr(exc, "error_count", 0) or 0), len(errors))
        rows_read = int(getattr(exc, "rows_read", 0) or 0)
        return _finish(
            run_id,
            status=Status.FAILED,
            message=f"Rejected with {count:,} problem{'s' if count != 1 else ''}; nothing was changed.",
            action="import.rejected",
            errors=errors[:MAX_KEPT_ERRORS],
            error_count=count,
            layout=str(getattr(exc, "layout", "") or "")[:64],
            rows_read=rows_read,
            rows_rejected=rows_read,
        ).status
    except Exception as exc:
        logger.exception("import run %s failed", run_id)
        message = f"{run.source_name}: import failed: {type(exc).__name__}: {exc}"
        return _finish(
            run_id,
            status=Status.FAILED,
            message="Failed; nothing was changed.",
            action="import.failed",
            errors=[message[:1000]],
            error_count=1,
        ).status

    from inequalities.tasks import recompute_profiles_task

    if recompute_inline:
        recompute_profiles_task(run_id)
    else:
        transaction.on_commit(lambda: recompute_profiles_task.delay(run_id))
    return Status.SUCCEEDED


# --- Stale runs -----------------------------------------------------------------------------------


def mark_stale_runs():
    """Mark RUNNING runs whose heartbeat is older than IMPORT_STALE_AFTER_SECONDS as FAILED.

    Their worker died (killed, out of memory, machine restarted): its write transaction never
    committed, so the previous data is still in place. Returns the number of runs marked."""
    cutoff = timezone.now() - timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)
    stale_ids = list(
        ImportRun.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    marked = 0
    for run_id in stale_ids:
        with transaction.atomic():
            # A run whose write transaction is still open holds its row lock: its worker is alive
            # (or PostgreSQL has not yet noticed it died). Skip it; the next check will see.
            run = ImportRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
            if run is None or run.status != Status.RUNNING or run.heartbeat_at >= cutoff:
                continue
            before = _run_summary(run) | {"heartbeat_at": run.heartbeat_at.isoformat()}
            now = timezone.now()
            run.status = Status.FAILED
            run.finished_at = now
            run.progress_message = STALE_MESSAGE
            run.errors = [*run.errors, f"{run.source_name}: {STALE_MESSAGE}"][:MAX_KEPT_ERRORS]
            run.error_count = run.error_count + 1
            run.save()
            audit.record(action="import.stale", by=None, obj=run, before=before, after=_run_summary(run))
            marked += 1
    return marked


# --- The drop folder ------------------------------------------------------------------------------

# A file must have been left alone this long before the schedule picks it up, so a copy still in
# progress is not imported half-written.
DROP_SETTLE_SECONDS = 60


def scan_drop_folder(*, now=None):
    """Start a run (trigger "schedule") for each settled file in IMPORT_DROP_DIR/<kind>/.

    Each file is first moved to IMPORT_DROP_DIR/<kind>/processed/<timestamp>-<name>, so it is
    picked up once; dropping the same file again gives an UNCHANGED run. Returns the runs started.
    """
    root = Path(settings.IMPORT_DROP_DIR)
    now = time.time() if now is None else now
    stamp = timezone.localtime().strftime("%Y%m%dT%H%M%S")
    runs = []
    for kind in sorted(_importers()):
        folder = root / kind
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if (
                not entry.is_file()
                or entry.name.startswith(".")
                or entry.suffix in {".part", ".tmp", ".partial"}
                or now - entry.stat().st_mtime < DROP_SETTLE_SECONDS
            ):
                continue
            processed = folder / "processed"
            processed.mkdir(exist_ok=True)
            target = processed / f"{stamp}-{entry.name}"
            entry.rename(target)
            try:
                runs.append(start_import(kind=kind, path=target, by=None, trigger="schedule"))
            except Exception:
                logger.exception("could not start an import of %s", target)
    return runs
