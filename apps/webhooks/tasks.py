from celery import shared_task

from apps.webhooks.services import webhook_deliveries_sweep, webhook_delivery_attempt


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: int, attempt: int = 1) -> None:
    """Make one attempt of a webhook delivery by id; the outcome is stored on its row and the
    next attempt, if one is due, scheduled with a countdown."""
    webhook_delivery_attempt(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="webhooks.sweep_deliveries")
def sweep_deliveries() -> dict[str, int]:
    """Periodic (beat): resend deliveries whose message was lost; fail those out of attempts."""
    return webhook_deliveries_sweep()
