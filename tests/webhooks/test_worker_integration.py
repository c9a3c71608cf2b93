"""A real Celery worker process on the configured broker and the test database delivers an
event to a real HTTP server: published on commit, the first attempt refused with a 500, the
second sent by the worker after the backoff's countdown, and the delivery recorded."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import BACKOFF_S, webhook_emit
from tests.accounts.factories import MembershipFactory
from tests.runs.worker_process import database_url_of_test_db, running_worker, wait_for
from tests.webhooks.factories import WebhookFactory
from tests.webhooks.receiver import receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        database_url = database_url_of_test_db()
    env = {"WEBHOOK_ALLOW_HTTP": "true"}  # the receiver is http://127.0.0.1
    with running_worker(database_url, tmp_path_factory.mktemp("worker"), env=env) as process:
        yield process


@pytest.mark.timeout(120)
def test_a_worker_retries_after_the_countdown_and_delivers(worker, settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    membership = MembershipFactory(role="owner")
    with receiver(500, 200) as server:
        webhook = WebhookFactory(organization=membership.organization, url=server.url)
        with transaction.atomic():
            (delivery,) = webhook_emit(
                organization=membership.organization,
                event="baseline.approved",
                payload={"scenario": 7},
            )
        deadline_s = BACKOFF_S[0] + 40
        assert wait_for(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status != "pending", deadline_s
        ), f"still pending; worker log:\n{worker.log_path.read_text()[-3000:]}"
        times = [r.headers["X-Llmplanner-Timestamp"] for r in server.requests]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED, delivery.last_error
    assert delivery.attempts == 2 and delivery.last_status_code == 200
    assert len(server.requests) == 2
    assert int(times[1]) - int(times[0]) >= BACKOFF_S[0] - 1  # the countdown held it back
    assert webhook.deliveries.get() == delivery
