from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import Membership, User
from apps.webhooks.models import Webhook, WebhookDelivery

DELIVERY_LOG_LENGTH = 100


def webhook_list(*, user: User) -> QuerySet[Webhook]:
    """Webhooks of the organizations the user owns: only owners see them (a webhook's log shows
    what the organization sends out, and its page once showed the secret)."""
    return Webhook.objects.filter(
        organization__memberships__user=user,
        organization__memberships__role=Membership.Role.OWNER,
    ).select_related("organization", "created_by")


def webhook_get(*, user: User, webhook_id: int) -> Webhook:
    """A webhook of one of the user's organizations, in any role (a non-owner then gets the 403
    of the view); another organization's is a 404."""
    return get_object_or_404(
        Webhook.objects.filter(organization__memberships__user=user).select_related("organization"),
        pk=webhook_id,
    )


def webhook_delivery_list(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    """The webhook's latest deliveries, newest first (the log keeps them all; the page shows
    ``DELIVERY_LOG_LENGTH``)."""
    return webhook.deliveries.order_by("-created_at", "-pk")[:DELIVERY_LOG_LENGTH]
