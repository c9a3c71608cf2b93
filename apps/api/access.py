"""Who is asking, for which organizations: an API token acts for its organization only; a browser
session for every organization its user belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from rest_framework.request import Request

from apps.accounts.models import ApiToken, Organization, User


@dataclass(frozen=True)
class ApiAccess:
    user: User  # the acting user: the token's creator, or the session's user
    token: ApiToken | None

    def organizations(self) -> QuerySet[Organization]:
        if self.token is not None:
            return Organization.objects.filter(pk=self.token.organization_id)
        if not self.user.is_authenticated:  # e.g. the schema generator's fake request
            return Organization.objects.none()
        return Organization.objects.filter(memberships__user=self.user)


def api_access(request: Request) -> ApiAccess:
    token = request.auth if isinstance(request.auth, ApiToken) else None
    return ApiAccess(user=request.user, token=token)  # type: ignore[arg-type]
