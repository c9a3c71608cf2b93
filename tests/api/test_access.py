"""Authentication, token scope, and that no token ever sees another organization's data."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_revoke

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


def _detail_urls(scenario, run):
    line = scenario.budget_lines.first()
    return [
        reverse("api:program-detail", args=[scenario.program_id]),
        reverse("api:scenario-detail", args=[scenario.pk]),
        reverse("api:scenario-budget", args=[scenario.pk]),
        reverse("api:scenario-activity", args=[scenario.pk]),
        reverse("api:run-detail", args=[run.pk]),
        reverse("api:budget-line-detail", args=[line.pk]),
        reverse("api:team-line-detail", args=[scenario.team_lines.first().pk]),
        reverse("api:dataset-detail", args=[scenario.datasets.first().pk]),
    ]


LISTS = [
    "api:program-list",
    "api:scenario-list",
    "api:run-list",
    "api:budget-line-list",
    "api:team-line-list",
    "api:dataset-list",
]


def test_no_token_is_401_in_the_error_envelope(client, db):
    response = client.get(reverse("api:program-list"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer llmp_deadbeef_wrong", "Bearer a b"])
def test_a_bad_token_is_401(db, header):
    response = ApiClient().get(reverse("api:program-list"), headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_token_stops_working_at_once(owner, read_token, reader):
    assert reader.get(reverse("api:program-list")).status_code == 200
    api_token_revoke(user=owner, token=ApiToken.objects.get())
    response = reader.get(reverse("api:program-list"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_the_token_is_stored_hashed_and_its_use_recorded(read_token, reader):
    token = ApiToken.objects.get()
    assert read_token not in (token.key_hash, token.prefix) and token.last_used_at is None
    reader.get(reverse("api:program-list"))
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at <= timezone.now()


def test_a_read_only_token_cannot_write(reader, scenario):
    response = reader.post(
        reverse("api:scenario-start-run", args=[scenario.pk]), {}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["error"]["message"]


@pytest.mark.parametrize("name", LISTS)
def test_lists_show_only_the_tokens_organization(name, reader, outsider_api, run, scenario):
    mine = reader.get(reverse(name)).json()["results"]
    theirs = outsider_api.get(reverse(name)).json()["results"]
    assert mine, name
    assert not {item["id"] for item in mine} & {item["id"] for item in theirs}


def test_every_detail_endpoint_is_404_to_another_organizations_token(outsider_api, run, scenario):
    for url in _detail_urls(scenario, run):
        response = outsider_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


def test_writes_to_another_organizations_data_are_404_and_change_nothing(outsider_api, scenario):
    line = scenario.budget_lines.first()
    before = (line.gpu_count, scenario.version)
    url = reverse("api:budget-line-detail", args=[line.pk])
    headers = {"If-Match": f'"v{scenario.version}"'}
    assert (
        outsider_api.patch(
            url, {"gpu_count": 8}, content_type="application/json", headers=headers
        ).status_code
        == 404
    )
    assert outsider_api.delete(url, headers=headers).status_code == 404
    create = outsider_api.post(
        reverse("api:budget-line-list"),
        {"scenario": scenario.pk, "gpu_type": "h100-80gb", "gpu_count": 8},
        content_type="application/json",
        headers=headers,
    )
    assert create.status_code == 404
    start = outsider_api.post(
        reverse("api:scenario-start-run", args=[scenario.pk]), {}, content_type="application/json"
    )
    assert start.status_code == 404
    line.refresh_from_db()
    scenario.refresh_from_db()
    assert (line.gpu_count, scenario.version) == before


def test_a_browser_session_works_for_reading(owner_client, run, scenario):
    response = owner_client.get(reverse("api:program-list"))
    assert response.status_code == 200
    programs = response.json()["results"]
    assert [(p["id"], p["name"]) for p in programs] == [
        (scenario.program_id, scenario.program.name)
    ]


def test_the_rate_limit_answers_429_in_the_envelope(reader, settings, db):
    from django.core.cache import cache
    from rest_framework.settings import api_settings

    cache.clear()
    from apps.api.throttling import TokenRateThrottle

    original = TokenRateThrottle.THROTTLE_RATES
    TokenRateThrottle.THROTTLE_RATES = {"api": "3/min"}
    try:
        codes = [reader.get(reverse("api:program-list")).status_code for _ in range(5)]
    finally:
        TokenRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert api_settings.DEFAULT_THROTTLE_RATES["api"]


def test_an_address_with_a_newline_gets_the_json_404(client):
    # Schemathesis found "/api/v1/budget-lines/%0A/" answered by the site's HTML 404.
    response = client.get("/api/v1/budget-lines/%0A/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
