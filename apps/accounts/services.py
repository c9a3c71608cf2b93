import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership, Organization, User
from apps.common.errors import ApplicationError

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
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token whose plain text is ``raw`` (constant-time comparison), or None.

    Records the use, at most once a minute per token to spare the database.
    """
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = (
        ApiToken.objects.select_related("organization", "created_by")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, _hash_secret(parts[2])):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


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


def _revoke_tokens_of(member: Membership) -> int:
    """Tokens act as their creator; a creator who no longer owns the organization loses them."""
    return ApiToken.objects.filter(
        organization=member.organization, created_by=member.user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


@transaction.atomic
def membership_add(
    *, user: User, organization: Organization, username: str, role: str
) -> Membership:
    """Give an existing user (by user name) a role in the organization. Owners only."""
    _require_member_owner(user, organization)
    if role not in Membership.Role.values:
        raise ApplicationError(
            f"The role must be one of {', '.join(Membership.Role.values)}.", extra={"field": "role"}
        )
    member = User.objects.filter(username=(username or "").strip(), is_active=True).first()
    if member is None:
        raise ApplicationError("No active user has this user name.", extra={"field": "username"})
    if Membership.objects.filter(user=member, organization=organization).exists():
        raise ApplicationError(
            f"{member.username} is already a member; change their role instead.",
            extra={"field": "username"},
        )
    return Membership.objects.create(user=member, organization=organization, role=role)


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
    _revoke_tokens_of(membership)
    membership.delete()
