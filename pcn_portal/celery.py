"""The Celery app. With REDIS_URL set, tasks go through Redis to a worker; without it they run
eagerly in the calling process (settings.CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcn_portal.settings")

app = Celery("pcn_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
