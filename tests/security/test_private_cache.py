"""Answers to signed-in requests are ``Cache-Control: private, no-store``
(``apps.common.middleware.PrivateCacheMiddleware``): no shared proxy or browser history keeps a
page or an API answer holding someone's plans. Anonymous answers, static files and views that
chose their own caching are left as they were."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.cache import get_max_age

from apps.accounts.services import api_token_create
from apps.programs.services import program_create_from_blueprint
from tests.accounts.factories import UserFactory
from tests.conftest import login

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    )
    return program.scenarios.get()


def test_signed_in_pages_are_private_and_not_stored(owner_client, scenario):
    for url in (
        reverse("portfolio:home"),
        reverse("programs:program_list"),
        reverse("programs:program_detail", args=[scenario.program_id]),
    ):
        response = owner_client.get(url)
        assert response.status_code == 200
        assert {"private", "no-store"} <= directives(response), url


def test_a_signed_in_refusal_is_private_too(outsider_client, scenario):
    response = outsider_client.get(reverse("programs:scenario_detail", args=[scenario.pk]))
    assert response.status_code == 404
    assert {"private", "no-store"} <= directives(response)


def test_api_answers_to_a_token_are_private_and_keep_their_etag(
    client, owner, organization, scenario
):
    token = api_token_create(user=owner, organization=organization, name="t", scope="read")[1]
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(reverse("api:scenario-detail", args=[scenario.pk]), headers=headers)
    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)
    assert response["ETag"] == f'"v{scenario.version}"'
    listing = client.get(reverse("api:scenario-list"), headers=headers)
    assert {"private", "no-store"} <= directives(listing)


def test_api_answers_to_a_session_are_private(owner_client, scenario):
    response = owner_client.get(reverse("api:scenario-list"))
    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)


def test_anonymous_answers_get_no_private_marking(client):
    response = client.get(reverse("api:schema"))
    assert response.status_code == 200
    assert "no-store" not in directives(response)
    assert "private" not in directives(response)


def test_a_view_that_sets_its_own_caching_keeps_it(monkeypatch):
    from llmplanner.celery import app as celery_app

    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [{"w@h": {"ok": "pong"}}])
    staff = login(UserFactory(is_staff=True))
    response = staff.get(reverse("healthz"))  # never_cache: max-age=0, no-cache, no-store, ...
    assert get_max_age(response) == 0
    assert {"no-cache", "must-revalidate"} <= directives(response)


def test_static_files_keep_whitenoise_caching_for_signed_in_users(settings, owner):
    settings.WHITENOISE_USE_FINDERS = True  # serve from static/ without collectstatic
    browser = login(owner)  # a new client: its middleware is built with these settings
    response = browser.get("/static/css/app.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)  # the stylesheet itself
    assert "no-store" not in directives(response)
    assert "private" not in directives(response)
