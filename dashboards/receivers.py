"""When to refresh the dashboard aggregates — connected here, so nothing imports dashboards.

Every state change in the portal writes an audit event (`inequalities.audit.record`). The
dashboards listen for the events whose changes their figures show: deprivation profiles
recomputed after an import; plans, measures and measurements; HI lead nominations and
memberships; priority-target returns; organisations edited in the admin. One refresh is queued
per transaction, after it commits (`transaction.on_commit`), so a bulk upload of measurements
queues one job, not one per row, and a rolled-back change queues none.
"""

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from dashboards.models import AggregateSet
from dashboards.refresh import AGGREGATES
from inequalities.models import AuditEvent
from pcn_portal import versioned_cache

TRIGGERS = (
    "profiles.recomputed",
    "plan.",
    "measure.",
    "measurement.",
    "hi_lead.",
    "priority_targets.",
    "membership.",
    "admin.membership.",
    "admin.pcn.",
    "admin.practice",
    "admin.icb.",
    "admin.region.",
    "admin.subicb.",
)


def queue_refresh(reason):
    """Queue one refresh after the current transaction commits (at once outside a transaction).
    Within a transaction, a refresh already waiting for its commit takes the reason instead."""
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:
            reasons = getattr(entry[1], "dashboards_reasons", None)
            if reasons is not None:
                reasons.add(reason)
                return
    reasons = {reason}

    def send():
        from dashboards.tasks import refresh_aggregates_task

        refresh_aggregates_task.delay(", ".join(sorted(reasons)))

    send.dashboards_reasons = reasons
    transaction.on_commit(send)


@receiver(post_save, sender=AuditEvent, dispatch_uid="dashboards.audit_trigger")
def audit_trigger(sender, instance, created, **kwargs):
    if created and instance.action.startswith(TRIGGERS):
        queue_refresh(instance.action)


@receiver(post_save, sender=AggregateSet, dispatch_uid="dashboards.aggregates_saved")
@receiver(post_delete, sender=AggregateSet, dispatch_uid="dashboards.aggregates_deleted")
def aggregates_changed(sender, instance, **kwargs):
    """Cached pages and the current set were built from the previous aggregates."""
    versioned_cache.bump(AGGREGATES)
