"""Hostile values typed into the webhook form: the answer is a redirect after a legitimate
registration (one webhook more) or the form again with a 400 naming the field, never a 5xx,
and a refused post registers nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from apps.webhooks.models import SUBSCRIBABLE, Webhook
from tests.security.test_hostile_common import HOSTILE, hostile_text, post_form

pytestmark = pytest.mark.django_db

URLS = [
    "https://erp.example.com/hooks",
    "http://erp.example.com/hooks",
    "https://10.0.0.1/h",
    "https://[::1]:99999/h",
    "javascript:alert(1)",
    "https://erp.example.com/" + "a" * 600,
    "https://erp.example.com/\x00",
    "https://例え.jp/フック",
]


def webhooks() -> list[dict[str, Any]]:
    return list(Webhook.objects.order_by("pk").values())


@HOSTILE
@given(
    url=st.one_of(hostile_text, st.sampled_from(URLS)),
    events=st.lists(st.one_of(hostile_text, st.sampled_from([e.value for e in SUBSCRIBABLE]))),
    which=st.one_of(hostile_text, st.just("mine")),
)
def test_hostile_webhooks_register_one_webhook_or_nothing(
    owner_client, organization, url, events, which
):
    with transaction.atomic():  # each example leaves nothing behind
        before = webhooks()
        response = post_form(
            owner_client,
            reverse("webhooks:webhook_list"),
            {
                "organization": str(organization.pk) if which == "mine" else which,
                "url": url,
                "events": events,
            },
        )
        if response.status_code == 302:
            after = webhooks()
            assert len(after) == len(before) + 1
            assert after[-1]["url"].startswith("https://")
            assert set(after[-1]["events"]) <= {e.value for e in SUBSCRIBABLE}
        else:
            assert response.status_code == 400, response.status_code
            errors = response.context["form"].errors
            assert errors and set(errors) <= {"url", "events", "organization"}
            assert webhooks() == before
        transaction.set_rollback(True)
