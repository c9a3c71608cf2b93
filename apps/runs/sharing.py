"""Read-only share links of a run's dashboard (``models.ShareLink``): make, list, revoke, open.

A link is ``/shared/<token>/``; the token is 32 random bytes (URL-safe) and only its SHA-256 is
stored, so a database dump opens nothing. A link works while it is neither expired nor revoked and
its run still has a result and its maker may still edit in the organization; anything else is a
404 that says nothing about why (a guessed token learns nothing). Each open counts a view.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.selectors import membership_get
from apps.common.errors import ApplicationError
from apps.runs.models import PlanRun, RunStatus, ShareLink

SHARE_DAYS_DEFAULT = 14
SHARE_DAYS_MAX = 90
SHARE_LINKS_PER_RUN_MAX = 20


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _require_editor(user: User, run: PlanRun) -> None:
    membership = membership_get(user=user, organization=run.organization)
    if membership is None or not membership.can_edit:
        raise ApplicationError(_("Only owners and editors can share a run."))


def share_link_create(
    *, user: User, run: PlanRun, days: int = SHARE_DAYS_DEFAULT, label: str = ""
) -> tuple[ShareLink, str]:
    """A new link to ``run`` valid for ``days``; returns the link and its token (shown once)."""
    _require_editor(user, run)
    if run.status != RunStatus.SUCCEEDED or not run.result:
        raise ApplicationError(_("Only a finished run can be shared."))
    if not 1 <= days <= SHARE_DAYS_MAX:
        raise ApplicationError(
            _("A link lasts between 1 and %(max)s days.") % {"max": SHARE_DAYS_MAX},
            extra={"field": "days"},
        )
    if len(label) > 100:
        raise ApplicationError(
            _("A label can have at most 100 characters."), extra={"field": "label"}
        )
    active = share_link_list(run=run).filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    if active.count() >= SHARE_LINKS_PER_RUN_MAX:
        raise ApplicationError(
            _("This run already has %(n)s active links: revoke one first.")
            % {"n": SHARE_LINKS_PER_RUN_MAX}
        )
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        organization=run.organization,
        run=run,
        created_by=user,
        token_hash=_digest(token),
        label=label.strip(),
        expires_at=timezone.now() + timedelta(days=days),
    )
    return link, token


def share_link_list(*, run: PlanRun) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(run=run)


def share_link_revoke(*, user: User, link: ShareLink) -> ShareLink:
    _require_editor(user, link.run)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
    return link


def share_link_open(*, token: str) -> ShareLink | None:
    """The live link of ``token`` (counting the view), else None."""
    if not token or len(token) > 100:
        return None
    now = timezone.now()
    link = (
        ShareLink.objects.select_related("run", "run__scenario", "run__scenario__program")
        .filter(token_hash=_digest(token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if link is None or link.run.status != RunStatus.SUCCEEDED or not link.run.result:
        return None
    # A link follows its maker, as API tokens do: once the maker is deactivated, leaves the
    # organization or can no longer edit there, the link opens nothing.
    maker = link.created_by
    membership = (
        membership_get(user=maker, organization=link.run.organization)
        if maker is not None and maker.is_active
        else None
    )
    if membership is None or not membership.can_edit:
        return None
    ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1, last_viewed_at=now)
    return link
