"""Approved baselines: frozen at approval, superseded by a new approval without changing, approved
only by owners and editors, only from a succeeded run of the same scenario."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import RestrictedError

from apps.common.errors import ApplicationError
from apps.programs.services import EditDenied, program_create_from_blueprint
from apps.reports.models import Export
from apps.runs.models import PlanRun, RunStatus
from apps.tracking.models import ApprovedBaseline, BaselineImmutable
from apps.tracking.selectors import (
    actuals_for,
    baseline_current,
    baseline_list,
    baseline_of_run,
)
from apps.tracking.services import baseline_approve, report_sha256
from tests.accounts.factories import UserFactory
from tests.tracking.conftest import succeeded_run
from tests.tracking.factories import ActualReportFactory, ApprovedBaselineFactory

pytestmark = pytest.mark.django_db


def _row(baseline: ApprovedBaseline) -> dict:
    return ApprovedBaseline.objects.filter(pk=baseline.pk).values().get()


def test_it_freezes_the_run_the_approver_and_the_note(owner, scenario, run, baseline):
    assert baseline.run == run and baseline.scenario == scenario
    assert baseline.inputs == run.inputs and baseline.report == run.result
    assert baseline.core_version == run.core_version
    assert baseline.approved_by == owner and baseline.approved_by_name == owner.username
    assert baseline.note == "go" and baseline.supersedes is None
    # No PDF of the run exists: the hash is the report's canonical JSON's, and says so.
    assert baseline.hash_of == "report"
    assert baseline.pdf_sha256 == report_sha256(run.result)
    assert baseline_current(scenario=scenario) == baseline


def test_a_baseline_cannot_be_saved_again(baseline):
    before = _row(baseline)
    baseline.note = "rewritten after the fact"
    with pytest.raises(BaselineImmutable):
        baseline.save()
    with pytest.raises(BaselineImmutable):
        baseline.save(update_fields=["note"])
    assert _row(baseline) == before


def test_a_baseline_cannot_be_updated_or_deleted_through_its_queryset(baseline):
    before = _row(baseline)
    with pytest.raises(BaselineImmutable):
        ApprovedBaseline.objects.filter(pk=baseline.pk).update(note="rewritten")
    with pytest.raises(BaselineImmutable):
        ApprovedBaseline.objects.filter(pk=baseline.pk).update(approved_by=None, note="x")
    with pytest.raises(BaselineImmutable):
        ApprovedBaseline.objects.filter(pk=baseline.pk).delete()
    with pytest.raises(BaselineImmutable):
        ApprovedBaseline._base_manager.filter(pk=baseline.pk).update(note="rewritten")
    with pytest.raises(BaselineImmutable):
        baseline.delete()
    assert _row(baseline) == before


def test_approving_again_supersedes_and_keeps_the_history(owner, editor, scenario, run, baseline):
    first = _row(baseline)
    newer = succeeded_run(owner, scenario, contingency_pct=25)
    second = baseline_approve(user=editor, scenario=scenario, run=newer, note="re-plan")
    assert second.supersedes == baseline and second.approved_by_name == editor.username
    assert _row(baseline) == first  # the old row never changed
    baseline.refresh_from_db()
    assert baseline.superseded_by == second and baseline.superseded_at == second.approved_at
    assert not baseline.is_current and second.is_current
    assert baseline_current(scenario=scenario) == second
    assert list(baseline_list(scenario=scenario)) == [second, baseline]
    # The report differs: the second baseline froze the second run's numbers.
    assert second.report["totals"]["cost"] != baseline.report["totals"]["cost"]
    assert baseline_of_run(run=run) == baseline and baseline_of_run(run=newer) == second


def test_a_viewer_cannot_approve(viewer, scenario, run):
    with pytest.raises(EditDenied):
        baseline_approve(user=viewer, scenario=scenario, run=run)
    assert not ApprovedBaseline.objects.exists()


def test_a_run_of_another_scenario_is_refused_naming_run(owner, organization, scenario):
    other = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    ).scenarios.get()
    other_run = succeeded_run(owner, other)
    with pytest.raises(ApplicationError) as refused:
        baseline_approve(user=owner, scenario=scenario, run=other_run)
    assert refused.value.extra == {"field": "run"}
    assert not ApprovedBaseline.objects.exists()


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.QUEUED, RunStatus.RUNNING])
def test_a_run_that_has_not_succeeded_is_refused_naming_run(owner, scenario, run, status):
    PlanRun.objects.filter(pk=run.pk).update(status=status)
    run.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        baseline_approve(user=owner, scenario=scenario, run=run)
    assert refused.value.extra == {"field": "run"} and "not succeeded" in refused.value.message
    assert not ApprovedBaseline.objects.exists()


def test_the_current_baseline_s_own_run_is_not_approved_twice(owner, scenario, run, baseline):
    with pytest.raises(ApplicationError) as refused:
        baseline_approve(user=owner, scenario=scenario, run=run)
    assert refused.value.extra == {"field": "run"}
    assert ApprovedBaseline.objects.count() == 1


def test_a_note_longer_than_2000_characters_is_refused(owner, scenario, run):
    with pytest.raises(ApplicationError) as refused:
        baseline_approve(user=owner, scenario=scenario, run=run, note="x" * 2001)
    assert refused.value.extra == {"field": "note"}


def test_the_hash_is_of_the_pdf_when_the_run_has_a_ready_export(owner, scenario, run):
    content = b"%PDF-1.7 the approved document"
    name = default_storage.save("exports/test-approved.pdf", ContentFile(content))
    Export.objects.create(
        organization=run.organization,
        run=run,
        status=Export.Status.READY,
        content_hash="x" * 64,
        file=name,
    )
    baseline = baseline_approve(user=owner, scenario=scenario, run=run)
    assert baseline.hash_of == "pdf"
    assert baseline.pdf_sha256 == hashlib.sha256(content).hexdigest()


def test_two_first_approvals_of_a_scenario_cannot_both_be_saved(owner, run, baseline):
    # What a lost race looks like to the database: a second chain head, or a second successor.
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovedBaselineFactory(run=run, supersedes=None)
    newer = ApprovedBaselineFactory(run=run, supersedes=baseline)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovedBaselineFactory(run=run, supersedes=baseline)
    assert baseline_current(scenario=run.scenario) == newer


def test_the_approved_run_cannot_be_deleted_but_goes_with_its_program(scenario, run, baseline):
    ActualReportFactory(baseline=baseline)
    with pytest.raises(RestrictedError):
        run.delete()
    scenario.program.delete()  # what a restore with --replace does
    assert not ApprovedBaseline.objects.exists() and not PlanRun.objects.exists()


def test_deleting_the_approver_keeps_the_name(scenario, run):
    approver = UserFactory()
    from apps.accounts.models import Membership

    Membership.objects.create(user=approver, organization=run.organization, role="editor")
    baseline = baseline_approve(user=approver, scenario=scenario, run=run)
    approver.delete()
    baseline.refresh_from_db()
    assert baseline.approved_by is None and baseline.approved_by_name == approver.username


def test_the_forecast_reads_the_scenario_s_reports_oldest_first(owner, scenario, run, baseline):
    import datetime as dt

    from django.utils import timezone

    today = timezone.localdate()
    late = ActualReportFactory(baseline=baseline, date=today - dt.timedelta(days=1))
    early = ActualReportFactory(baseline=baseline, date=today - dt.timedelta(days=9))
    newer = baseline_approve(
        user=owner, scenario=scenario, run=succeeded_run(owner, scenario, contingency_pct=20)
    )
    after = ActualReportFactory(baseline=newer, date=today)
    # A re-approval re-plans the same training: the reports before it still count.
    assert actuals_for(newer) == [early, late, after]
    assert baseline_current(scenario=scenario) == newer


def test_an_approval_and_a_withdrawn_report_are_on_the_scenarios_history(
    owner, owner_client, scenario, baseline
):
    from django.urls import reverse

    from apps.programs.models import ScenarioActivity
    from apps.tracking.services import actual_report_create, actual_report_withdraw

    approved = ScenarioActivity.objects.get(scenario=scenario, action="approved")
    assert approved.actor == owner and f"run #{baseline.run_id} approved" in approved.summary
    assert approved.summary.endswith("— go")  # the approval's note
    report, _ = actual_report_create(
        user=owner,
        scenario=scenario,
        data={"date": scenario.start_date.isoformat(), "stage": "data", "elapsed_days": 0},
    )
    actual_report_withdraw(user=owner, report=report, note="wrong stage")
    page = owner_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "history"]))
    html = page.content.decode()
    assert "approved" in html and "withdrew a report" in html and "wrong stage" in html
