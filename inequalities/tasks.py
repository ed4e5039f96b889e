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
def recompute_profiles_task():
    """Recompute every deprivation profile from the current IMD editions and registrations."""
    from inequalities.profiles import recompute_profiles

    count = recompute_profiles()
    audit.record(action="profiles.recomputed", label=f"{count} profiles", after={"profiles": count})
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
