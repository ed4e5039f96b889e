"""Settings for the page benchmark: production settings (DEBUG off), except static files are
referenced without a collected manifest — pages link to static files; the benchmark never serves
them, and `collectstatic` with the manifest storage currently stops on the source-map reference
in the vendored nhsuk-frontend CSS."""

from pcn_portal.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The benchmark computes aggregates in its own process; no worker is running.
CELERY_TASK_ALWAYS_EAGER = True
