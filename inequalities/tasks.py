"""Background jobs of the inequalities app. Each is a thin wrapper around a plain function."""

from celery import shared_task

from inequalities import audit


@shared_task(name="inequalities.ping")
def ping(note):
    """A round-trip check: the worker writes an audit event, so a test (or an operator) can see
    that a task sent through the broker ran against the shared database."""
    event = audit.record(action="worker.ping", label=note[:300])
    return event.pk


@shared_task(name="inequalities.run_import")
def run_import(run_id):
    """Execute one queued import run (see `inequalities.imports.execute_run`)."""
    from inequalities.imports import execute_run

    return execute_run(run_id)


@shared_task(name="inequalities.recompute_profiles")
def recompute_profiles_task(run_id=None):
    """Recompute deprivation profiles after an import: only those of the IMD edition or the
    registration snapshot the run loaded when its summary names one, otherwise all of them."""
    from django.db import transaction

    from inequalities.imports import advisory_lock
    from inequalities.models import ImdEdition, ImportRun, RegistrationSnapshot
    from inequalities.profiles import recompute_profiles

    scope, label = {}, "all"
    run = ImportRun.objects.filter(pk=run_id).first() if run_id else None
    if run is not None:
        summary = run.summary or {}
        if run.kind == ImportRun.Kind.REGISTRATIONS and summary.get("snapshot_id"):
            snapshot = RegistrationSnapshot.objects.filter(pk=summary["snapshot_id"]).first()
            if snapshot is not None:
                scope, label = {"snapshot": snapshot}, str(snapshot)
        elif run.kind == ImportRun.Kind.IMD and summary.get("edition"):
            edition = ImdEdition.objects.filter(year=summary["edition"]).first()
            if edition is not None:
                scope, label = {"edition": edition}, str(edition)
    with transaction.atomic():
        advisory_lock("profiles")  # one recompute at a time: each replaces whole profile sets
        count = recompute_profiles(**scope)
        audit.record(
            action="profiles.recomputed",
            obj=run,
            label=f"{count} profiles ({label})",
            after={"profiles": count, "scope": label, "import_run": run_id},
        )
    return count


@shared_task(name="inequalities.scan_drop_folder")
def scan_drop_folder():
    """Start an import for each new file dropped in IMPORT_DROP_DIR/<kind>/ (celery beat)."""
    from inequalities.imports import scan_drop_folder as scan

    return [run.pk for run in scan()]


@shared_task(name="inequalities.mark_stale_runs")
def mark_stale_runs_task():
    """Fail RUNNING imports whose worker stopped beating (celery beat)."""
    from inequalities.imports import mark_stale_runs

    return mark_stale_runs()
