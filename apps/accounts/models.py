import unicodedata
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import BaseModel


def username_key(name: str) -> str:
    """The form under which two user names count as the same: NFKC, then case-folded (NFKC once
    more, since folding can undo it), without surrounding spaces. ``ｖｉｃｔｉｍ``, ``VICTIM`` and
    ``victim`` share one key; sign-in throttling and the look-alike check at sign-up use it."""
    folded = unicodedata.normalize("NFKC", name.strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


class NormalizedUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> "User":
        """The user of this name: the exact (NFKC) spelling, else the only user whose name
        differs in case. Sign-in (Django's ``ModelBackend``) and ``createsuperuser`` look users
        up here, so ``Alice`` signs in as ``alice``. Two old accounts that differ only in case
        each keep their exact name; a spelling that could be either signs in as neither."""
        name = unicodedata.normalize("NFKC", (username or "").strip())
        # One query, whether or not the name exists (the exact spelling is among the iexact
        # candidates): iexact narrows them in the database (on SQLite it folds ASCII only, so a
        # non-ASCII name must then be typed in its own case); the exact spelling, else the key,
        # decides.
        candidates = list(self.filter(username__iexact=name))
        for user in candidates:
            if user.username == name:
                return user
        key = username_key(name)
        same = [u for u in candidates if username_key(u.username) == key]
        if len(same) != 1:
            raise self.model.DoesNotExist
        return same[0]

    def lookalike_exists(self, username: str, *, exclude_pk: int | None = None) -> bool:
        """Whether another user's name has the same key. Reads every name (folding ``ß`` to
        ``ss`` has no database equivalent), which is fine at sign-up, never on a hot path."""
        key = username_key(username)
        names = self.exclude(pk=exclude_pk).values_list("username", flat=True)
        return any(username_key(other) == key for other in names.iterator())

    def _create_user(self, username, email, password, **extra_fields):  # type: ignore[no-untyped-def]
        if username and self.lookalike_exists(username):
            raise ValueError(f"A user named like {username!r} already exists.")
        return super()._create_user(username, email, password, **extra_fields)


class User(AbstractUser):
    """The project's user, custom from the first migration so it can grow without pain.

    User names are unique under :func:`username_key` (NFKC + case folding): a look-alike of an
    existing name is refused at sign-up (the admin's forms, ``create_user``), so no two people
    share one sign-in throttle and no name can pass for another in full-width letters.
    """

    objects = NormalizedUserManager()  # type: ignore[misc]

    def clean(self) -> None:
        super().clean()
        stored = User.objects.filter(pk=self.pk).values_list("username", flat=True).first()
        if stored == self.username:
            return  # not renamed: an old look-alike pair can still be edited (e.g. deactivated)
        if self.username and User.objects.lookalike_exists(self.username, exclude_pk=self.pk):
            raise ValidationError(
                {
                    "username": _(
                        "A user with this name, or one that differs only in case or width,"
                        " already exists."
                    )
                },
                code="lookalike",
            )


class Organization(BaseModel):
    """A client organization; every program and run belongs to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(BaseModel):
    """A user's access role in an organization (not a role in a training program's team)."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        EDITOR = "editor", _("Editor")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.EDITOR)


class ApiToken(BaseModel):
    """An organization's key to the finance API (``Authorization: Bearer llmp_<prefix>_<secret>``).

    Only a SHA-256 of the secret is stored; the full token is shown once, when created. A token
    acts for its organization only — with read-only or read-write scope — and records when it was
    last used. Revoking it is immediate and final.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    class RevokedReason(models.TextChoices):
        """Why a token stopped working: an owner revoked it, or its creator lost the access it
        acts with (found when the token is next used, however the change was made)."""

        BY_OWNER = "by_owner", _("revoked by an owner")
        CREATOR_INACTIVE = "creator_inactive", _("its creator's account was deactivated")
        CREATOR_NOT_MEMBER = (
            "creator_not_member",
            _("its creator is no longer a member of the organization"),
        )
        CREATOR_CANNOT_EDIT = (
            "creator_cannot_edit",
            _("its creator is no longer an owner or editor of the organization"),
        )
        CREATOR_NOT_OWNER = (
            "creator_not_owner",
            _("its creator stepped down as an owner (Members page)"),
        )

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=20, choices=RevokedReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.scope})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE


class Invitation(BaseModel):
    """An owner's invitation to join an organization with a role, which the invitee accepts or
    declines after signing in; it lapses ``INVITATION_DAYS`` after it was sent.

    ``invitee`` is what the owner typed (a user name or an e-mail address); ``user`` the account
    it matched when sent, or None. An invitation that matched nobody stays pending until it
    lapses, exactly like one that did, so the owner's page never tells which accounts exist.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations_sent"
    )
    invitee = models.CharField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
    )
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "status"], name="invitation_user_status")]

    def __str__(self) -> str:
        return f"{self.invitee} to {self.organization} ({self.role}, {self.status})"

    def is_open(self, now: datetime) -> bool:
        """Pending and not lapsed: the invitee may still accept or decline it."""
        return self.status == self.Status.PENDING and self.expires_at > now
