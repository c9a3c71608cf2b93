from unittest import mock

import pytest


@pytest.fixture
def delay():
    """The demo task's enqueue, replaced: unit tests check what would be sent, not a worker."""
    with mock.patch("apps.runs.tasks.demo_job_run.delay") as delay:
        yield delay
