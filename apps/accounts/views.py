"""API token management: members see their organizations' tokens; owners create and revoke them.
A new token's secret is shown once, on the page that created it, and stored nowhere."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import ApiToken
from apps.accounts.selectors import api_token_get, api_token_list, organization_list_owned
from apps.accounts.services import api_token_create, api_token_revoke
from apps.common.errors import ApplicationError


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
    form = ApiTokenForm(
        request.POST or None, organizations=owned, initial={"organization": owned.first()}
    )
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created = api_token_create(
                user=request.user,  # type: ignore[arg-type]
                organization=form.cleaned_data["organization"],
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            form = ApiTokenForm(organizations=owned, initial={"organization": owned.first()})
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
    )


@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_token_get(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    try:
        api_token_revoke(user=request.user, token=token)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:api_tokens")
