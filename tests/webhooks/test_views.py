"""The webhooks page: owners register webhooks (the secret shown once), read each one's
delivery log, send a test, switch them off and on, delete them. Editors and viewers see none
of it and change nothing (403); another organization's webhook is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.webhooks.models import Webhook, WebhookDelivery
from tests.conftest import login
from tests.webhooks.factories import WebhookDeliveryFactory, WebhookFactory

pytestmark = pytest.mark.django_db

LIST = reverse("webhooks:webhook_list")
ACTIONS = ("webhook_ping", "webhook_activate", "webhook_deactivate", "webhook_delete")


def rows():
    return list(Webhook.objects.order_by("pk").values_list("pk", "url", "active", "events"))


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(owner_client, organization):
    response = owner_client.post(
        LIST,
        {
            "organization": organization.pk,
            "url": "https://erp.example.com/hooks",
            "events": ["forecast.alert"],
        },
    )
    assert response.status_code == 302 and response["Location"] == LIST
    webhook = Webhook.objects.get()
    assert webhook.organization == organization and webhook.events == ["forecast.alert"]

    page = owner_client.get(LIST).content.decode()
    assert 'data-testid="new-webhook"' in page and webhook.secret in page
    again = owner_client.get(LIST).content.decode()
    assert "https://erp.example.com/hooks" in again  # listed …
    assert webhook.secret not in again and 'data-testid="new-webhook"' not in again  # … once
    detail = owner_client.get(reverse("webhooks:webhook_detail", args=[webhook.pk]))
    assert webhook.secret not in detail.content.decode()


def test_it_refuses_a_plain_http_url_naming_the_field(settings, owner_client, organization):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_HTTP = False
    response = owner_client.post(
        LIST,
        {"organization": organization.pk, "url": "http://erp.example.com/h", "events": ["ping"]},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "https://" in " ".join(errors["url"]) and "events" in errors
    assert not Webhook.objects.exists()


def test_an_owner_reads_the_delivery_log_of_the_latest_100(owner_client, organization):
    webhook = WebhookFactory(organization=organization)
    other = WebhookFactory(organization=organization)
    old = timezone.now() - timedelta(days=3)
    for _ in range(104):
        WebhookDeliveryFactory(webhook=webhook, status="delivered", attempts=1)
    WebhookDelivery.objects.update(created_at=old)
    WebhookDeliveryFactory(webhook=other, event="baseline.approved")
    WebhookDeliveryFactory(
        webhook=webhook,
        event="ping",
        status="failed",
        attempts=6,
        last_status_code=503,
        last_error="HTTP 503 Service Unavailable",
    )
    page = owner_client.get(reverse("webhooks:webhook_detail", args=[webhook.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<tr data-status=") == 100
    assert html.count('data-status="failed"') == 1 and html.count('data-status="delivered"') == 99
    assert "HTTP 503 Service Unavailable" in html and "6 / 6" in html
    assert "baseline.approved" not in html.split('data-testid="deliveries"')[1]


def test_an_owner_sends_a_test_switches_off_and_on_and_deletes(
    owner_client, organization, django_capture_on_commit_callbacks
):
    webhook = WebhookFactory(organization=organization, events=["baseline.approved"])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = owner_client.post(reverse("webhooks:webhook_ping", args=[webhook.pk]))
    assert response.status_code == 302
    assert len(sent) == 1 and WebhookDelivery.objects.get().event == "ping"
    log = owner_client.get(response["Location"]).content.decode()
    assert "<code>ping</code>" in log and "Pending" in log

    owner_client.post(reverse("webhooks:webhook_deactivate", args=[webhook.pk]))
    assert Webhook.objects.get().active is False
    refused = owner_client.post(reverse("webhooks:webhook_ping", args=[webhook.pk]), follow=True)
    assert "Switch the webhook on" in refused.content.decode()
    assert WebhookDelivery.objects.count() == 1
    owner_client.post(reverse("webhooks:webhook_activate", args=[webhook.pk]))
    assert Webhook.objects.get().active is True

    owner_client.post(reverse("webhooks:webhook_delete", args=[webhook.pk]))
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_see_no_webhook_and_change_nothing(request, organization, role):
    client = login(request.getfixturevalue(role))
    webhook = WebhookFactory(organization=organization, url="https://secret-erp.example.com/h")
    WebhookDeliveryFactory(webhook=webhook)
    page = client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "secret-erp" not in html and webhook.secret not in html
    assert "Only owners" in html and 'data-testid="create-webhook"' not in html
    before = rows()
    created = client.post(
        LIST, {"organization": organization.pk, "url": "https://x.example.com", "events": ["ping"]}
    )
    assert created.status_code == 403
    assert client.get(reverse("webhooks:webhook_detail", args=[webhook.pk])).status_code == 403
    for name in ACTIONS:
        assert client.post(reverse(f"webhooks:{name}", args=[webhook.pk])).status_code == 403
    assert rows() == before and WebhookDelivery.objects.count() == 1


def test_an_outsider_gets_404_for_another_organizations_webhook(outsider_client, organization):
    webhook = WebhookFactory(organization=organization, url="https://secret-erp.example.com/h")
    assert "secret-erp" not in outsider_client.get(LIST).content.decode()
    assert (
        outsider_client.get(reverse("webhooks:webhook_detail", args=[webhook.pk])).status_code
        == 404
    )
    before = rows()
    for name in ACTIONS:
        assert (
            outsider_client.post(reverse(f"webhooks:{name}", args=[webhook.pk])).status_code == 404
        )
    # Nor may the outsider register one for this organization.
    response = outsider_client.post(
        LIST,
        {
            "organization": organization.pk,
            "url": "https://x.example.com",
            "events": ["forecast.alert"],
        },
    )
    assert response.status_code == 400 and "organization" in response.context["form"].errors
    assert rows() == before and not WebhookDelivery.objects.exists()


def test_the_page_shows_in_chinese(owner_client, organization):
    WebhookFactory(organization=organization)
    owner_client.cookies["django_language"] = "zh-hans"
    html = owner_client.get(LIST).content.decode()
    assert "添加 Webhook" in html and "发送测试" in html and "已启用" in html
    assert "Add webhook" not in html and "Send test" not in html
