"""Hostile input to tracking's writes: the approval (API), a report of actuals (API and form) and
a CSV upload. Every answer is a success or a refusal naming the field (a 4xx in the API's
envelope, the form shown again, the upload's errors); a refusal saves nothing, and a success
stores only finite numbers. Each example runs in a savepoint rolled back afterwards, so examples
replay the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from apps.programs.models import Scenario
from apps.runs.services import plan_run_create, plan_run_execute
from apps.tracking.csv_format import HEADER
from apps.tracking.models import ActualReport, ApprovedBaseline
from apps.tracking.services import baseline_approve
from apps.tracking.validation import FIELDS, REQUIRED
from tests.security import test_hostile_common as common
from tests.security.test_hostile_common import (
    HOSTILE,
    assert_finite,
    hostile_json,
    hostile_text,
    json_body,
    post_form,
)

pytestmark = pytest.mark.django_db
hostile_scenario = common.hostile_scenario
write_token = common.write_token
api_headers = common.api_headers

YESTERDAY = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
VALID = {
    "date": YESTERDAY,
    "tokens_trained": 1e10,
    "elapsed_days": 5,
    "gpu_hours": 10_000,
    "interruptions": 0,
    "loss_spikes": 0,
    "spend": {"gpu_compute": "1000.00"},
}


def snapshot() -> dict:
    return {
        **common.snapshot(),
        "baselines": list(ApprovedBaseline.objects.order_by("pk").values()),
        "actuals": list(ActualReport.objects.order_by("pk").values()),
    }


@pytest.fixture
def tracked(owner, hostile_scenario):
    """The CPT template started 30 days ago, one run approved."""
    Scenario.objects.filter(pk=hostile_scenario.pk).update(
        start_date=timezone.localdate() - dt.timedelta(days=30)
    )
    hostile_scenario.refresh_from_db()
    created = plan_run_create(user=owner, scenario=hostile_scenario, trials=50, dispatch=False)
    run = plan_run_execute(run_id=created.pk, worker="hostile")
    baseline_approve(user=owner, scenario=hostile_scenario, run=run)
    return hostile_scenario


def check_api_answer(response, body, before) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
        if response.status_code == 400 and error["code"] == "invalid":
            assert error["fields"], error
        assert snapshot() == before
    else:
        for row in ActualReport.objects.values():
            assert_finite(row)


@HOSTILE
@given(
    body=st.one_of(
        st.dictionaries(st.sampled_from(FIELDS), hostile_json, max_size=3).map(
            lambda extra: {**VALID, **extra}
        ),
        st.dictionaries(st.sampled_from(["gpu_compute", "people", "x"]), hostile_json).map(
            lambda spend: {**VALID, "spend": spend}
        ),
        hostile_json,
    )
)
def test_hostile_reports_are_refused_cleanly(client, api_headers, tracked, body):
    with transaction.atomic():
        before = snapshot()
        response = client.post(
            reverse("api:scenario-actuals", args=[tracked.pk]),
            json_body(body),
            content_type="application/json",
            headers=api_headers,
        )
        check_api_answer(response, body, before)
        if response.status_code == 400 and isinstance(body, dict):
            # Only what was sent, or a required field left out, is named.
            named = set(response.json()["error"]["fields"])
            known = set(body) | set(REQUIRED) | {"non_field_errors"}
            assert all(n in known or n.split(".", 1)[0] in known for n in named), (named, body)
        transaction.set_rollback(True)


@HOSTILE
@given(
    body=st.one_of(
        st.fixed_dictionaries({}, optional={"run": hostile_json, "note": hostile_json}),
        hostile_json,
    )
)
def test_hostile_approvals_are_refused_cleanly(client, api_headers, tracked, body):
    with transaction.atomic():
        before = snapshot()
        response = client.post(
            reverse("api:scenario-approve", args=[tracked.pk]),
            json_body(body),
            content_type="application/json",
            headers=api_headers,
        )
        check_api_answer(response, body, before)
        transaction.set_rollback(True)


FORM_FIELDS = [n for n in FIELDS if n not in ("spend", "stage")] + [
    f"spend_{c}" for c in ("gpu_compute", "people")
]


@HOSTILE
@given(data=st.data())
def test_hostile_form_reports_are_refused_next_to_their_field(owner_client, tracked, data):
    with transaction.atomic():
        post = {k: str(v) for k, v in VALID.items() if k != "spend"}
        mutated = set(data.draw(st.lists(st.sampled_from(FORM_FIELDS), min_size=1, max_size=3)))
        for name in mutated:
            post[name] = data.draw(hostile_text, label=name)
        before = snapshot()
        response = post_form(owner_client, reverse("tracking:actual_add", args=[tracked.pk]), post)
        if response.status_code == 302:
            for row in ActualReport.objects.values():
                assert_finite(row)
        else:
            assert response.status_code == 200, response.status_code
            errors = response.context["form"].errors
            assert errors and set(errors) & (mutated | {"__all__"}), (dict(errors), mutated)
            assert snapshot() == before
        transaction.set_rollback(True)


@HOSTILE
@given(
    cells=st.lists(st.one_of(hostile_text, st.sampled_from(["1", "0", YESTERDAY])), max_size=16),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_hostile_csv_uploads_save_all_or_nothing(owner_client, tracked, cells, raw):
    with transaction.atomic():
        if raw is None:
            line = ",".join('"' + c.replace('"', '""') + '"' for c in cells)
            content = (",".join(HEADER) + "\n" + line + "\n").encode("utf-8", "surrogatepass")
        else:
            content = raw
        before = snapshot()
        response = owner_client.post(
            reverse("tracking:actuals_import", args=[tracked.pk]),
            {"file": SimpleUploadedFile("a.csv", content, content_type="text/csv")},
        )
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 200:
            assert response.context["import_errors"] or response.context["upload"].errors
            assert snapshot() == before
        else:
            assert ActualReport.objects.count() == len(before["actuals"]) + 1
            for row in ActualReport.objects.values():
                assert_finite(row)
        transaction.set_rollback(True)
