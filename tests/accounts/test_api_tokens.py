"""The API tokens page: owners create (secret shown once, hashed) and revoke; others can't."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership
from apps.accounts.services import api_token_authenticate, api_token_create
from tests.accounts.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_membership():
    return MembershipFactory(role=Membership.Role.OWNER)


def test_an_owner_creates_a_token_shown_once_and_stored_hashed(client, owner_membership):
    client.force_login(owner_membership.user)
    url = reverse("accounts:api_tokens")
    response = client.post(
        url,
        {"organization": owner_membership.organization.pk, "name": "Finance ERP", "scope": "read"},
    )
    assert response.status_code == 302 and response["Location"] == url  # a reload can't repeat
    shown = client.get(url)
    secret = shown.context["created"][1]
    assert secret in shown.content.decode()
    token = ApiToken.objects.get()
    assert token.name == "Finance ERP" and token.organization == owner_membership.organization
    stored = " ".join(str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields)
    assert secret not in stored
    assert api_token_authenticate(raw=secret) == token
    # Shown once: the page afterwards lists the token but never its secret.
    assert secret not in client.get(url).content.decode()


def test_a_viewer_cannot_create_a_token(client):
    viewer = MembershipFactory(role=Membership.Role.VIEWER)
    client.force_login(viewer.user)
    response = client.post(
        reverse("accounts:api_tokens"),
        {"organization": viewer.organization.pk, "name": "Mine", "scope": "write"},
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_revoke_by_owner_works_and_an_outsider_gets_404(client, owner_membership):
    token, secret = api_token_create(
        user=owner_membership.user, organization=owner_membership.organization, name="ERP"
    )
    revoke = reverse("accounts:api_token_revoke", args=[token.pk])
    outsider = MembershipFactory(
        role=Membership.Role.OWNER, organization=OrganizationFactory(), user=UserFactory()
    )
    client.force_login(outsider.user)
    assert client.post(revoke).status_code == 404
    assert api_token_authenticate(raw=secret) == token
    client.force_login(owner_membership.user)
    assert client.post(revoke).status_code == 302
    assert api_token_authenticate(raw=secret) is None


def test_a_bad_name_is_a_400_and_creates_nothing(client, owner_membership):
    client.force_login(owner_membership.user)
    response = client.post(
        reverse("accounts:api_tokens"),
        {"organization": owner_membership.organization.pk, "name": "", "scope": "read"},
    )
    assert response.status_code == 400 and "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()
