from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.models import Invitation, Membership, Organization, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Lab {n}")
    slug = factory.Sequence(lambda n: f"lab-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.VIEWER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    invited_by = factory.SubFactory(UserFactory)
    user = factory.SubFactory(UserFactory)
    invitee = factory.LazyAttribute(lambda i: i.user.username if i.user else "nobody")
    role = Membership.Role.VIEWER
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
