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
