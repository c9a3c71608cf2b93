"""Sign-in forms that say how long a throttled user name must wait (``backends``), and the
invitation form of the members page."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy, ngettext

from apps.accounts.backends import LOCKOUT_ATTRIBUTE
from apps.accounts.throttle import (
    client_address,
    login_attempt_claim,
    login_failed,
    login_succeeded,
)


def lockout_seconds(request: object) -> int:
    """Seconds the request's sign-in was refused for (0 when it was not throttled)."""
    return int(getattr(request, LOCKOUT_ATTRIBUTE, 0) or 0)


def lockout_message(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return ngettext(
        "Too many failed sign-ins. Try again in %(n)d minute.",
        "Too many failed sign-ins. Try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


class _LockoutMessage:
    request: object

    def get_invalid_login_error(self) -> ValidationError:
        seconds = lockout_seconds(self.request)
        if seconds:
            return ValidationError(lockout_message(seconds), code="throttled")
        return super().get_invalid_login_error()  # type: ignore[misc]


class LoginForm(_LockoutMessage, AuthenticationForm):
    """The site's sign-in form."""


class AdminLoginForm(_LockoutMessage, AdminAuthenticationForm):
    """The admin's sign-in form (``admin.site.login_form``): the same throttle as the site's."""


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, whose old-password check is a sign-in like any other: refused
    while the user name (or the client's address) is locked, and a wrong old password counts as
    a failed sign-in of the name from the address (``throttle.login_attempt_claim``), so a
    signed-in session cannot be used to guess the password at speed."""

    def __init__(
        self, user: object, *args: object, request: object = None, **kwargs: object
    ) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)  # type: ignore[arg-type]

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        address = client_address(self.request)
        wait = login_attempt_claim(username=username, address=address)
        if wait:
            if self.request is not None:
                setattr(self.request, LOCKOUT_ATTRIBUTE, wait)
            raise ValidationError(lockout_message(wait), code="throttled")
        if not self.user.check_password(old_password):
            login_failed(username=username, address=address)
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        login_succeeded(username=username, address=address)
        return str(old_password)


ROLE_CHOICES = [
    ("owner", gettext_lazy("Owner")),
    ("editor", gettext_lazy("Editor")),
    ("viewer", gettext_lazy("Viewer")),
]


class InvitationForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Organization"))  # type: ignore[arg-type]
    invitee = forms.CharField(
        max_length=254,
        label=gettext_lazy("User name or e-mail"),
        help_text=gettext_lazy("They accept or decline after signing in; it lapses in 14 days."),
    )
    # Least power by default: making someone an owner is a choice, not an oversight.
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="viewer", label=gettext_lazy("Role"))

    def __init__(self, *args: object, organizations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
