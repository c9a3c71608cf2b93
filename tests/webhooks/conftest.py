import pytest


@pytest.fixture
def local_receivers_allowed(settings):
    """The tests' receivers listen on http://127.0.0.1, which the server allows only in DEBUG
    or with WEBHOOK_ALLOW_HTTP; the tests run either way."""
    settings.WEBHOOK_ALLOW_HTTP = True


class Scheduled:
    """A ``schedule`` callable for the delivery service that records what it would publish
    (the delivery, the attempt's number, the countdown) and the row's stored due time then."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, *, delivery_id: int, attempt: int, countdown: int) -> bool:
        from apps.webhooks.models import WebhookDelivery

        due = WebhookDelivery.objects.get(pk=delivery_id).next_attempt_at
        self.calls.append(
            {"delivery_id": delivery_id, "attempt": attempt, "countdown": countdown, "due": due}
        )
        return True


@pytest.fixture
def scheduled():
    return Scheduled()
