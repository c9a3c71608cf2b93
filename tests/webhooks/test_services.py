"""Emitting an event (who receives it), registering a webhook (the URL rule, the secret) and
the owner-only rule of the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.common.errors import ApplicationError
from apps.webhooks.models import Webhook, WebhookDelivery
from apps.webhooks.services import (
    SECRET_PREFIX,
    WebhookDenied,
    webhook_create,
    webhook_emit,
    webhook_ping,
    webhook_url_refusal,
)
from tests.accounts.factories import OrganizationFactory
from tests.webhooks.factories import WebhookFactory

pytestmark = pytest.mark.django_db


def test_only_active_webhooks_of_the_organization_subscribed_to_the_event_receive_it(
    organization, django_capture_on_commit_callbacks
):
    subscribed = WebhookFactory(organization=organization, events=["forecast.alert"])
    both = WebhookFactory(organization=organization)  # both events
    WebhookFactory(organization=organization, events=["baseline.approved"])
    WebhookFactory(organization=organization, events=["forecast.alert"], active=False)
    WebhookFactory(organization=OrganizationFactory(), events=["forecast.alert"])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deliveries = webhook_emit(
            organization=organization, event="forecast.alert", payload={"p": 0.3}
        )

    assert {d.webhook_id for d in deliveries} == {subscribed.pk, both.pk}
    assert len(callbacks) == 2  # each is sent to a worker once the transaction commits
    stored = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
    assert {(d.event, d.status, d.attempts) for d in stored} == {("forecast.alert", "pending", 0)}
    assert WebhookDelivery.objects.count() == 2


def test_an_event_nobody_subscribed_to_writes_nothing(organization):
    WebhookFactory(organization=organization, events=["baseline.approved"])
    assert webhook_emit(organization=organization, event="forecast.alert", payload={}) == []
    assert not WebhookDelivery.objects.exists()


def test_it_refuses_an_unknown_event(organization):
    WebhookFactory(organization=organization)
    with pytest.raises(ApplicationError, match="forecast.alerts"):
        webhook_emit(organization=organization, event="forecast.alerts", payload={})
    with pytest.raises(ApplicationError):
        webhook_emit(organization=organization, event="ping", payload={})  # not subscribable
    assert not WebhookDelivery.objects.exists()


def test_decimals_and_dates_in_the_payload_are_stored_as_strings(organization):
    WebhookFactory(organization=organization)
    payload = {"cost": Decimal("12.50"), "finish": dt.date(2027, 5, 1)}
    (delivery,) = webhook_emit(
        organization=organization, event="baseline.approved", payload=payload
    )
    delivery.refresh_from_db()
    assert delivery.payload == {"cost": "12.50", "finish": "2027-05-01"}


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://erp.example.com/hooks", True),
        ("https://203.0.113.9:8443/hooks", False),  # documentation range: not global
        ("https://8.8.8.8/hooks", True),
        ("http://erp.example.com/hooks", False),
        ("http://127.0.0.1:9000/hooks", False),
        ("http://localhost/hooks", False),
        ("https://localhost/hooks", False),
        ("https://10.1.2.3/hooks", False),
        ("https://192.168.0.7/hooks", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://[::1]/hooks", False),
        ("https://[fe80::1]/hooks", False),
        ("https://app.localhost/hooks", False),
        ("ftp://erp.example.com/hooks", False),
        ("https://user:pw@erp.example.com/hooks", False),
        ("https://erp.example.com:port/hooks", False),
        ("https:///hooks", False),
    ],
)
def test_urls_are_https_to_a_public_host_in_production(settings, url, allowed):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_HTTP = False
    assert (webhook_url_refusal(url) is None) is allowed, url


@pytest.mark.parametrize("switch", ["DEBUG", "WEBHOOK_ALLOW_HTTP"])
def test_http_to_localhost_is_allowed_only_while_the_server_allows_it(settings, switch):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_HTTP = False
    setattr(settings, switch, True)
    for url in ("http://127.0.0.1:9000/h", "http://localhost/h", "http://[::1]:8080/h"):
        assert webhook_url_refusal(url) is None, url
    # … and still only there: another http host, or a private address, stays refused.
    assert "https" in webhook_url_refusal("http://erp.example.com/h")
    assert webhook_url_refusal("http://10.0.0.8/h") is not None
    assert webhook_url_refusal("https://10.0.0.8/h") is not None


def test_an_owner_registers_a_webhook_with_a_new_secret(organization, owner):
    first = webhook_create(
        user=owner,
        organization=organization,
        url=" https://erp.example.com/a ",
        events=["baseline.approved"],
    )
    second = webhook_create(
        user=owner,
        organization=organization,
        url="https://erp.example.com/b",
        events=["forecast.alert", "baseline.approved"],
    )
    assert first.url == "https://erp.example.com/a" and first.events == ["baseline.approved"]
    assert second.events == ["forecast.alert", "baseline.approved"]
    assert first.secret.startswith(SECRET_PREFIX) and len(first.secret) >= 40
    assert first.secret != second.secret
    assert Webhook.objects.get(pk=first.pk).secret == first.secret  # kept, to sign with
    assert first.created_by == owner and first.active


@pytest.mark.parametrize("events", [[], ["ping"], ["forecast.alert", "nope"]])
def test_it_refuses_events_that_cannot_be_subscribed(organization, owner, events):
    with pytest.raises(ApplicationError) as refused:
        webhook_create(
            user=owner, organization=organization, url="https://erp.example.com", events=events
        )
    assert refused.value.extra == {"field": "events"}
    assert not Webhook.objects.exists()


def test_it_refuses_an_http_url_naming_the_field(settings, organization, owner):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(ApplicationError) as refused:
        webhook_create(
            user=owner,
            organization=organization,
            url="http://erp.example.com/hooks",
            events=["forecast.alert"],
        )
    assert refused.value.extra == {"field": "url"} and "https" in refused.value.message
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("role", ["editor", "viewer", "outsider"])
def test_only_an_owner_manages_webhooks(request, organization, role):
    user = request.getfixturevalue(role)
    webhook = WebhookFactory(organization=organization)
    with pytest.raises(WebhookDenied):
        webhook_create(
            user=user,
            organization=organization,
            url="https://e.example.com",
            events=["forecast.alert"],
        )
    with pytest.raises(WebhookDenied):
        webhook_ping(user=user, webhook=webhook)
    assert Webhook.objects.count() == 1 and not WebhookDelivery.objects.exists()


def test_a_ping_goes_to_its_webhook_whatever_it_subscribed_to(organization, owner):
    webhook = WebhookFactory(organization=organization, events=["baseline.approved"])
    WebhookFactory(organization=organization)
    delivery = webhook_ping(user=owner, webhook=webhook)
    assert delivery.webhook == webhook and delivery.event == "ping"
    assert WebhookDelivery.objects.get().pk == delivery.pk
