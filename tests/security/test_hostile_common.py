"""Shared pieces of the hostile-input tests (``test_hostile_*.py``): the hostile values, a
snapshot of the planning tables to prove a refusal saved nothing, and the hypothesis profile.

Also the tests of the request guard (``apps.common.middleware.RequestGuardMiddleware``): bodies
too large or nested too deep are refused before any view parses them.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import models
from django.urls import reverse
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from apps.accounts.services import api_token_create
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    Program,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.programs.services import program_create_from_blueprint
from apps.reports.models import Export
from apps.runs.models import PlanRun
from tests.fuzzing import examples

# The profile (tests/fuzzing.py) derandomizes in the gate — the same examples on every run and in
# CI — and draws fresh ones under ./scripts/fuzz_api.sh; deadline=None: a request through the
# whole stack takes tens of milliseconds, more on a busy 2-core machine. The function-scoped
# fixtures (client, scenario) are shared by the examples on purpose: each example reads the
# scenario's version afresh and compares the tables before and after itself.
HOSTILE = settings(
    max_examples=examples(40),
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

TABLES: tuple[type[models.Model], ...] = (
    Program,
    Scenario,
    GPUBudgetLine,
    TeamLine,
    Dataset,
    ScenarioActivity,
    PlanRun,
    Export,
)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables a write could touch, in a comparable form."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TABLES}


# Text a person (or a script) may type into any field. Each one has broken a parser somewhere:
# numbers too big for a float or a Decimal context, the IEEE specials, NUL (Postgres refuses it
# in text), right-to-left overrides, emoji outside the BMP, digits of other scripts that int()
# accepts, exponents that build a million-digit int.
HOSTILE_TEXT = [
    "",
    " ",
    "-1",
    "0",
    "1" + "0" * 400,
    "-" + "9" * 400,
    "1e400",
    "1e999999",
    "1e999999999",
    "0.000000000000000000000000000001",
    "NaN",
    "nan",
    "sNaN",
    "inf",
    "-inf",
    "Infinity",
    "-Infinity",
    "1,000,000,000,000,000,000,000",
    "2T",
    "3000亿",
    "٣٤",  # Arabic-Indic digits
    "１２",  # full-width digits
    "0x10",
    "1_000",
    "\x00",
    "a\x00b",
    "\u202egnp.exe",
    "שלום עולם",
    "😀" * 20,
    "\U0010ffff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "x" * 100_000,
    "2027-02-30",
    "99999-01-01",
    "0000-00-00",
    "true",
    "null",
    "[]",
    "{}",
]
LONE_SURROGATE = "\ud800"

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from([LONE_SURROGATE, "a" + LONE_SURROGATE, "\udfff\ud800"]),
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)

# JSON values of every type, including the numbers JSON has no standard spelling for (json.dumps
# writes NaN and Infinity, which many parsers accept).
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 2**31]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    hostile_text,
)
hostile_json = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def form_body(data: dict[str, Any]) -> bytes:
    """A urlencoded body as a browser sends it; lone surrogates go through as their UTF-8-ish
    bytes (``surrogatepass``), which the test client's own encoder would refuse."""
    return urlencode(data, doseq=True, encoding="utf-8", errors="surrogatepass").encode("ascii")


def post_form(client: Any, url: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(
        url, form_body(data), content_type="application/x-www-form-urlencoded", **extra
    )


def json_body(value: Any) -> bytes:
    """JSON text with NaN/Infinity as bare words and surrogates as escapes (what a sloppy client
    or an attacker sends)."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True).encode()


def assert_finite(row: dict[str, Any]) -> None:
    """A saved row holds no NaN or infinity (the simulation would turn them into nonsense)."""
    for name, value in row.items():
        if isinstance(value, float):
            assert math.isfinite(value), (name, value)
        if isinstance(value, Decimal):
            assert value.is_finite(), (name, value)


def deep_json(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def hostile_scenario(owner, organization):
    """The CPT template: a scenario with GPU, team and data lines, in the owner's organization."""
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture
def write_token(owner, organization):
    return api_token_create(user=owner, organization=organization, name="fuzz", scope="write")[1]


@pytest.fixture
def api_headers(write_token):
    return {"Authorization": f"Bearer {write_token}"}


# --- the request guard ---------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_it_refuses_a_10_mb_json_body_to_the_api_with_413_and_saves_nothing(
    client, api_headers, hostile_scenario
):
    line = hostile_scenario.budget_lines.first()
    before = snapshot()
    body = b'{"provider": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        body,
        content_type="application/json",
        headers={**api_headers, "If-Match": "*"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert snapshot() == before


def test_it_refuses_a_10_mb_form_post_with_413(owner_client, hostile_scenario):
    before = snapshot()
    response = owner_client.post(
        reverse("programs:scenario_rename", args=[hostile_scenario.pk]),
        b"name=" + b"x" * (10 * 1024 * 1024) + b"&version=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert snapshot() == before


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_it_refuses_json_nested_too_deep_with_400(client, api_headers, hostile_scenario, depth):
    line = hostile_scenario.budget_lines.first()
    before = snapshot()
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        '{"provider": ' + deep_json(depth) + "}",
        content_type="application/json",
        headers={**api_headers, "If-Match": "*"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_deep" and "nested" in error["message"]
    assert snapshot() == before


def test_it_refuses_deep_arrays_in_a_run_request(client, api_headers, hostile_scenario):
    before = snapshot()
    response = client.post(
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        "[" * 50_000 + "]" * 50_000,
        content_type="application/json",
        headers=api_headers,
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_a_modestly_nested_json_body_still_reaches_the_view(client, api_headers, hostile_scenario):
    # 20 levels: deeper than any real request, below the guard's limit; the serializer names it.
    line = hostile_scenario.budget_lines.first()
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        '{"provider": ' + deep_json(20) + "}",
        content_type="application/json",
        headers={**api_headers, "If-Match": "*"},
    )
    assert response.status_code == 400
    assert "provider" in response.json()["error"]["fields"]


def test_brackets_inside_strings_do_not_count_as_nesting(client, api_headers, hostile_scenario):
    line = hostile_scenario.budget_lines.first()
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        json.dumps({"provider": "[" * 5000 + '\\"{' * 100}),
        content_type="application/json",
        headers={**api_headers, "If-Match": "*"},
    )
    assert response.status_code == 400  # too long for the field, not too deep
    assert "provider" in response.json()["error"]["fields"]
