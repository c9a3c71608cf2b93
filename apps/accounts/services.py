import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    User,
    username_key,
)
from apps.common.errors import ApplicationError

logger = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_ORGANIZATION_SLUG = "demo-lab"


@transaction.atomic
def demo_data_load() -> User:
    """Create (or reset) the demo organization and the demo/demo owner of it.

    Development only: refuses when DEBUG is off, so a production database never gets a user
    with a published password.
    """
    if not settings.DEBUG:
        raise ApplicationError("Demo data is only loaded when DEBUG is on.")
    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_ORGANIZATION_SLUG, defaults={"name": "Demo Lab"}
    )
    user, _ = User.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"first_name": "Demo", "last_name": "User"}
    )
    user.set_password(DEMO_PASSWORD)
    user.is_active = True
    user.save()
    Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": Membership.Role.OWNER}
    )
    return user


# ---- API tokens ------------------------------------------------------------------------------

TOKEN_PREFIX = "llmp"


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_owner(user: User, organization: Organization) -> None:
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if membership is None or membership.role != Membership.Role.OWNER:
        raise ApplicationError("Only an owner of the organization manages its API tokens.")


@transaction.atomic
def api_token_create(
    *, user: User, organization: Organization, name: str, scope: str = ApiToken.Scope.READ
) -> tuple[ApiToken, str]:
    """Create a token; returns it and its plain text, which is stored nowhere and shown once."""
    _require_owner(user, organization)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApplicationError("Give the token a name of 1 to 100 characters.")
    if scope not in ApiToken.Scope.values:
        raise ApplicationError("The scope must be read or write.")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=_hash_secret(secret),
        scope=scope,
        created_by=user,
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def api_token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    _require_owner(user, token.organization)
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=ApiToken.RevokedReason.BY_OWNER
    )
    token.refresh_from_db()
    return token


class TokenRefused(ApplicationError):
    """A token whose secret is right but which may no longer act (the API answers 401)."""


def _token_dead_reason(token: ApiToken) -> str | None:
    """Why ``token`` may no longer act for its organization, or None while its creator still has
    the access it acts with: an active account, a membership, and for a read-write token the
    owner or editor role. Checked at every use, so a change made anywhere (the Members page, the
    admin, the ORM, a restore) takes effect on the next request."""
    creator = token.created_by
    if not creator.is_active:
        return ApiToken.RevokedReason.CREATOR_INACTIVE
    membership = Membership.objects.filter(
        user_id=creator.pk, organization_id=token.organization_id
    ).first()
    if membership is None:
        return ApiToken.RevokedReason.CREATOR_NOT_MEMBER
    if token.can_write and not membership.can_edit:
        return ApiToken.RevokedReason.CREATOR_CANNOT_EDIT
    return None


def _token_by_secret(raw: str) -> ApiToken | None:
    """The token (active or revoked) whose plain text is ``raw`` (constant-time comparison)."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = (
        ApiToken.objects.select_related("organization", "created_by")
        .filter(prefix=parts[1])
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, _hash_secret(parts[2])):
        return None
    return token


def api_token_revocation(*, raw: str) -> ApiToken | None:
    """The revoked token whose plain text is ``raw``, to tell its holder why it stopped working."""
    token = _token_by_secret(raw)
    return token if token is not None and not token.is_active else None


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token whose plain text is ``raw`` (constant-time comparison), or None.

    A token whose creator lost the access it acts with is revoked now, with the reason recorded
    on the row (shown on the API tokens page and in the admin), and ``TokenRefused`` names it.
    Records the use, at most once a minute per token to spare the database.
    """
    token = _token_by_secret(raw)
    if token is None or not token.is_active:
        return None
    reason = _token_dead_reason(token)
    if reason is not None:
        now = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        logger.warning("API token %s of %s revoked: %s", token.prefix, token.organization, reason)
        token.refresh_from_db()
        raise TokenRefused(api_token_refusal_message(token))
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_refusal_message(token: ApiToken) -> str:
    """What the holder of a revoked token is told: since when, and why."""
    values = {
        "date": token.revoked_at.date().isoformat() if token.revoked_at else "",
        "organization": token.organization.name,
    }
    if not token.revoked_reason:
        return _("This API token of %(organization)s was revoked on %(date)s.") % values
    reason = ApiToken.RevokedReason(token.revoked_reason).label
    return _("This API token of %(organization)s was revoked on %(date)s: %(reason)s.") % {
        **values,
        "reason": reason,
    }


# ---- Members ---------------------------------------------------------------------------------


class MemberDenied(ApplicationError):
    """The acting user may not manage the organization's members (the page answers 403)."""


def _require_member_owner(user: User, organization: Organization) -> None:
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if membership is None or membership.role != Membership.Role.OWNER:
        raise MemberDenied("Only an owner of the organization manages its members.")


def _owners_left(organization: Organization, without: Membership) -> int:
    return (
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Membership.Role.OWNER)
        .exclude(pk=without.pk)
        .count()
    )


def _revoke_tokens_of(
    member: Membership, reason: str = ApiToken.RevokedReason.CREATOR_NOT_OWNER
) -> int:
    """Tokens act as their creator; a creator who no longer owns the organization loses them."""
    return ApiToken.objects.filter(
        organization=member.organization, created_by=member.user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), revoked_reason=reason)


INVITATION_DAYS = 14


def _invitee_account(invitee: str) -> User | None:
    """The active account an owner's ``invitee`` text names: a user name (in its normal form,
    as at sign-in) or the e-mail address of exactly one account; None otherwise."""
    if "@" in invitee:
        matches = list(User.objects.filter(email__iexact=invitee, is_active=True)[:2])
        return matches[0] if len(matches) == 1 else None
    try:
        user = User.objects.get_by_natural_key(invitee)
    except User.DoesNotExist:
        return None
    return user if user.is_active else None


def _invitee_key(invitee: str) -> str:
    """The form under which two invitations name the same invitee: an e-mail address
    case-folded, a user name in its normal form (``username_key``, as at sign-in)."""
    invitee = invitee.strip()
    return invitee.casefold() if "@" in invitee else username_key(invitee)


@transaction.atomic
def invitation_send(
    *, user: User, organization: Organization, invitee: str, role: str
) -> Invitation:
    """Invite the account named by ``invitee`` (a user name or an e-mail address) to join with
    ``role``. Owners only. The invitation is recorded whether or not such an account exists, and
    the answer is the same, so the form cannot be used to find out which names exist. A new
    invitation of the same invitee — the same text in its normal form, matched or not —
    replaces the pending one. Someone already in the
    organization (the owner sees its members) is refused, naming the field."""
    _require_member_owner(user, organization)
    if role not in Membership.Role.values:
        raise ApplicationError(
            f"The role must be one of {', '.join(Membership.Role.values)}.", extra={"field": "role"}
        )
    invitee = (invitee or "").strip()
    if not invitee or len(invitee) > 254 or "\x00" in invitee:
        raise ApplicationError(
            _("Give a user name or an e-mail address of up to 254 characters."),
            extra={"field": "invitee"},
        )
    member_names = Membership.objects.filter(organization=organization).values_list(
        "user__username", flat=True
    )
    if "@" not in invitee and username_key(invitee) in {username_key(n) for n in member_names}:
        raise ApplicationError(
            _("%(name)s is already a member; change their role instead.") % {"name": invitee},
            extra={"field": "invitee"},
        )
    account = _invitee_account(invitee)
    # Replace the pending invitation of what the owner typed (in its normal form), never of the
    # account it matched: the same rows and the same queries whether or not the account exists.
    key = _invitee_key(invitee)
    pending = Invitation.objects.select_for_update().filter(
        organization=organization, status=Invitation.Status.PENDING
    )
    replaced = [
        pk for pk, typed in pending.values_list("pk", "invitee") if _invitee_key(typed) == key
    ]
    if replaced:
        Invitation.objects.filter(pk__in=replaced).update(
            status=Invitation.Status.CANCELLED, responded_at=timezone.now()
        )
    return Invitation.objects.create(
        organization=organization,
        invited_by=user,
        invitee=invitee,
        user=account,
        role=role,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )


def _open_invitation_for(user: User, invitation_id: int) -> Invitation:
    """The invitee's pending invitation, locked; one that lapsed, was answered or replaced, or
    whose sender is no longer an owner, cannot be answered."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(pk=invitation_id, user=user)
        .first()
    )
    if invitation is None:
        raise ApplicationError(_("This invitation does not exist."))
    if not invitation.is_open(timezone.now()):
        raise ApplicationError(_("This invitation has expired or was already answered."))
    return invitation


def invitation_accept(*, user: User, invitation_id: int) -> Membership:
    """Join the organization with the invitation's role. Refused when the invitation is no
    longer open, or withdrawn (and marked so) when its sender has stopped being an owner: the
    offer was theirs to make."""
    with transaction.atomic():
        invitation = _open_invitation_for(user, invitation_id)
        sender_owns = Membership.objects.filter(
            user=invitation.invited_by_id,
            organization=invitation.organization,
            role=Membership.Role.OWNER,
        ).exists()
        if sender_owns and user.is_active:
            membership, _created = Membership.objects.get_or_create(
                user=user, organization=invitation.organization, defaults={"role": invitation.role}
            )
            invitation.status = Invitation.Status.ACCEPTED
            invitation.responded_at = timezone.now()
            invitation.save(update_fields=["status", "responded_at", "updated_at"])
            # Other invitations of the same account (by name and by e-mail) are answered too.
            Invitation.objects.filter(
                user=user, organization=invitation.organization, status=Invitation.Status.PENDING
            ).update(status=Invitation.Status.CANCELLED, responded_at=invitation.responded_at)
            return membership
        Invitation.objects.filter(pk=invitation.pk).update(
            status=Invitation.Status.CANCELLED, responded_at=timezone.now()
        )
    raise ApplicationError(_("This invitation was withdrawn."))


@transaction.atomic
def invitation_decline(*, user: User, invitation_id: int) -> Invitation:
    invitation = _open_invitation_for(user, invitation_id)
    invitation.status = Invitation.Status.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return invitation


@transaction.atomic
def invitation_cancel(*, user: User, invitation: Invitation) -> Invitation:
    """An owner withdraws a pending invitation of their organization."""
    _require_member_owner(user, invitation.organization)
    Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.PENDING).update(
        status=Invitation.Status.CANCELLED, responded_at=timezone.now()
    )
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def membership_role_set(*, user: User, membership: Membership, role: str) -> Membership:
    """Change a member's role. The last owner cannot step down: someone must manage the rest.
    A member who stops being an owner loses the API tokens they created."""
    _require_member_owner(user, membership.organization)
    if role not in Membership.Role.values:
        raise ApplicationError(
            f"The role must be one of {', '.join(Membership.Role.values)}.", extra={"field": "role"}
        )
    if (
        membership.role == Membership.Role.OWNER
        and role != Membership.Role.OWNER
        and _owners_left(membership.organization, membership) == 0
    ):
        raise ApplicationError("An organization keeps at least one owner.")
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER:
        _revoke_tokens_of(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def membership_remove(*, user: User, membership: Membership) -> None:
    """Remove a member (and revoke the API tokens they created). Not the last owner."""
    _require_member_owner(user, membership.organization)
    if (
        membership.role == Membership.Role.OWNER
        and _owners_left(membership.organization, membership) == 0
    ):
        raise ApplicationError("An organization keeps at least one owner.")
    _revoke_tokens_of(membership, ApiToken.RevokedReason.CREATOR_NOT_MEMBER)
    membership.delete()
