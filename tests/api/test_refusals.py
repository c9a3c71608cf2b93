"""Refusals in the right order and by the rules: a viewer's run is a 403 before its body is read;
a weak ETag never satisfies If-Match (RFC 9110 §13.1.1 — strong comparison)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.programs.models import GPUBudgetLine
from apps.runs.models import PlanRun

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", [{"trials": 100}, {"trials": "lots"}, {"seed": -4}])
def test_a_viewer_starting_a_run_is_403_whatever_the_body(viewer_client, scenario, body):
    response = viewer_client.post(
        reverse("api:scenario-start-run", args=[scenario.pk]),
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "v-1"},
    )
    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert error["code"] == "permission_denied" and "owner or editor" in error["message"]
    assert not PlanRun.objects.exists()


def test_an_outsider_starting_a_run_is_404(outsider_client, scenario):
    response = outsider_client.post(
        reverse("api:scenario-start-run", args=[scenario.pk]),
        {"trials": 100},
        content_type="application/json",
    )
    assert response.status_code == 404 and not PlanRun.objects.exists()


def test_an_editor_session_starts_a_run(editor, scenario):
    from tests.conftest import login

    response = login(editor).post(
        reverse("api:scenario-start-run", args=[scenario.pk]),
        {"trials": 100},
        content_type="application/json",
    )
    assert response.status_code == 202, response.json()
    assert PlanRun.objects.get().created_by == editor


def test_a_weak_etag_in_if_match_is_412_and_changes_nothing(writer, scenario):
    line = scenario.budget_lines.first()
    current = writer.get(reverse("api:scenario-detail", args=[scenario.pk]))["ETag"]
    before = GPUBudgetLine.objects.filter(pk=line.pk).values().get()
    response = writer.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        {"gpu_count": 64},
        content_type="application/json",
        headers={"If-Match": f"W/{current}"},
    )
    assert response.status_code == 412, response.json()
    error = response.json()["error"]
    assert error["code"] == "precondition_failed" and "weak ETag" in error["message"]
    assert current in error["message"]
    assert GPUBudgetLine.objects.filter(pk=line.pk).values().get() == before
    strong = writer.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        {"gpu_count": 64},
        content_type="application/json",
        headers={"If-Match": current},
    )
    assert strong.status_code == 200 and GPUBudgetLine.objects.get(pk=line.pk).gpu_count == 64


@pytest.mark.parametrize("tag", ['"v²"', '"v¹²"', '"v1e3"', '"v' + "9" * 40 + '"'])
def test_an_if_match_that_is_not_one_of_our_versions_is_412_not_500(writer, scenario, tag):
    line = scenario.budget_lines.first()
    before = GPUBudgetLine.objects.filter(pk=line.pk).values().get()
    response = writer.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        {"gpu_count": 64},
        content_type="application/json",
        headers={"If-Match": tag},
    )
    assert response.status_code in (400, 412), response.content[:300]
    assert GPUBudgetLine.objects.filter(pk=line.pk).values().get() == before
