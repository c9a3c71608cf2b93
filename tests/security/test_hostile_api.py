"""Hostile input to the finance API's writes: budget-line create and patch, run start, export
start. Every answer is a success or a 4xx in the error envelope naming the field; a refusal
leaves every planning table as it was."""

from __future__ import annotations

import json
import math

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from apps.programs.models import GPUBudgetLine, Scenario
from apps.programs.plan_adapter import scenario_plan
from apps.runs.services import plan_run_create, plan_run_execute
from tests.security import test_hostile_common as common
from tests.security.test_hostile_common import (
    HOSTILE,
    assert_finite,
    hostile_json,
    json_body,
    snapshot,
)

pytestmark = pytest.mark.django_db
# The shared fixtures (a module attribute is how pytest finds a fixture outside a conftest).
hostile_scenario = common.hostile_scenario
write_token = common.write_token
api_headers = common.api_headers

LINE_FIELDS = [
    "scenario",
    "purpose",
    "provider",
    "gpu_type",
    "gpu_count",
    "mode",
    "price_per_gpu_hour",
    "start_date",
    "months",
    "delivery_risk",
    "reliability_class",
    "checkpoint_storage_gbps",
]


def if_match(scenario_id: int) -> str:
    return f'"v{Scenario.objects.get(pk=scenario_id).version}"'


def check_answer(response, body, before) -> None:
    """The contract of every write: no 5xx; a refusal is enveloped, names a field when a field is
    at fault, and changed nothing; a success saved only finite numbers."""
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
        if response.status_code == 400 and error["code"] == "invalid":
            assert error["fields"], error
            if isinstance(body, dict) and body:
                named = set(error["fields"])
                assert named & (set(body) | {"non_field_errors"}) or any(
                    "." in name
                    for name in named  # the core's own field path
                ), (error, list(body))
        assert snapshot() == before


def _line_body():
    values = st.one_of(hostile_json, st.sampled_from(["training", "rent", "h100-80gb", "2.5"]))
    return st.one_of(
        st.dictionaries(st.sampled_from(LINE_FIELDS), values, min_size=1, max_size=4),
        hostile_json,
    )


@HOSTILE
@given(body=_line_body())
def test_hostile_budget_line_patches_are_refused_cleanly(
    client, api_headers, hostile_scenario, body
):
    line = hostile_scenario.budget_lines.first()
    before = snapshot()
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        json_body(body),
        content_type="application/json",
        headers={**api_headers, "If-Match": if_match(hostile_scenario.pk)},
    )
    check_answer(response, body, before)
    if response.status_code == 200:
        assert_finite(GPUBudgetLine.objects.filter(pk=line.pk).values().get())
        scenario_plan(Scenario.objects.get(pk=hostile_scenario.pk))


@HOSTILE
@given(extra=st.dictionaries(st.sampled_from(LINE_FIELDS[3:]), hostile_json, max_size=3))
def test_hostile_budget_line_creates_are_refused_cleanly(
    client, api_headers, hostile_scenario, extra
):
    body = {"scenario": hostile_scenario.pk, "gpu_type": "h800-80gb", "gpu_count": 64, **extra}
    before = snapshot()
    response = client.post(
        reverse("api:budget-line-list"),
        json_body(body),
        content_type="application/json",
        headers={**api_headers, "If-Match": if_match(hostile_scenario.pk)},
    )
    check_answer(response, body, before)
    if response.status_code == 201:
        assert_finite(GPUBudgetLine.objects.filter(pk=response.json()["id"]).values().get())


@HOSTILE
@given(
    body=st.one_of(
        st.fixed_dictionaries({}, optional={"trials": hostile_json, "seed": hostile_json}),
        hostile_json,
    )
)
def test_hostile_run_requests_are_refused_cleanly(client, api_headers, hostile_scenario, body):
    before = snapshot()
    response = client.post(
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        json_body(body),
        content_type="application/json",
        headers=api_headers,
    )
    check_answer(response, body, before)


@pytest.fixture
def succeeded_run(owner, hostile_scenario):
    created = plan_run_create(user=owner, scenario=hostile_scenario, trials=50)
    return plan_run_execute(run_id=created.pk, worker="hostile")


@HOSTILE
@given(
    body=st.one_of(
        st.fixed_dictionaries({}, optional={"paper": hostile_json, "language": hostile_json}),
        hostile_json,
    )
)
def test_hostile_export_requests_are_refused_cleanly(client, api_headers, succeeded_run, body):
    before = snapshot()
    response = client.post(
        reverse("api:run-export", args=[succeeded_run.pk]),
        json_body(body),
        content_type="application/json",
        headers=api_headers,
    )
    check_answer(response, body, before)


# --- regressions: one example each of what the property tests found ---------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({"provider": "\ud800"}, "provider"),  # a lone surrogate cannot be stored as UTF-8
        ({"provider": "GPU\x00cloud"}, "provider"),  # Postgres refuses NUL in text
        ({"checkpoint_storage_gbps": math.nan}, None),  # NaN as a JSON word: not JSON
        ({"checkpoint_storage_gbps": "NaN"}, "checkpoint_storage_gbps"),
        ({"checkpoint_storage_gbps": 1e400}, None),
        ({"checkpoint_storage_gbps": 10**400}, "checkpoint_storage_gbps"),
        ({"price_per_gpu_hour": 10**400}, "price_per_gpu_hour"),
        ({"months": "1e999999999"}, "months"),
        ({"gpu_count": 10**400}, "gpu_count"),
        ({"start_date": "99999-01-01"}, "start_date"),
    ],
)
def test_a_hostile_patch_is_a_400_naming_the_field(
    client, api_headers, hostile_scenario, body, field
):
    line = hostile_scenario.budget_lines.first()
    before = snapshot()
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        json.dumps(body, allow_nan=True),
        content_type="application/json",
        headers={**api_headers, "If-Match": if_match(hostile_scenario.pk)},
    )
    assert response.status_code == 400, response.content[:300]
    if field:
        assert field in response.json()["error"]["fields"]
    assert snapshot() == before


@pytest.mark.parametrize("field", ["paper", "language"])
def test_a_lone_surrogate_in_a_choice_is_a_400_that_echoes_it_escaped(
    client, api_headers, succeeded_run, field
):
    # Found by ./scripts/fuzz_api.sh (seed 4197255448): the refusal quoted the value back and the
    # error itself could not be encoded (a 500).
    before = snapshot()
    response = client.post(
        reverse("api:run-export", args=[succeeded_run.pk]),
        json.dumps({field: "\ud800"}),
        content_type="application/json",
        headers=api_headers,
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid" and "\\ud800" in error["fields"][field][0]
    assert snapshot() == before


@pytest.mark.parametrize(
    "key, status",
    [
        ("a\x00b", 400),  # NUL: refused by HTTP itself (RFC 9110 §5.5), and by Postgres in text
        ("\x7f\x01", 400),
        ("k" * 101, 400),
        ("é-ü-ñ", 202),  # Latin-1 is legal in a header value
        ("retry-1", 202),
    ],
)
def test_hostile_idempotency_keys_are_refused_or_used(
    client, api_headers, hostile_scenario, key, status
):
    before = snapshot()
    response = client.post(
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        "{}",
        content_type="application/json",
        headers={**api_headers, "Idempotency-Key": key},
    )
    assert response.status_code == status, response.content[:300]
    if status == 400:
        assert response.json()["error"]["code"]
        assert snapshot() == before
