"""``Idempotency-Key``: one key is one request — a different body or scenario is a 422 — per token,
and concurrent first uses of a key start one run, never a 500."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.urls import reverse

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun
from tests.api.conftest import ApiClient

PARALLEL = 12


def start(client, scenario, body, key):
    return client.post(
        reverse("api:scenario-start-run", args=[scenario.pk]),
        body,
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


@pytest.mark.django_db
def test_a_key_replayed_with_another_body_is_422_and_starts_nothing(writer, scenario):
    first = start(writer, scenario, {"trials": 100}, "k-1")
    assert first.status_code == 202
    again = start(writer, scenario, {"trials": 100, "seed": 7}, "k-1")
    assert again.status_code == 422, again.json()
    assert again.json()["error"]["code"] == "idempotency_key_reused"
    assert "different request" in again.json()["error"]["message"]
    assert list(PlanRun.objects.values_list("pk", "seed")) == [(first.json()["id"], 0)]


@pytest.mark.django_db
def test_a_key_replayed_on_another_scenario_is_422(writer, owner, organization, scenario):
    other = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    ).scenarios.get()
    assert start(writer, scenario, {"trials": 100}, "k-1").status_code == 202
    response = start(writer, other, {"trials": 100}, "k-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert set(PlanRun.objects.values_list("scenario_id", flat=True)) == {scenario.pk}


@pytest.mark.django_db
def test_the_same_json_written_differently_is_the_same_request(writer, scenario):
    url = reverse("api:scenario-start-run", args=[scenario.pk])
    first = writer.post(
        url,
        '{"trials": 100, "seed": 3}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    again = writer.post(
        url,
        '{"seed":3,"trials":100}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and PlanRun.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_token(writer, owner, organization, scenario):
    from apps.accounts.services import api_token_create

    second = ApiClient(
        api_token_create(user=owner, organization=organization, name="ERP 2", scope="write")[1]
    )
    a = start(writer, scenario, {"trials": 100}, "shared-key")
    b = start(second, scenario, {"trials": 100, "seed": 5}, "shared-key")
    assert a.status_code == b.status_code == 202, b.json()
    assert a.json()["id"] != b.json()["id"]
    assert sorted(PlanRun.objects.values_list("seed", flat=True)) == [0, 5]
    replay = start(second, scenario, {"trials": 100, "seed": 5}, "shared-key")
    assert replay.json()["id"] == b.json()["id"]


@pytest.mark.django_db
def test_a_session_user_has_keys_of_their_own(owner_client, writer, scenario):
    a = start(writer, scenario, {"trials": 100}, "mine")
    b = start(owner_client, scenario, {"trials": 100, "seed": 2}, "mine")
    assert a.status_code == b.status_code == 202, b.json()
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_parallel_first_uses_of_one_key_start_one_run_and_never_fail(
    live_server, write_token, scenario
):
    """Real parallel requests against a threaded server sharing the database: every answer is
    the one run (202), or a 409 to retry; exactly one run exists."""
    url = live_server.url + reverse("api:scenario-start-run", args=[scenario.pk])
    barrier = threading.Barrier(PARALLEL)

    def post(_: int) -> requests.Response:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            return http.post(
                url,
                json={"trials": 100, "seed": 11},
                headers={"Authorization": f"Bearer {write_token}", "Idempotency-Key": "burst"},
                timeout=60,
            )

    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(pool.map(post, range(PARALLEL)))
    assert len(responses) == PARALLEL
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {202, 409}, [(r.status_code, r.text[:300]) for r in responses]
    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    assert accepted and len(set(accepted)) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "idempotency_key_in_flight"
    assert list(PlanRun.objects.values_list("pk", flat=True)) == accepted[:1]
