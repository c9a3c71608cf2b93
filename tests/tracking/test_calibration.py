"""The organization's own calibration (issue 19), end to end through the database: fitted from its
completed runs' reports, switched on by an owner only, used by every new run's inputs, and said
beside every figure — dashboard, PDF, API — in both cases."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.programs.models import Program, Scenario
from apps.programs.plan_adapter import scenario_to_plan_dict
from apps.programs.services import program_create_from_blueprint
from apps.reports.assumptions import benchmark_rows
from apps.reports.document import content_hash, render_pdf
from apps.runs.services import plan_run_create
from apps.tracking.calibration import (
    OBSERVE_TRIALS,
    PUBLISHED_MAPE,
    calibration_refit,
    calibration_sentence,
    published_plan,
    run_calibration,
)
from apps.tracking.models import OrganizationCalibration
from apps.tracking.services import actual_report_create, baseline_approve
from llmplanner.simulation.forecast import DAILY_SIGMA, Prior, goodput, main_prior
from llmplanner.simulation.own_calibration import BETWEEN_RUNS_SIGMA
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import simulate_program
from tests.conftest import login
from tests.reports.pdf_tools import page_texts

from .conftest import succeeded_run
from .factories import OrganizationCalibrationFactory

pytestmark = pytest.mark.django_db

TRUE_THROUGHPUT, TRUE_FAILURES = 0.8, 1.5
TODAY = timezone.localdate()
README = Path(__file__).resolve().parents[2] / "README.md"
OWN = {"source": "organization", "throughput_factor": 0.85, "failure_factor": 1.4, "runs": 3}


def long_scenario(owner, organization, name: str) -> Scenario:
    """The 7B CPT template grown to 3T tokens (about 130 days on its 64 GPUs, about ten
    interruptions), started 250 days ago with undated lines: its main run can be complete today."""
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    Program.objects.filter(pk=program.pk).update(name=name, deadline=None, budget_cap=None)
    scenario = program.scenarios.get()
    Scenario.objects.filter(pk=scenario.pk).update(
        start_date=TODAY - dt.timedelta(days=250), training_tokens=3 * 10**12
    )
    scenario.budget_lines.update(start_date=None, months=8)
    scenario.team_lines.update(start_date=None, end_date=None)
    scenario.datasets.update(ready_date=None)
    scenario.refresh_from_db()
    return scenario


def approved(owner, scenario):
    return baseline_approve(user=owner, scenario=scenario, run=succeeded_run(owner, scenario))


def published_prior(baseline) -> Prior:
    """The main run the refit compares a report with: the approved plan on the published
    calibration, simulated as the refit does (``OBSERVE_TRIALS``, the approved run's seed)."""
    spec = parse_plan(published_plan(baseline.inputs))
    return main_prior(simulate_program(spec, OBSERVE_TRIALS, baseline.run.seed))


def run_at(prior: Prior, *, rate: float, failures: int, tokens: float) -> dict:
    """A report of ``tokens`` trained at ``rate`` × the plan's raw rate with ``failures``
    interruptions: the days solved so that the goodput they leave gives exactly that rate."""
    days = tokens / (prior.net_rate * rate)
    for _ in range(100):
        days = tokens / (prior.raw_rate * rate * float(goodput(prior, failures / days, 0.0)))
    return {
        "date": TODAY.isoformat(),
        "tokens_trained": tokens,
        "elapsed_days": days,
        "gpu_hours": 64 * 24 * days,
        "interruptions": failures,
        "loss_spikes": 0,
        "spend": {},
    }


def synthetic_completed_run(prior: Prior, rng: np.random.Generator) -> dict:
    """A completed run of an organization whose clusters train at 0.8× the model's rate and fail
    1.5× as often: its own rate off by the spread between runs, the days' noise averaged over
    the run, interruptions Poisson (as tests/simulation/test_own_calibration.py makes them)."""
    days = prior.tokens / (prior.net_rate * TRUE_THROUGHPUT)
    log_rate = (
        math.log(TRUE_THROUGHPUT)
        + rng.normal(0, BETWEEN_RUNS_SIGMA)
        + rng.normal(0, DAILY_SIGMA / math.sqrt(days))
    )
    failures = int(rng.poisson(TRUE_FAILURES * prior.failures_per_day * days))
    return run_at(prior, rate=math.exp(log_rate), failures=failures, tokens=prior.tokens)


def report(owner, baseline, data, capture):
    with capture(execute=True):  # the refit runs after the report's commit
        actual_report_create(user=owner, scenario=baseline.scenario, data=data)


# --- the fit ----------------------------------------------------------------------------------


def test_the_fit_recovers_known_factors_from_completed_runs_within_its_stated_interval(
    owner, organization, django_capture_on_commit_callbacks
):
    rng = np.random.default_rng(7)
    completed = []
    for n in range(5):
        baseline = approved(owner, long_scenario(owner, organization, f"Run {n}"))
        prior = published_prior(baseline)
        assert 100 < prior.tokens / prior.net_rate < 200 and prior.failures_per_day * 130 > 5
        report(
            owner, baseline, synthetic_completed_run(prior, rng), django_capture_on_commit_callbacks
        )
        completed.append(baseline.pk)
    # Halfway, far slower: not complete, so not a run to calibrate on.
    halfway = approved(owner, long_scenario(owner, organization, "Halfway"))
    prior = published_prior(halfway)
    slow = run_at(prior, rate=0.3, failures=40, tokens=prior.tokens / 2)
    report(owner, halfway, slow, django_capture_on_commit_callbacks)

    fitted = OrganizationCalibration.objects.get(organization=organization).fitted
    assert fitted["runs"] == 5 and fitted["baselines"] == completed
    low, high = fitted["throughput_interval"]
    assert low < TRUE_THROUGHPUT < high
    assert fitted["throughput_factor"] == pytest.approx(TRUE_THROUGHPUT, rel=0.1)
    low, high = fitted["failure_interval"]
    assert low < TRUE_FAILURES < high
    assert fitted["failure_factor"] == pytest.approx(TRUE_FAILURES, rel=0.15)
    assert 500 < fitted["days"] < 1000


def test_a_report_short_of_the_planned_tokens_does_not_refit(
    owner, organization, django_capture_on_commit_callbacks
):
    baseline = approved(owner, long_scenario(owner, organization, "Unfinished"))
    prior = published_prior(baseline)
    data = run_at(prior, rate=1.0, failures=3, tokens=prior.tokens * 0.99)
    report(owner, baseline, data, django_capture_on_commit_callbacks)
    assert not OrganizationCalibration.objects.filter(organization=organization).exists()
    # Asked for, the fit finds no completed run: the published factors, nothing to switch on.
    fitted = calibration_refit(organization=organization, user=owner).fitted
    assert (fitted["runs"], fitted["throughput_factor"], fitted["baselines"]) == (0, 1.0, [])


def test_a_run_planned_on_the_organizations_own_factors_is_observed_against_the_published_ones(
    owner, organization, django_capture_on_commit_callbacks
):
    OrganizationCalibrationFactory(
        organization=organization,
        enabled=True,
        fitted={**OrganizationCalibrationFactory.build().fitted, "throughput_factor": 0.6},
    )
    baseline = approved(owner, long_scenario(owner, organization, "Calibrated"))
    assert baseline.inputs["calibration"]["throughput_factor"] == 0.6
    prior = published_prior(baseline)
    data = run_at(prior, rate=TRUE_THROUGHPUT, failures=10, tokens=prior.tokens)
    report(owner, baseline, data, django_capture_on_commit_callbacks)
    fitted = OrganizationCalibration.objects.get(organization=organization).fitted
    # Measured against the plan's own 0.6 it would read 0.8 / 0.6 = 1.33.
    assert fitted["runs"] == 1
    assert fitted["throughput_factor"] == pytest.approx(TRUE_THROUGHPUT, rel=1e-6)


# --- the switch -------------------------------------------------------------------------------


def use_url(organization) -> str:
    return reverse("calibration:calibration_use", args=[organization.pk])


def refit_url(organization) -> str:
    return reverse("calibration:calibration_refit", args=[organization.pk])


def test_an_owner_switches_the_own_calibration_on_and_off(owner_client, owner, organization):
    row = OrganizationCalibrationFactory(organization=organization)
    page = owner_client.get(reverse("calibration:calibration")).content.decode()
    assert "Use our own calibration for new runs" in page and 'name="enabled"' in page
    assert "×0.85" in page and "90% interval 0.78–0.93" in page and "×1.40" in page
    owner_client.post(use_url(organization), {"enabled": "on"})
    row.refresh_from_db()
    assert row.enabled and row.changed_by == owner
    page = owner_client.get(reverse("calibration:calibration")).content.decode()
    assert "New runs use your organization's own calibration." in page
    owner_client.post(use_url(organization), {})
    row.refresh_from_db()
    assert not row.enabled


def test_without_a_completed_run_the_switch_is_disabled_and_says_why(owner_client, organization):
    page = owner_client.get(reverse("calibration:calibration")).content.decode()
    toggle = re.search(r'<input[^>]*name="enabled"[^>]*>', page).group(0)
    assert "disabled" in toggle
    assert "A run counts once the last report" in page
    response = owner_client.post(use_url(organization), {"enabled": "on"}, follow=True)
    assert "no completed run to calibrate on yet" in response.content.decode()
    assert not OrganizationCalibration.objects.filter(organization=organization).exists()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_an_owner_switches_or_refits(role, request, organization):
    row = OrganizationCalibrationFactory(organization=organization)
    client = login(request.getfixturevalue(role))
    page = client.get(reverse("calibration:calibration")).content.decode()
    assert "×0.85" in page and 'name="enabled"' not in page
    assert "Only owners of an organization choose its calibration." in page
    assert client.post(use_url(organization), {"enabled": "on"}).status_code == 403
    assert client.post(refit_url(organization)).status_code == 403
    fresh = OrganizationCalibration.objects.get(pk=row.pk)
    assert (fresh.enabled, fresh.fitted, fresh.fitted_at) == (False, row.fitted, row.fitted_at)


def test_an_outsider_gets_404_and_sees_nothing(outsider_client, organization):
    OrganizationCalibrationFactory(organization=organization)
    assert outsider_client.post(use_url(organization), {"enabled": "on"}).status_code == 404
    assert outsider_client.post(refit_url(organization)).status_code == 404
    page = outsider_client.get(reverse("calibration:calibration")).content.decode()
    assert organization.name not in page and "×0.85" not in page
    assert not OrganizationCalibration.objects.get(organization=organization).enabled


def test_refit_now_stores_a_fresh_fit(owner_client, organization):
    yesterday = timezone.now() - dt.timedelta(days=1)
    row = OrganizationCalibrationFactory(organization=organization, fitted_at=yesterday)
    response = owner_client.post(refit_url(organization), follow=True)
    assert "Refitted" in response.content.decode()
    row.refresh_from_db()
    assert row.fitted["runs"] == 0 and row.fitted_at > yesterday


# --- used by new runs ---------------------------------------------------------------------------


def test_the_adapter_adds_the_fitted_factors_only_while_switched_on(organization, scenario):
    assert "calibration" not in scenario_to_plan_dict(scenario)  # never fitted: published
    row = OrganizationCalibrationFactory(organization=organization)
    assert "calibration" not in scenario_to_plan_dict(scenario)  # fitted, switched off
    OrganizationCalibration.objects.filter(pk=row.pk).update(enabled=True)
    plan = scenario_to_plan_dict(scenario)
    assert plan["calibration"] == {
        "source": "organization",
        "throughput_factor": 0.85,
        "failure_factor": 1.4,
        "runs": 3,
    }
    assert parse_plan(plan).throughput_factor == 0.85
    # A fit the plans cannot take is clipped to what they accept.
    OrganizationCalibration.objects.filter(pk=row.pk).update(
        fitted={**row.fitted, "throughput_factor": 0.02, "failure_factor": 50.0}
    )
    clipped = scenario_to_plan_dict(scenario)["calibration"]
    assert (clipped["throughput_factor"], clipped["failure_factor"]) == (0.1, 20.0)
    # Switched on but with no completed run behind the fit: published.
    OrganizationCalibration.objects.filter(pk=row.pk).update(fitted={**row.fitted, "runs": 0})
    assert "calibration" not in scenario_to_plan_dict(scenario)


def test_a_run_on_the_own_calibration_never_reuses_a_published_one(owner, organization, scenario):
    published = succeeded_run(owner, scenario)
    row = OrganizationCalibrationFactory(organization=organization, enabled=True)
    own = succeeded_run(owner, scenario)
    assert own.input_hash != published.input_hash and own.reused_from_id is None
    assert own.result["plan"]["calibration"] == OWN
    assert (
        own.result["totals"]["finish_days"]["p50"]
        > published.result["totals"]["finish_days"]["p50"]
    )
    OrganizationCalibration.objects.filter(pk=row.pk).update(enabled=False)
    again = plan_run_create(user=owner, scenario=scenario, trials=200, dispatch=False)
    assert again.reused_from_id == published.pk


# --- shown ------------------------------------------------------------------------------------


PUBLISHED_NOTE = "Efficiency: published calibration (234 runs, MAPE 5.7%)"
OWN_NOTE = (
    "Efficiency: your organization&#x27;s own runs (3 runs: throughput ×0.85, 90% 0.78–0.93; "
    "interruptions ×1.40, 90% 1.10–1.80)"
)


def test_the_published_figures_are_the_readmes():
    text = README.read_text()
    assert f"{PUBLISHED_MAPE:.1%} (all {benchmark_rows()} rows)" in text


def test_the_dashboard_says_where_the_efficiency_came_from(
    owner, owner_client, organization, scenario
):
    published = succeeded_run(owner, scenario)
    page = owner_client.get(reverse("runs:plan_run_detail", args=[published.pk])).content.decode()
    assert 'data-source="published"' in page and PUBLISHED_NOTE in page
    row = OrganizationCalibrationFactory(organization=organization, enabled=True)
    own = succeeded_run(owner, scenario)
    page = owner_client.get(reverse("runs:plan_run_detail", args=[own.pk])).content.decode()
    assert 'data-source="organization"' in page and OWN_NOTE in page
    # Refitted since: the run still says the factors it used, without another fit's intervals.
    OrganizationCalibration.objects.filter(pk=row.pk).update(
        fitted={**row.fitted, "throughput_factor": 0.9}
    )
    page = owner_client.get(reverse("runs:plan_run_detail", args=[own.pk])).content.decode()
    assert "(3 runs: throughput ×0.85; interruptions ×1.40)" in page


def test_the_note_is_translated():
    with translation.override("zh-hans"):
        published = calibration_sentence({"source": "published", "runs": 234, "mape": 0.057})
        own = calibration_sentence(
            {**OWN, "throughput_interval": [0.78, 0.93], "failure_interval": None}
        )
    assert "234" in published and "5.7%" in published and "published" not in published
    assert "×0.85" in own and "0.78–0.93" in own and "runs" not in own


def test_the_pdf_says_where_the_efficiency_came_from(owner, organization, scenario):
    published = succeeded_run(owner, scenario)
    cover = " ".join(
        page_texts(render_pdf(published, paper="a4", language="en").content)[0].split()
    )
    assert "Efficiency Published calibration (234 runs, MAPE 5.7%)" in cover
    row = OrganizationCalibrationFactory(organization=organization, enabled=True)
    own = succeeded_run(owner, scenario)
    before = content_hash(run=own, paper="a4", language="en")
    cover = " ".join(page_texts(render_pdf(own, paper="a4", language="en").content)[0].split())
    assert (
        "Efficiency Your organization's own runs (3 runs: throughput ×0.85, 90% 0.78–0.93;" in cover
    )
    # The intervals shown are part of the document: a refit changes its content hash.
    OrganizationCalibration.objects.filter(pk=row.pk).update(fitted={**row.fitted, "runs": 4})
    assert content_hash(run=own, paper="a4", language="en") != before
    assert run_calibration(own)["throughput_interval"] is None


def test_the_api_says_where_the_efficiency_came_from(owner, organization, scenario, reader):
    published = succeeded_run(owner, scenario)
    OrganizationCalibrationFactory(organization=organization, enabled=True)
    own = succeeded_run(owner, scenario)
    body = reader.get(reverse("api:run-detail", args=[published.pk])).json()
    assert body["calibration"] == {
        "source": "published",
        "throughput_factor": 1.0,
        "failure_factor": 1.0,
        "runs": 0,
    }
    assert reader.get(reverse("api:run-detail", args=[own.pk])).json()["calibration"] == OWN
