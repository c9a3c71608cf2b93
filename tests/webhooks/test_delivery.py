"""One attempt after another against a real HTTP server on 127.0.0.1: the signature a
receiver checks by the README's recipe, the backoff between attempts, the end of retries, and
idempotency when a task runs twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.webhooks import sending
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import (
    BACKOFF_S,
    MAX_ATTEMPTS,
    webhook_delivery_attempt,
    webhook_emit,
)
from apps.webhooks.tasks import deliver
from tests.webhooks.factories import WebhookFactory
from tests.webhooks.receiver import receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_receivers_allowed")]


def readme_recipe() -> dict:
    """The verification recipe exactly as README's "Webhooks" section prints it, executed."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README's Webhooks section has no Python recipe"
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102  our own README
    return namespace


def emit_one(webhook, payload=None) -> WebhookDelivery:
    deliveries = webhook_emit(
        organization=webhook.organization, event="forecast.alert", payload=payload or {"p": 1}
    )
    assert len(deliveries) == 1
    return deliveries[0]


def run_until_done(delivery, scheduled, limit=MAX_ATTEMPTS + 2):
    """Attempt 1, then each attempt the service scheduled, as a worker would when the
    countdowns elapse."""
    webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
    done = 0
    while done < len(scheduled.calls) and done < limit:
        call = scheduled.calls[done]
        webhook_delivery_attempt(
            delivery_id=call["delivery_id"], attempt=call["attempt"], schedule=scheduled
        )
        done += 1
    delivery.refresh_from_db()
    return delivery


def test_a_receiver_verifies_the_signature_by_the_readme_recipe():
    verify = readme_recipe()["verify"]
    with receiver(200) as server:
        webhook = WebhookFactory(url=server.url, secret="whsec_known")
        payload = {"program": "Falcon", "p_miss_deadline": Decimal("0.31"), "note": "预算 ✓"}
        delivery = emit_one(webhook, payload)
        before = int(time.time())
        deliver(delivery.pk)  # the task, in this process
    assert len(server.requests) == 1
    got = server.requests[0]
    headers = got.headers
    assert got.path == "/hooks/llmplanner"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Llmplanner-Event"] == "forecast.alert"
    assert headers["X-Llmplanner-Delivery"] == str(delivery.pk)
    assert before <= int(headers["X-Llmplanner-Timestamp"]) <= int(time.time())
    # The HMAC computed here from the raw bytes the server received.
    expected = hmac.new(
        b"whsec_known",
        headers["X-Llmplanner-Timestamp"].encode() + b"." + got.body,
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-Llmplanner-Signature"] == f"sha256={expected}"
    assert verify("whsec_known", headers, got.body) is True
    # A changed body, another secret or an old timestamp fail the recipe.
    assert verify("whsec_known", headers, got.body.replace(b"0.31", b"0.01")) is False
    assert verify("whsec_other", headers, got.body) is False
    stale = {**headers, "X-Llmplanner-Timestamp": str(int(time.time()) - 3600)}
    assert verify("whsec_known", stale, got.body) is False
    body = json.loads(got.body)
    delivery.refresh_from_db()
    assert body == {
        "event": "forecast.alert",
        "id": delivery.pk,
        "created_at": delivery.created_at.isoformat(),
        "organization": webhook.organization.slug,
        "data": {"program": "Falcon", "p_miss_deadline": "0.31", "note": "预算 ✓"},
    }
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert delivery.duration_ms is not None and delivery.last_error == ""


def test_it_retries_after_the_backoff_until_the_receiver_answers_2xx(scheduled):
    with receiver(500, 503, 204) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        started = timezone.now()
        delivery = run_until_done(delivery, scheduled)
    assert len(server.requests) == 3
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 3 and delivery.last_status_code == 204
    assert [c["countdown"] for c in scheduled.calls] == [30, 120] == list(BACKOFF_S[:2])
    assert [c["attempt"] for c in scheduled.calls] == [2, 3]
    for call in scheduled.calls:  # the row says when it is due, as the countdown does
        wait = (call["due"] - started).total_seconds()
        assert call["countdown"] <= wait <= call["countdown"] + 5, (call, wait)
    # Every attempt posts the same body (same id) with its own signature.
    assert len({r.body for r in server.requests}) == 1
    assert {r.headers["X-Llmplanner-Delivery"] for r in server.requests} == {str(delivery.pk)}


def test_it_stops_after_the_last_attempt_and_marks_the_delivery_failed(scheduled):
    with receiver(500) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        delivery = run_until_done(delivery, scheduled)
        assert len(server.requests) == MAX_ATTEMPTS == 6
        assert [c["countdown"] for c in scheduled.calls] == list(BACKOFF_S)
        assert [c["attempt"] for c in scheduled.calls] == list(range(2, MAX_ATTEMPTS + 1))
        assert delivery.status == WebhookDelivery.Status.FAILED
        assert delivery.attempts == MAX_ATTEMPTS and delivery.next_attempt_at is None
        assert delivery.last_status_code == 500 and "500" in delivery.last_error
        # Nothing more is scheduled, and a stray message of any attempt sends nothing.
        for attempt in range(1, MAX_ATTEMPTS + 2):
            assert deliver(delivery.pk, attempt) is None
        assert len(server.requests) == MAX_ATTEMPTS
    assert len(scheduled.calls) == MAX_ATTEMPTS - 1


def test_a_delivered_delivery_is_not_sent_again_when_its_task_runs_again(scheduled):
    with receiver(200) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        deliver(delivery.pk)
        delivery.refresh_from_db()
        row = WebhookDelivery.objects.filter(pk=delivery.pk).values().get()
        deliver(delivery.pk)  # the same message delivered twice (late acknowledgement)
        deliver(delivery.pk, 2)  # or a later attempt's
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
    assert len(server.requests) == 1
    assert WebhookDelivery.objects.filter(pk=delivery.pk).values().get() == row
    assert row["status"] == WebhookDelivery.Status.DELIVERED and scheduled.calls == []


def test_a_stale_copy_of_an_attempt_does_nothing_while_the_retry_waits(scheduled):
    with receiver(500, 200) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
        assert (
            webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled) is None
        )
        assert len(server.requests) == 1 and len(scheduled.calls) == 1
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=2, schedule=scheduled)
    delivery.refresh_from_db()
    assert len(server.requests) == 2 and delivery.status == WebhookDelivery.Status.DELIVERED


def test_an_unreachable_receiver_is_recorded_and_retried(scheduled):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = emit_one(WebhookFactory(url=f"http://127.0.0.1:{port}/hooks"))
    webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "refused" in delivery.last_error.lower()
    assert [c["countdown"] for c in scheduled.calls] == [BACKOFF_S[0]]


def test_a_redirect_is_a_failure_and_is_not_followed(scheduled):
    with receiver(302) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
    delivery.refresh_from_db()
    assert len(server.requests) == 1
    assert delivery.last_status_code == 302 and delivery.status == WebhookDelivery.Status.PENDING
    assert len(scheduled.calls) == 1


def test_a_non_ascii_path_is_sent_percent_encoded():
    with receiver(200) as server:
        delivery = emit_one(WebhookFactory(url=server.url + "/预算?team=财务"))
        deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED, delivery.last_error
    assert server.requests[0].path == "/hooks/llmplanner/%E9%A2%84%E7%AE%97?team=%E8%B4%A2%E5%8A%A1"


def test_a_receiver_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        outcome = sending.post(url=url, body=b"{}", headers={}, timeout_s=0.3)
    assert outcome.status_code is None and not outcome.delivered
    assert "0.3 s" in outcome.error or "timed out" in outcome.error
    assert 250 <= outcome.duration_ms < 5000


def test_a_switched_off_webhook_gets_no_more_attempts(scheduled):
    with receiver(500) as server:
        webhook = WebhookFactory(url=server.url)
        delivery = emit_one(webhook)
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
        webhook.active = False
        webhook.save()
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=2, schedule=scheduled)
    delivery.refresh_from_db()
    assert len(server.requests) == 1 and len(scheduled.calls) == 1
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error == "webhook switched off"


def test_an_http_url_the_server_no_longer_allows_gets_nothing(settings, scheduled):
    with receiver(200) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        settings.WEBHOOK_ALLOW_HTTP = False
        settings.DEBUG = False
        webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1, schedule=scheduled)
    delivery.refresh_from_db()
    assert server.requests == [] and delivery.status == WebhookDelivery.Status.FAILED
    assert "https" in delivery.last_error


def test_a_deleted_webhooks_queued_attempt_does_nothing():
    with receiver(200) as server:
        delivery = emit_one(WebhookFactory(url=server.url))
        delivery.webhook.delete()
        assert deliver(delivery.pk) is None
    assert server.requests == []


def test_the_sweeper_resends_lost_messages_and_fails_those_out_of_attempts(scheduled):
    from apps.webhooks.services import SWEEP_GRACE_S, webhook_deliveries_sweep

    now = timezone.now()
    long_ago = now - timedelta(seconds=SWEEP_GRACE_S + 1)
    webhook = WebhookFactory()
    never_sent = emit_one(webhook)
    lost_retry = emit_one(webhook)
    worker_lost = emit_one(webhook)
    waiting = emit_one(webhook)
    WebhookDelivery.objects.filter(pk__in=[never_sent.pk]).update(next_attempt_at=long_ago)
    WebhookDelivery.objects.filter(pk=lost_retry.pk).update(attempts=2, next_attempt_at=long_ago)
    WebhookDelivery.objects.filter(pk=worker_lost.pk).update(
        attempts=MAX_ATTEMPTS, next_attempt_at=long_ago
    )
    WebhookDelivery.objects.filter(pk=waiting.pk).update(
        attempts=1, next_attempt_at=now + timedelta(seconds=30)
    )

    assert webhook_deliveries_sweep(now=now, schedule=scheduled) == {"resent": 2, "failed": 1}
    sent = {(c["delivery_id"], c["attempt"], c["countdown"]) for c in scheduled.calls}
    assert sent == {(never_sent.pk, 1, 0), (lost_retry.pk, 3, 0)}
    worker_lost.refresh_from_db()
    assert worker_lost.status == WebhookDelivery.Status.FAILED
    assert "worker lost" in worker_lost.last_error
    # Resent ones wait another grace period before the sweeper looks at them again.
    assert webhook_deliveries_sweep(now=now, schedule=scheduled) == {"resent": 0, "failed": 0}
    assert len(scheduled.calls) == 2


def test_a_name_that_leads_to_an_internal_address_gets_nothing(settings):
    # The stored URL passed the check as written (a name is not resolved then); at sending, the
    # connection's peer is checked: a name that resolves to an internal address — here
    # "localhost", which resolves to loopback, with local receivers not allowed — gets nothing.
    with receiver(200) as server:
        settings.WEBHOOK_ALLOW_HTTP = False
        settings.DEBUG = False
        url = server.url.replace("127.0.0.1", "localhost")
        outcome = sending.post(url=url, body=b"{}", headers={"Content-Type": "application/json"})
        settings.WEBHOOK_ALLOW_HTTP = True
        allowed = sending.post(url=url, body=b"{}", headers={"Content-Type": "application/json"})
    assert outcome.status_code is None and "not a public address" in outcome.error
    assert "nothing was sent" in outcome.error
    assert allowed.status_code == 200 and len(server.requests) == 1
