"""Members and API tokens of the user's organizations.

Members see who belongs to their organizations; owners add members, change roles and remove
them (a non-owner's POST is a 403, another organization's member a 404). API tokens: members see
their organizations' tokens; owners create and revoke them. A new token's secret is shown once,
on the page that created it, and stored nowhere."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import ApiToken, Membership
from apps.accounts.selectors import (
    api_token_get,
    api_token_list,
    membership_get_by_id,
    membership_list,
    organization_list_owned,
)
from apps.accounts.services import (
    MemberDenied,
    api_token_create,
    api_token_revoke,
    membership_add,
    membership_remove,
    membership_role_set,
)
from apps.accounts.throttle import lockout_remaining, login_failed, login_succeeded
from apps.common.errors import ApplicationError


class LoginView(auth_views.LoginView):
    """Django's sign-in with throttling (``apps.accounts.throttle``): while a user name or an
    address is locked, the form answers 429 with how long to wait, and no password is checked."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        address = request.META.get("REMOTE_ADDR", "")
        wait = lockout_remaining(username=username, address=address)
        if wait:
            form = self.get_form()
            minutes = (wait + 59) // 60
            form.add_error(
                None,
                ngettext(
                    "Too many failed sign-ins. Try again in %(n)d minute.",
                    "Too many failed sign-ins. Try again in %(n)d minutes.",
                    minutes,
                )
                % {"n": minutes},
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(wait)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code == 302:
            login_succeeded(username=username)
        else:
            login_failed(username=username, address=address)
        return response


NEW_TOKEN_KEY = "api_token_created"


class ApiTokenForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Organization"))  # type: ignore[arg-type]
    name = forms.CharField(
        max_length=100, label=gettext_lazy("Name"), help_text=gettext_lazy("e.g. “Finance ERP”")
    )
    scope = forms.ChoiceField(
        choices=[("read", gettext_lazy("Read only")), ("write", gettext_lazy("Read and write"))],
        label=gettext_lazy("Scope"),
    )

    def __init__(self, *args: object, organizations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    owned = organization_list_owned(user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and not owned.exists():
        raise PermissionDenied  # only owners create tokens; the page offers no form to others
    form = ApiTokenForm(
        request.POST or None, organizations=owned, initial={"organization": owned.first()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = api_token_create(
                user=request.user,  # type: ignore[arg-type]
                organization=form.cleaned_data["organization"],
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            # Post/redirect/get, so a reload never creates a second token; the secret rides in
            # the session to the next page and is dropped there, shown once.
            request.session[NEW_TOKEN_KEY] = [token.pk, secret]
            return redirect("accounts:api_tokens")
    created: tuple[ApiToken, str] | None = None
    if request.method == "GET" and (pending := request.session.pop(NEW_TOKEN_KEY, None)):
        token = api_token_list(user=request.user).filter(pk=pending[0]).first()  # type: ignore[arg-type]
        created = (token, pending[1]) if token is not None else None
    tokens = api_token_list(user=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "accounts/api_tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "owned_ids": set(owned.values_list("pk", flat=True)),
            "created": created,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_token_get(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    if not organization_list_owned(user=request.user).filter(pk=token.organization_id).exists():  # type: ignore[arg-type]
        raise PermissionDenied
    try:
        api_token_revoke(user=request.user, token=token)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:api_tokens")


ROLE_CHOICES = [
    (Membership.Role.OWNER, gettext_lazy("Owner")),
    (Membership.Role.EDITOR, gettext_lazy("Editor")),
    (Membership.Role.VIEWER, gettext_lazy("Viewer")),
]


class MemberAddForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Organization"))  # type: ignore[arg-type]
    username = forms.CharField(max_length=150, label=gettext_lazy("User name"))
    role = forms.ChoiceField(choices=ROLE_CHOICES, label=gettext_lazy("Role"))

    def __init__(self, *args: object, organizations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, label=gettext_lazy("Role"))


@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    owned = organization_list_owned(user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and not owned.exists():
        raise PermissionDenied
    form = MemberAddForm(
        request.POST or None, organizations=owned, initial={"organization": owned.first()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            member = membership_add(
                user=request.user,  # type: ignore[arg-type]
                organization=form.cleaned_data["organization"],
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except MemberDenied as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)  # type: ignore[arg-type]
        else:
            messages.success(
                request,
                _("%(user)s added to %(org)s.")
                % {"user": member.user.username, "org": member.organization.name},
            )
            return redirect("accounts:members")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/members.html",
        {
            "form": form,
            "members": membership_list(user=request.user),  # type: ignore[arg-type]
            "owned_ids": set(owned.values_list("pk", flat=True)),
            "roles": ROLE_CHOICES,
        },
        status=status,
    )


@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_get_by_id(user=request.user, membership_id=membership_id)  # type: ignore[arg-type]
    form = MemberRoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(_("Choose owner, editor or viewer."))
        membership_role_set(
            user=request.user,  # type: ignore[arg-type]
            membership=membership,
            role=form.cleaned_data["role"],
        )
    except MemberDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(user)s is now %(role)s.")
            % {"user": membership.user.username, "role": membership.get_role_display()},
        )
    return redirect("accounts:members")


@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_get_by_id(user=request.user, membership_id=membership_id)  # type: ignore[arg-type]
    try:
        membership_remove(user=request.user, membership=membership)  # type: ignore[arg-type]
    except MemberDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(user)s removed from %(org)s.")
            % {"user": membership.user.username, "org": membership.organization.name},
        )
    return redirect("accounts:members")
