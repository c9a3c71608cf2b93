"""``Authorization: Bearer llmp_<prefix>_<secret>`` — an organization's API token."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from apps.accounts.services import (
    TokenRefused,
    api_token_authenticate,
    api_token_refusal_message,
    api_token_revocation,
)


class OrganizationTokenAuthentication(BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).decode("latin-1", errors="replace").split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise AuthenticationFailed("Give the token after 'Bearer', with no spaces in it.")
        # The creator's access is checked at every request (active account, membership, and
        # for a read-write token the owner or editor role): a token that lost it is revoked
        # there and then, and every later request is told why.
        try:
            token = api_token_authenticate(raw=header[1])
        except TokenRefused as exc:
            raise AuthenticationFailed(exc.message) from exc
        if token is None:
            revoked = api_token_revocation(raw=header[1])
            if revoked is not None:
                raise AuthenticationFailed(api_token_refusal_message(revoked))
            raise AuthenticationFailed("Unknown or revoked API token.")
        return token.created_by, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="llmplanner"'


class OrganizationTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "apps.api.authentication.OrganizationTokenAuthentication"
    name = "organizationToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API token (API tokens page): llmp_<prefix>_<secret>.",
        }
