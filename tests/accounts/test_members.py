"""The members page: owners invite members (tests/accounts/test_invitations.py), change roles,
remove them; the last owner stays; a member who leaves loses the API tokens they created;
non-owners get 403, outsiders 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, Invitation, Membership
from apps.accounts.services import api_token_create
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _membership(user, organization):
    return Membership.objects.get(user=user, organization=organization)


@pytest.mark.parametrize(
    ("invitee", "role", "field"),
    [("carol", "admin", "role"), ("", "viewer", "invitee"), ("x" * 255, "viewer", "invitee")],
)
def test_a_bad_invitation_names_the_field_and_sends_nothing(
    owner, organization, invitee, role, field
):
    UserFactory(username="carol")
    before = (Membership.objects.count(), Invitation.objects.count())
    response = login(owner).post(
        reverse("accounts:members"),
        {"organization": organization.pk, "invitee": invitee, "role": role},
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert (Membership.objects.count(), Invitation.objects.count()) == before


@pytest.mark.parametrize("spelling", ["{name}", "{upper}"])
def test_inviting_an_existing_member_is_refused(owner, viewer, organization, spelling):
    name = spelling.format(name=viewer.username, upper=viewer.username.upper())
    response = login(owner).post(
        reverse("accounts:members"),
        {"organization": organization.pk, "invitee": name, "role": "owner"},
    )
    assert response.status_code == 400 and "already a member" in response.content.decode()
    assert "invitee" in response.context["form"].errors
    assert _membership(viewer, organization).role == "viewer"
    assert not Invitation.objects.exists()


def test_an_owner_changes_a_role_and_removes_a_member(owner, viewer, organization):
    client = login(owner)
    membership = _membership(viewer, organization)
    client.post(reverse("accounts:member_role", args=[membership.pk]), {"role": "editor"})
    assert _membership(viewer, organization).role == "editor"
    client.post(reverse("accounts:member_remove", args=[membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_can_neither_step_down_nor_leave(owner, organization):
    client = login(owner)
    membership = _membership(owner, organization)
    client.post(reverse("accounts:member_role", args=[membership.pk]), {"role": "viewer"})
    client.post(reverse("accounts:member_remove", args=[membership.pk]))
    assert _membership(owner, organization).role == "owner"
    page = client.get(reverse("accounts:members")).content.decode()
    assert "at least one owner" in page


def test_an_owner_who_steps_down_or_leaves_loses_the_tokens_they_created(owner, organization):
    second = MembershipFactory(organization=organization, role="owner")
    token, _ = api_token_create(user=second.user, organization=organization, name="ERP")
    login(owner).post(reverse("accounts:member_role", args=[second.pk]), {"role": "editor"})
    token.refresh_from_db()
    assert token.revoked_at is not None
    mine, _ = api_token_create(user=owner, organization=organization, name="mine")
    login(second.user).get("/")  # the editor can't touch the owner's tokens
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_non_owner_sees_the_members_but_every_change_is_a_403(role, owner, organization):
    member = MembershipFactory(organization=organization, role=role)
    target = _membership(owner, organization)
    client = login(member.user)
    page = client.get(reverse("accounts:members"))
    assert page.status_code == 200 and owner.username in page.content.decode()
    UserFactory(username="dave")
    invite = {"organization": organization.pk, "invitee": "dave", "role": "owner"}
    assert client.post(reverse("accounts:members"), invite).status_code == 403
    assert not Invitation.objects.exists()
    promote = client.post(reverse("accounts:member_role", args=[member.pk]), {"role": "owner"})
    assert promote.status_code == 403
    assert client.post(reverse("accounts:member_remove", args=[target.pk])).status_code == 403
    assert _membership(member.user, organization).role == role
    assert Membership.objects.filter(organization=organization).count() == 2


def test_an_outsider_gets_404_and_sees_no_member(outsider, owner, organization):
    target = _membership(owner, organization)
    client = login(outsider)
    assert owner.username not in client.get(reverse("accounts:members")).content.decode()
    demote = client.post(reverse("accounts:member_role", args=[target.pk]), {"role": "viewer"})
    assert demote.status_code == 404
    assert client.post(reverse("accounts:member_remove", args=[target.pk])).status_code == 404
    invite = {"organization": organization.pk, "invitee": outsider.username, "role": "owner"}
    client.post(reverse("accounts:members"), invite)
    assert not Membership.objects.filter(user=outsider, organization=organization).exists()
    assert not Invitation.objects.filter(organization=organization).exists()
    assert target.role == _membership(owner, organization).role == "owner"
