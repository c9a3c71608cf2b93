"""Writes of webhooks: register, switch on and off, delete, ping; emit an event; deliver it.

``webhook_emit`` is the one entry point for the rest of the code: it writes one delivery per
active webhook of the organization subscribed to the event and, once the transaction commits,
sends each to a worker (``webhooks.deliver``). ``webhook_delivery_attempt`` is one attempt: it
claims the attempt by a conditional UPDATE on the attempt's number (a message delivered twice,
or a stale copy of an earlier attempt, does nothing), posts, records the answer and either
finishes the delivery or schedules the next attempt after ``BACKOFF_S``.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from apps.accounts.models import Membership, Organization, User
from apps.common.errors import ApplicationError
from apps.common.health import broker_status_forget
from apps.webhooks import sending
from apps.webhooks.models import SUBSCRIBABLE, Event, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

# Seconds to wait before attempt 2, 3, … after a failed one: 30 s, 2 min, 8 min, 30 min, 2 h
# (each about four times the last, so a receiver down for a deploy gets the event within a
# minute and one down for an afternoon still gets it). After the last, the delivery fails.
BACKOFF_S = (30, 120, 480, 1800, 7200)
MAX_ATTEMPTS = len(BACKOFF_S) + 1
# A delivery overdue by this much has lost its message (broker down when it was published, a
# worker killed mid-attempt): the sweeper sends it again. Beat runs the sweeper every minute.
SWEEP_GRACE_S = 120
SECRET_PREFIX = "whsec_"

Schedule = Callable[..., bool]


class WebhookDenied(ApplicationError):
    """The user may not manage this organization's webhooks (views answer 403)."""


# ---- registering ------------------------------------------------------------------------------

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def webhook_url_refusal(url: str) -> str | None:
    """Why ``url`` may not receive webhooks, or None. Checks the scheme and the host as written:
    https only; http:// and local hosts (``localhost``, 127.0.0.1, ::1) only while ``DEBUG`` or
    ``WEBHOOK_ALLOW_HTTP`` is on; an IP address that is not public (private, loopback,
    link-local, reserved) never otherwise. A host *name* is not resolved here (it may change):
    each delivery checks the address it actually connected to (``sending._check_peer``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  a port that is not a number raises ValueError
    except ValueError:
        return _("Enter a valid URL.")
    if not host or parts.scheme not in ("http", "https"):
        return _("Use an https:// URL.")
    if parts.username is not None or parts.password is not None:
        return _("Leave the user name and password out of the URL: the signature authenticates.")
    local_allowed = settings.DEBUG or settings.WEBHOOK_ALLOW_HTTP
    if host in LOCAL_HOSTS and local_allowed:
        return None
    if parts.scheme == "http":
        return _("Use an https:// URL (http:// only to localhost, when the server allows it).")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost") or (address and not address.is_global):
        return _("Use a public address: local and private addresses cannot receive webhooks.")
    return None


def _require_owner(user: User, organization: Organization) -> None:
    if not Membership.objects.filter(
        user=user, organization=organization, role=Membership.Role.OWNER
    ).exists():
        raise WebhookDenied(_("Only an owner of the organization manages its webhooks."))


def webhook_create(
    *, user: User, organization: Organization, url: str, events: list[str]
) -> Webhook:
    """Register a webhook with a new secret (``webhook.secret``, for the page to show once)."""
    _require_owner(user, organization)
    url = url.strip()
    if refusal := webhook_url_refusal(url):
        raise ApplicationError(refusal, {"field": "url"})
    chosen = [e for e in SUBSCRIBABLE if e in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise ApplicationError(_("Choose at least one event."), {"field": "events"})
    return Webhook.objects.create(
        organization=organization,
        url=url,
        secret=SECRET_PREFIX + secrets.token_urlsafe(32),
        events=[str(e) for e in chosen],
        created_by=user,
    )


def webhook_active_set(*, user: User, webhook: Webhook, active: bool) -> Webhook:
    """Switch a webhook on or off. Off, it receives no new event, and its pending deliveries
    fail at their next attempt instead of being posted."""
    _require_owner(user, webhook.organization)
    Webhook.objects.filter(pk=webhook.pk).update(active=active, updated_at=timezone.now())
    webhook.active = active
    return webhook


def webhook_delete(*, user: User, webhook: Webhook) -> None:
    """Delete a webhook and its delivery log (a queued attempt then finds nothing to do)."""
    _require_owner(user, webhook.organization)
    webhook.delete()


def webhook_ping(*, user: User, webhook: Webhook) -> WebhookDelivery:
    """A test event to this one webhook, retried like any other, visible in its log."""
    _require_owner(user, webhook.organization)
    if not webhook.active:
        raise ApplicationError(_("Switch the webhook on before sending it a test."))
    data = {"message": "Test event from llmplanner.", "webhook": webhook.pk}
    return _deliveries_create(webhooks=[webhook], event=Event.PING, payload=data)[0]


# ---- emitting and delivering ------------------------------------------------------------------


def webhook_emit(
    *, organization: Organization, event: str, payload: dict[str, Any]
) -> list[WebhookDelivery]:
    """Queue ``event`` with ``payload`` (JSON; dates and decimals become strings) for every
    active webhook of ``organization`` subscribed to it; each is sent to a worker once the
    current transaction commits (at once outside one). Returns the new deliveries."""
    if event not in SUBSCRIBABLE:
        raise ApplicationError(f"Unknown webhook event {event!r}.")
    # Filtered here, not in SQL: JSON "contains" is not available on SQLite, and an
    # organization has a handful of webhooks.
    webhooks = [
        w
        for w in Webhook.objects.filter(organization=organization, active=True)
        if event in w.events
    ]
    return _deliveries_create(webhooks=webhooks, event=event, payload=payload)


def _deliveries_create(
    *, webhooks: list[Webhook], event: str, payload: dict[str, Any]
) -> list[WebhookDelivery]:
    now = timezone.now()
    deliveries = [
        WebhookDelivery.objects.create(webhook=w, event=event, payload=payload, next_attempt_at=now)
        for w in webhooks
    ]
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: webhook_delivery_send(delivery_id=pk))
    return deliveries


def webhook_delivery_send(*, delivery_id: int, attempt: int = 1, countdown: int = 0) -> bool:
    """Publish ``attempt`` of a delivery, ``countdown`` seconds from now; False, the row left
    pending for the sweeper, when the broker is down. Never raises for that."""
    from apps.webhooks.tasks import deliver  # tasks import services; avoid the cycle

    try:
        deliver.apply_async((delivery_id, attempt), countdown=countdown)
    except (KombuError, OSError) as exc:
        logger.warning("webhook delivery %s not sent, broker unreachable: %s", delivery_id, exc)
        broker_status_forget()
        return False
    return True


def webhook_delivery_attempt(
    *, delivery_id: int, attempt: int, schedule: Schedule = webhook_delivery_send
) -> WebhookDelivery | None:
    """Make attempt number ``attempt`` (1-based) of a delivery, if it is still that attempt's
    turn; None when it is not (delivered, failed, deleted, or this attempt already claimed).
    A failure with attempts left stores ``next_attempt_at`` and calls ``schedule(delivery_id=,
    attempt=, countdown=)`` for the next one; the last failure marks the delivery failed."""
    now = timezone.now()
    lease = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, attempts=attempt - 1
    ).update(attempts=attempt, next_attempt_at=now + lease, updated_at=now)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook__organization").get(pk=delivery_id)
    webhook = delivery.webhook
    # Checked at every attempt: a webhook switched off, or an http:// URL registered while the
    # server allowed it and no longer does, gets nothing more.
    refusal = "webhook switched off" if not webhook.active else webhook_url_refusal(webhook.url)
    if refusal:
        return _finish(delivery, WebhookDelivery.Status.FAILED, None, refusal, None)
    body = sending.envelope_body(
        event=delivery.event,
        delivery_id=delivery.pk,
        created_at=delivery.created_at.isoformat(),
        organization=webhook.organization.slug,
        data=delivery.payload,
    )
    headers = sending.signed_headers(
        secret=webhook.secret, event=delivery.event, delivery_id=delivery.pk, body=body
    )
    outcome = sending.post(url=webhook.url, body=body, headers=headers)
    if outcome.delivered:
        return _finish(delivery, WebhookDelivery.Status.DELIVERED, *_answer(outcome))
    if attempt >= MAX_ATTEMPTS:
        return _finish(delivery, WebhookDelivery.Status.FAILED, *_answer(outcome))
    countdown = BACKOFF_S[attempt - 1]
    _record(
        delivery, *_answer(outcome), next_attempt_at=timezone.now() + timedelta(seconds=countdown)
    )
    schedule(delivery_id=delivery.pk, attempt=attempt + 1, countdown=countdown)
    return delivery


def _answer(outcome: sending.Outcome) -> tuple[int | None, str, int]:
    return outcome.status_code, outcome.error, outcome.duration_ms


def _record(
    delivery: WebhookDelivery,
    status_code: int | None,
    error: str,
    duration_ms: int | None,
    **fields: Any,
) -> WebhookDelivery:
    values = {
        "last_status_code": status_code,
        "last_error": error[:200],
        "duration_ms": duration_ms,
        "updated_at": timezone.now(),
        **fields,
    }
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**values)
    for name, value in values.items():
        setattr(delivery, name, value)
    return delivery


def _finish(
    delivery: WebhookDelivery,
    status: str,
    status_code: int | None,
    error: str,
    duration_ms: int | None,
) -> WebhookDelivery:
    delivered = status == WebhookDelivery.Status.DELIVERED
    return _record(
        delivery,
        status_code,
        error,
        duration_ms,
        status=status,
        next_attempt_at=None,
        delivered_at=timezone.now() if delivered else None,
    )


def webhook_deliveries_sweep(
    *, now: datetime | None = None, schedule: Schedule = webhook_delivery_send
) -> dict[str, int]:
    """Periodic (beat): no delivery stays pending forever. One overdue by ``SWEEP_GRACE_S`` (its
    message was never published, or its worker died mid-attempt) gets its next attempt sent, or
    fails when it has none left. A resent attempt that races the original is claimed once."""
    now = now or timezone.now()
    overdue = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lt=now - timedelta(seconds=SWEEP_GRACE_S),
    )
    counts = {"resent": 0, "failed": 0}
    for delivery in overdue.order_by("next_attempt_at")[:500]:
        still = WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status=WebhookDelivery.Status.PENDING,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
        )
        if delivery.attempts >= MAX_ATTEMPTS:
            counts["failed"] += still.update(
                status=WebhookDelivery.Status.FAILED,
                next_attempt_at=None,
                last_error="no answer recorded for the last attempt (worker lost)",
                updated_at=now,
            )
        elif still.update(next_attempt_at=now, updated_at=now):  # swept again only after grace
            if schedule(delivery_id=delivery.pk, attempt=delivery.attempts + 1, countdown=0):
                counts["resent"] += 1
    return counts
