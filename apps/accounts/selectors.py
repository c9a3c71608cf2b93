from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import ApiToken, Invitation, Membership, Organization, User


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


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """Tokens of the user's organizations (their secrets are never stored, so never shown)."""
    return ApiToken.objects.filter(organization__memberships__user=user).select_related(
        "organization", "created_by"
    )


def api_token_get(*, user: User, token_id: int) -> ApiToken:
    return get_object_or_404(api_token_list(user=user), pk=token_id)


def organization_list_owned(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.OWNER
    )


def membership_list(*, user: User) -> QuerySet[Membership]:
    """Members of every organization the user belongs to (what the members page shows)."""
    return (
        Membership.objects.filter(organization__memberships__user=user)
        .select_related("user", "organization")
        .order_by("organization__name", "user__username")
    )


def membership_get_by_id(*, user: User, membership_id: int) -> Membership:
    """One membership of the user's organizations; 404 for another organization's."""
    return get_object_or_404(membership_list(user=user), pk=membership_id)


def invitation_list_received(*, user: User) -> QuerySet[Invitation]:
    """The user's open invitations (pending, not lapsed), newest first."""
    return Invitation.objects.filter(
        user=user, status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    ).select_related("organization", "invited_by")


def invitation_list_sent(*, user: User) -> QuerySet[Invitation]:
    """Pending invitations of the organizations the user owns, as typed by the owner (whether or
    not they matched an account — the page must not tell)."""
    return Invitation.objects.filter(
        organization__in=organization_list_owned(user=user), status=Invitation.Status.PENDING
    ).select_related("organization", "invited_by")


def invitation_get_sent(*, user: User, invitation_id: int) -> Invitation:
    """An invitation of one of the user's organizations (any role: a non-owner gets the 403 of
    the service, an outsider a 404)."""
    return get_object_or_404(
        Invitation.objects.filter(organization__memberships__user=user).select_related(
            "organization"
        ),
        pk=invitation_id,
    )
