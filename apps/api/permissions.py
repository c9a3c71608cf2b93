from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.accounts.models import ApiToken


class TokenScope(BasePermission):
    """Read-only tokens read; writes need a read-write token (sessions: the services check the
    user's role in the organization). A view may name actions in ``read_actions`` that POST but
    change no plan (exporting a PDF): read-only tokens may use them."""

    message = "This API token is read-only; writes need a read-write token."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if getattr(view, "action", None) in getattr(view, "read_actions", ()):
            return True
        token = request.auth
        return not isinstance(token, ApiToken) or token.can_write
