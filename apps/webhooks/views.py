"""The webhooks page beside API tokens: owners register webhooks, see each one's delivery log,
send a test, switch them off and on, delete them. A new webhook's secret is shown once, on the
page that created it.

Only owners see webhooks: the list shows those of the organizations the user owns; another
role's POST is a 403 before any form is read, a webhook of the user's organization opened by a
non-owner a 403, another organization's a 404 (as the members and API token pages do)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import User
from apps.accounts.selectors import organization_list_owned
from apps.common.errors import ApplicationError
from apps.webhooks.forms import WebhookForm
from apps.webhooks.models import Webhook
from apps.webhooks.selectors import (
    DELIVERY_LOG_LENGTH,
    webhook_delivery_list,
    webhook_get,
    webhook_list,
)
from apps.webhooks.services import (
    BACKOFF_S,
    MAX_ATTEMPTS,
    WebhookDenied,
    webhook_active_set,
    webhook_create,
    webhook_delete,
    webhook_ping,
)

NEW_WEBHOOK_KEY = "webhook_created"


def _owned_webhook(request: HttpRequest, webhook_id: int) -> Webhook:
    user: User = request.user  # type: ignore[assignment]
    webhook = webhook_get(user=user, webhook_id=webhook_id)
    if not organization_list_owned(user=user).filter(pk=webhook.organization_id).exists():
        raise PermissionDenied
    return webhook


@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    owned = organization_list_owned(user=user)
    if request.method == "POST" and not owned.exists():
        raise PermissionDenied  # only owners register webhooks; the page offers no form to others
    form = WebhookForm(
        request.POST or None, organizations=owned, initial={"organization": owned.first()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            webhook = webhook_create(
                user=user,
                organization=form.cleaned_data["organization"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except WebhookDenied as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)  # type: ignore[arg-type]
        else:
            # Post/redirect/get; the next page shows the secret once (only the id rides in the
            # session, the secret stays in the database).
            request.session[NEW_WEBHOOK_KEY] = webhook.pk
            return redirect("webhooks:webhook_list")
    created = None
    if request.method == "GET" and (pending := request.session.pop(NEW_WEBHOOK_KEY, None)):
        created = webhook_list(user=user).filter(pk=pending).first()
    return render(
        request,
        "webhooks/webhooks.html",
        {"form": form, "webhooks": webhook_list(user=user), "created": created},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
def webhook_detail(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """The webhook's delivery log: its latest deliveries with their answers."""
    webhook = _owned_webhook(request, webhook_id)
    return render(
        request,
        "webhooks/webhook_detail.html",
        {
            "webhook": webhook,
            "deliveries": webhook_delivery_list(webhook=webhook),
            "log_length": DELIVERY_LOG_LENGTH,
            "max_attempts": MAX_ATTEMPTS,
            "backoff": ", ".join(_wait(s) for s in BACKOFF_S),
        },
    )


def _wait(seconds: int) -> str:
    """A wait of the backoff table in its natural unit (30 s, 2 min, 2 h)."""
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    if seconds < 3600:
        return _("%(n)d min") % {"n": seconds // 60}
    return _("%(n)d h") % {"n": seconds // 3600}


def _act(request: HttpRequest, webhook_id: int, action: str) -> HttpResponse:
    webhook = _owned_webhook(request, webhook_id)
    user: User = request.user  # type: ignore[assignment]
    try:
        if action == "ping":
            webhook_ping(user=user, webhook=webhook)
            done = _("Test event queued for %(url)s; its answer appears in the log.")
        elif action == "delete":
            webhook_delete(user=user, webhook=webhook)
            done = _("Webhook %(url)s deleted.")
        else:
            webhook_active_set(user=user, webhook=webhook, active=action == "activate")
            done = (
                _("Webhook %(url)s switched on.")
                if webhook.active
                else _("Webhook %(url)s switched off.")
            )
    except WebhookDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"url": webhook.url})
    if action == "ping":
        return redirect("webhooks:webhook_detail", webhook_id=webhook_id)
    return redirect("webhooks:webhook_list")


@require_POST
def webhook_ping_view(request: HttpRequest, webhook_id: int) -> HttpResponse:
    return _act(request, webhook_id, "ping")


@require_POST
def webhook_activate(request: HttpRequest, webhook_id: int) -> HttpResponse:
    return _act(request, webhook_id, "activate")


@require_POST
def webhook_deactivate(request: HttpRequest, webhook_id: int) -> HttpResponse:
    return _act(request, webhook_id, "deactivate")


@require_POST
def webhook_delete_view(request: HttpRequest, webhook_id: int) -> HttpResponse:
    return _act(request, webhook_id, "delete")
