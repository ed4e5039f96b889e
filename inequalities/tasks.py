"""Background jobs of the inequalities app. Each is a thin wrapper around a plain function."""

from celery import shared_task

from inequalities import audit


@shared_task(name="inequalities.ping")
def ping(note):
    """A round-trip check: the worker writes an audit event, so a test (or an operator) can see
    that a task sent through the broker ran against the shared database."""
    event = audit.record(action="worker.ping", label=note[:300])
    return event.pk
