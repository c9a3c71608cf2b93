from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """A request budget per API token (per user for sessions): ``API_RATE_LIMIT``."""

    scope = "api"

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def wait(self) -> float | None:
        """Seconds until a request is allowed again, so that every 429 carries ``Retry-After``.

        DRF gives no wait (and its 429 no ``Retry-After``) when more requests are on record than
        the rate allows — the rate was lowered, or two processes counted at once. Then the wait
        lasts until enough of them have aged out: the ``num_requests``-th newest one.
        """
        wait = super().wait()
        if wait is None and self.num_requests:
            wait = self.history[self.num_requests - 1] + self.duration - self.now
        return wait
