"""The Celery app. With REDIS_URL set, tasks go through Redis to a worker; without it they run
eagerly in the calling process (settings.CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcn_portal.settings")

app = Celery("pcn_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# celery beat (`celery -A pcn_portal beat`, or `worker --beat` for one process): pick up files
# dropped in IMPORT_DROP_DIR/<kind>/ and fail imports whose worker died.
app.conf.beat_schedule = {
    "scan-import-drop-folder": {
        "task": "inequalities.scan_drop_folder",
        "schedule": 5 * 60.0,
    },
    "mark-stale-import-runs": {
        "task": "inequalities.mark_stale_runs",
        "schedule": 60.0,
    },
}
