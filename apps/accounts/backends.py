"""The one authentication backend: Django's ``ModelBackend`` (user names looked up in their
normal form, ``NormalizedUserManager.get_by_natural_key``) behind the sign-in throttle.

Every sign-in form calls ``authenticate()`` and so comes through here — the site's, the
admin's, any added later — and shares one count per user name and per address
(``apps.accounts.throttle``). Each attempt is claimed (an atomic increment) before its password
is checked, so parallel guesses get no more checks than the limit; a locked name is refused
before any password is checked, and the request then carries ``login_lockout_seconds`` for the
form to say how long to wait.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from apps.accounts.throttle import (
    client_address,
    login_attempt_claim,
    login_failed,
    login_succeeded,
)

LOCKOUT_ATTRIBUTE = "login_lockout_seconds"


class ThrottledModelBackend(ModelBackend):
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        username = str(username)[:150]
        address = client_address(request)
        wait = login_attempt_claim(username=username, address=address)
        if wait:
            if request is not None:
                setattr(request, LOCKOUT_ATTRIBUTE, wait)
            # PermissionDenied stops authenticate() from trying any other backend.
            raise PermissionDenied("sign-in locked")
        try:
            user = super().authenticate(request, username=username, password=password, **kwargs)
        except BaseException:
            # The check did not finish (the database is down...): the claim counts as a failure.
            login_failed(username=username, address=address)
            raise
        if user is None:
            login_failed(username=username, address=address)
        else:
            login_succeeded(username=username, address=address)
        return user
