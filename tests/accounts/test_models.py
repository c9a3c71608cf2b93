import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError

from apps.accounts.models import Membership, User
from tests.accounts.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_it_uses_the_custom_user_model():
    assert get_user_model() is User


def test_it_allows_one_membership_per_user_and_organization():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError):
        MembershipFactory(user=membership.user, organization=membership.organization)


@pytest.mark.parametrize(
    ("role", "can_edit"),
    [
        (Membership.Role.OWNER, True),
        (Membership.Role.EDITOR, True),
        (Membership.Role.VIEWER, False),
    ],
)
def test_it_lets_only_owners_and_editors_edit(role, can_edit):
    assert MembershipFactory(role=role).can_edit is can_edit


def test_it_lists_an_organizations_members(organization, owner, viewer):
    assert set(organization.members.all()) == {owner, viewer}
