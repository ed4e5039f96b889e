"""Background jobs of the dashboards app: thin wrappers around `dashboards.refresh`."""

from celery import shared_task

from inequalities import audit


@shared_task(name="dashboards.refresh_aggregates")
def refresh_aggregates_task(reason=""):
    """Recompute every dashboard aggregate set (set-based; a few seconds for England)."""
    from dashboards.refresh import refresh_aggregates

    sets = refresh_aggregates()
    if not sets:
        return []
    audit.record(
        action="dashboards.refreshed",
        label=f"{len(sets)} aggregate sets ({reason or 'requested'})"[:300],
        after={"sets": [s.pk for s in sets], "reason": reason},
    )
    return [s.pk for s in sets]
