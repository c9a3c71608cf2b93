from django.db.models import QuerySet

from apps.accounts.models import Membership, Organization, User


def organization_list(*, user: User) -> QuerySet[Organization]:
    """Organizations the user is a member of, in any role."""
    return Organization.objects.filter(memberships__user=user)


def organization_list_editable(*, user: User) -> QuerySet[Organization]:
    """Organizations where the user may create and change things (owner or editor)."""
    return Organization.objects.filter(
        memberships__user=user,
        memberships__role__in=[Membership.Role.OWNER, Membership.Role.EDITOR],
    )


def membership_get(*, user: User, organization: Organization) -> Membership | None:
    return Membership.objects.filter(user=user, organization=organization).first()
