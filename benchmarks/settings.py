"""Settings for the page benchmark: production settings (DEBUG off, hashed and compressed static
files collected under var/bench/ by the benchmark, served by WhiteNoise), except that tasks run
in the benchmark's own process — no worker is running."""

from pcn_portal.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True
