"""Webhooks of an organization and the log of what was posted to them.

A webhook is a URL an owner registers with the events it wants; each event it is subscribed to
becomes one ``WebhookDelivery`` row, posted by a worker (``apps.webhooks.tasks``) and retried
with backoff until it is delivered or runs out of attempts. The row is the delivery's record:
status, attempts, the last answer, when it is due again.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy, pgettext_lazy

from apps.common.models import BaseModel


class Event(models.TextChoices):
    """What a webhook can subscribe to, plus ``ping``: the test an owner sends by hand, which
    goes to one webhook whatever it subscribed to."""

    FORECAST_ALERT = "forecast.alert", gettext_lazy("Forecast alert")
    BASELINE_APPROVED = "baseline.approved", gettext_lazy("Baseline approved")
    PING = "ping", gettext_lazy("Test (ping)")


SUBSCRIBABLE = (Event.FORECAST_ALERT, Event.BASELINE_APPROVED)


class Webhook(BaseModel):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    # The signing key, stored as typed out at creation. A hash (as API tokens keep) cannot work
    # here: signing is done by us, not checked by us, and HMAC needs the raw key on this side.
    # It is shown once, on the page that created the webhook, and never again (not on the page,
    # not in the admin); whoever reads the database can read it, as with the SMTP password.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)  # values of SUBSCRIBABLE
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhooks"
    )

    class Meta:
        ordering = ["organization__name", "-created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def event_labels(self) -> list[str]:
        return [str(Event(e).label) for e in self.events if e in Event.values]


class WebhookDelivery(BaseModel):
    """One event posted (or to be posted) to one webhook.

    ``attempts`` counts the attempts claimed so far; ``next_attempt_at`` is when the delivery is
    due again: the retry's time while it waits, the end of the attempt's lease while one runs
    (a sweeper sends a delivery overdue by more than a grace period again), empty once it is
    delivered or failed. ``last_*`` describe the latest attempt.
    """

    class Status(models.TextChoices):
        # In their own context: "Pending" is an invitation's "awaiting an answer" elsewhere.
        PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
