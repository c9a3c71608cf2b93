"""Sign-in and passwords; members, invitations and API tokens of the user's organizations.

Members see who belongs to their organizations; owners invite members (the invitee accepts or
declines after signing in), change roles and remove them (a non-owner's POST is a 403, another
organization's member a 404). API tokens: members see
their organizations' tokens; owners create and revoke them. A new token's secret is shown once,
on the page that created it, and stored nowhere."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.forms import (
    ROLE_CHOICES,
    InvitationForm,
    LoginForm,
    ThrottledPasswordChangeForm,
    lockout_seconds,
)
from apps.accounts.models import ApiToken, Invitation
from apps.accounts.selectors import (
    api_token_get,
    api_token_list,
    invitation_get_sent,
    invitation_list_received,
    invitation_list_sent,
    membership_get_by_id,
    membership_list,
    organization_list_owned,
)
from apps.accounts.services import (
    MemberDenied,
    api_token_create,
    api_token_revoke,
    invitation_accept,
    invitation_cancel,
    invitation_decline,
    invitation_send,
    membership_remove,
    membership_role_set,
)
from apps.accounts.throttle import client_address, password_reset_request
from apps.common.errors import ApplicationError


class LoginView(auth_views.LoginView):
    """Django's sign-in with throttling (``apps.accounts.backends``): while a user name or an
    address is locked, the form answers 429 with how long to wait, and no password is checked."""

    redirect_authenticated_user = True
    authentication_form = LoginForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        return _throttled(self.request, super().form_invalid(form))


def _throttled(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A sign-in page refused by the throttle answers 429 with ``Retry-After``."""
    wait = lockout_seconds(request)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in (``/admin/login/``): Django's, with the site's throttle (the backend
    and ``AdminLoginForm``) and the same 429 answer."""
    response = admin.site.login(request)
    return _throttled(request, response)


class PasswordChangeView(auth_views.PasswordChangeView):
    """A signed-in user changes their password (the old one first); the session stays signed in,
    other sessions of the user end (Django rotates the session's hash). The old password is
    checked under the sign-in throttle (``ThrottledPasswordChangeForm``): while the name is
    locked the form answers 429 with ``Retry-After``, like the sign-in page."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, object]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return _throttled(self.request, response)


class PasswordResetView(auth_views.PasswordResetView):
    """A reset link by e-mail. The answer is the same whether or not an account has the
    address; requests are throttled per address typed and per client
    (``throttle.password_reset_request``), and a throttled one sends nothing (429)."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: forms.Form) -> HttpResponse:
        wait = password_reset_request(
            email=form.cleaned_data["email"], address=client_address(self.request)
        )
        if wait:
            minutes = (wait + 59) // 60
            form.add_error(
                None,
                ngettext(
                    "Too many reset requests. Try again in %(n)d minute.",
                    "Too many reset requests. Try again in %(n)d minutes.",
                    minutes,
                )
                % {"n": minutes},
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().form_valid(form)

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
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


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, label=gettext_lazy("Role"))


@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    owned = organization_list_owned(user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and not owned.exists():
        raise PermissionDenied
    form = InvitationForm(
        request.POST or None, organizations=owned, initial={"organization": owned.first()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            invitation_send(
                user=request.user,  # type: ignore[arg-type]
                organization=form.cleaned_data["organization"],
                invitee=form.cleaned_data["invitee"],
                role=form.cleaned_data["role"],
            )
        except MemberDenied as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)  # type: ignore[arg-type]
        else:
            # The same words whether or not the account exists: no guessing of user names.
            messages.success(request, _("Invitation sent if the account exists."))
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
            "sent": invitation_list_sent(user=request.user),  # type: ignore[arg-type]
            "received": invitation_list_received(user=request.user).count(),  # type: ignore[arg-type]
            "now": timezone.now(),
        },
        status=status,
    )


@require_GET
def invitations(request: HttpRequest) -> HttpResponse:
    """The signed-in user's open invitations, to accept or decline."""
    received = invitation_list_received(user=request.user)  # type: ignore[arg-type]
    return render(request, "accounts/invitations.html", {"invitations": received})


@require_POST
def invitation_answer(request: HttpRequest, invitation_id: int, accept: bool) -> HttpResponse:
    """Accept or decline one of the user's invitations; anyone else's is a 404."""
    if not Invitation.objects.filter(pk=invitation_id, user=request.user).exists():  # type: ignore[misc]
        raise Http404
    try:
        if accept:
            membership = invitation_accept(user=request.user, invitation_id=invitation_id)  # type: ignore[arg-type]
        else:
            invitation = invitation_decline(user=request.user, invitation_id=invitation_id)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:invitations")
    if accept:
        messages.success(
            request,
            _("You joined %(org)s as %(role)s.")
            % {"org": membership.organization.name, "role": membership.get_role_display()},
        )
        return redirect("portfolio:home")
    messages.success(
        request,
        _("Invitation to %(org)s declined.") % {"org": invitation.organization.name},
    )
    return redirect("accounts:invitations")


@require_POST
def invitation_cancel_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get_sent(user=request.user, invitation_id=invitation_id)  # type: ignore[arg-type]
    try:
        invitation_cancel(user=request.user, invitation=invitation)  # type: ignore[arg-type]
    except MemberDenied as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("Invitation of %(name)s withdrawn.") % {"name": invitation.invitee})
    return redirect("accounts:members")


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
