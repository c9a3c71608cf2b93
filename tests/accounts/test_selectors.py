import pytest

from apps.accounts.selectors import organization_list, organization_list_editable
from tests.accounts.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_it_lists_only_the_users_organizations(organization, viewer, outsider):
    assert list(organization_list(user=viewer)) == [organization]
    assert organization not in organization_list(user=outsider)


def test_it_lists_organizations_the_user_can_edit(organization, owner, editor, viewer):
    assert list(organization_list_editable(user=owner)) == [organization]
    assert list(organization_list_editable(user=editor)) == [organization]
    assert list(organization_list_editable(user=viewer)) == []


def test_it_keeps_editable_organizations_apart_across_users(organization, viewer):
    other = MembershipFactory(user=viewer, role="editor").organization
    assert list(organization_list_editable(user=viewer)) == [other]
