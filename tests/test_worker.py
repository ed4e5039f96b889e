"""A task sent through Redis is executed by a real Celery worker process, and its result is
visible in the shared database."""

import time

import pytest

from inequalities.models import AuditEvent
from inequalities.tasks import ping


@pytest.mark.worker
def test_task_sent_through_redis_runs_in_the_worker(celery_worker_process):
    result = ping.delay("hello from the test process")
    assert result.id
    deadline = time.time() + 30
    while time.time() < deadline:
        event = AuditEvent.objects.filter(action="worker.ping").first()
        if event:
            break
        time.sleep(0.2)
    assert event is not None, "the worker did not run the task"
    assert event.object_label == "hello from the test process"
    assert event.actor_label == "system"


def test_tasks_run_eagerly_without_redis(db, settings):
    if settings.REDIS_URL:
        pytest.skip("eager mode is the embedded default; REDIS_URL is set here")
    ping.delay("eager")
    assert AuditEvent.objects.filter(action="worker.ping", object_label="eager").exists()
