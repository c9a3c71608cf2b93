import factory

from apps.webhooks.models import SUBSCRIBABLE, Webhook, WebhookDelivery
from tests.accounts.factories import OrganizationFactory, UserFactory


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    organization = factory.SubFactory(OrganizationFactory)
    url = factory.Sequence(lambda n: f"https://erp{n}.example.com/hooks")
    secret = factory.Sequence(lambda n: f"whsec_test_{n}")
    events = factory.LazyFunction(lambda: [str(e) for e in SUBSCRIBABLE])
    created_by = factory.SubFactory(UserFactory)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    webhook = factory.SubFactory(WebhookFactory)
    event = "forecast.alert"
    payload = factory.LazyFunction(lambda: {"program": 1})
