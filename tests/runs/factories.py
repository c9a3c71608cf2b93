import factory

from apps.runs.models import DemoJob
from tests.accounts.factories import OrganizationFactory, UserFactory


class DemoJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DemoJob

    organization = factory.SubFactory(OrganizationFactory)
    created_by = factory.SubFactory(UserFactory)
    n = 10
