"""The organization's own calibration (issue 19): its completed main runs' actuals fitted by the
core (``llmplanner.simulation.own_calibration``), kept on ``OrganizationCalibration``, switched
on for its new plans by an owner, and said beside every figure that used it.

**A completed run** is a scenario's current approved baseline whose last report
(``selectors.actuals_for``) has trained the plan's main tokens (``training.tokens`` ×
``full_runs``, as ``parse_plan`` reads them). Each gives one observation: the report against the
main run the approved inputs plan, simulated again with the approved run's trials and seed.

**When it is fitted.** After the commit of a report that completes a run (``actual_report_create``
and ``actual_reports_import`` call ``calibration_refit_on_commit``) and when an owner asks on the
Calibration page. In-process rather than on a worker: the fit is derived data with no job row of
its own (``OrganizationCalibration`` has no status to claim, so a lost message would leave a
stale fit that nothing sweeps), it is one layout search per completed run — 0.04 s for the 7B CPT
template, 0.3 s for GPT-3 175B, whatever the trials — and it runs once per completed run.

**Where it is used.** ``apps.programs.plan_adapter`` adds ``plan_calibration(fitted)`` to every
new plan of the organization while ``enabled`` and the fit has at least one run; the core's
report then carries it (``report["plan"]["calibration"]``). ``run_calibration`` and
``calibration_sentence`` say which calibration a run used on its dashboard and in its PDF.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.accounts.models import Membership, Organization, User
from apps.common.errors import ApplicationError
from apps.reports.assumptions import benchmark_rows
from apps.tracking.forecasting import core_actuals
from apps.tracking.models import ActualReport, ApprovedBaseline, OrganizationCalibration
from apps.tracking.selectors import MAIN_STAGE, actuals_for
from llmplanner.simulation.errors import ValidationError
from llmplanner.simulation.own_calibration import (
    RunObservation,
    fit,
    observe_plan,
    plan_calibration,
)
from llmplanner.simulation.planspec import parse_plan

logger = logging.getLogger(__name__)
# The prior a report is compared with is a median over trials: 500 fix it well and keep a
# refit cheap, whatever trials the approved run had.
OBSERVE_TRIALS = 500

# The published calibration's accuracy: the README's table, ``python -m llmplanner.simulation
# calibrate`` over all its benchmark rows (tests/tracking/test_calibration.py reads the README).
PUBLISHED_MAPE = 0.057
# A fit needs this many completed runs before an owner may switch it on.
MIN_RUNS = 1


class CalibrationDenied(ApplicationError):
    """Only an owner chooses the organization's calibration (views answer 403)."""


def _require_owner(user: User, organization: Organization) -> None:
    if not Membership.objects.filter(
        user=user, organization=organization, role=Membership.Role.OWNER
    ).exists():
        raise CalibrationDenied(_("Only an owner of the organization chooses its calibration."))


# --- the fit -------------------------------------------------------------------------------


def planned_main_tokens(inputs: dict[str, Any]) -> float | None:
    """Tokens of the plan's main run over all its full runs; None when the core cannot read the
    plan (then it cannot be observed either)."""
    try:
        spec = parse_plan(inputs)
    except ValidationError:
        return None
    return float(spec.tokens) * spec.full_runs


def published_plan(inputs: dict[str, Any]) -> dict[str, Any]:
    """The approved plan without its ``calibration`` section. A plan simulated with the
    organization's own factors must be observed against the published prior: the factors are
    fitted as ratios to the published model, and measuring against an already-calibrated plan
    would fold the old fit into the new one."""
    return {key: value for key, value in inputs.items() if key != "calibration"}


@dataclass(frozen=True)
class CompletedRun:
    """A scenario's current baseline whose main run has trained its planned tokens."""

    baseline: ApprovedBaseline
    last: ActualReport


def completed_runs(*, organization: Organization) -> list[CompletedRun]:
    """The organization's completed main runs, oldest approval first."""
    baselines = (
        ApprovedBaseline.objects.filter(organization=organization, successor__isnull=True)
        .select_related("run")
        .order_by("approved_at", "id")
    )
    completed = []
    for baseline in baselines:
        reports = actuals_for(baseline)
        planned = planned_main_tokens(baseline.inputs or {})
        if reports and planned is not None and reports[-1].tokens_trained >= planned:
            completed.append(CompletedRun(baseline, reports[-1]))
    return completed


def observations(runs: list[CompletedRun]) -> list[tuple[CompletedRun, RunObservation]]:
    """Each completed run's observation; one the core cannot observe (a run reported for less
    than a day, a plan it no longer reads) is left out and logged."""
    observed = []
    for run in runs:
        try:
            observation = observe_plan(
                published_plan(run.baseline.inputs),
                core_actuals(run.last),
                trials=OBSERVE_TRIALS,
                seed=run.baseline.run.seed,
            )
        except ValidationError as exc:
            logger.info("baseline %s not observed: %s", run.baseline.pk, exc)
            continue
        observed.append((run, observation))
    return observed


def _calibration_row(organization: Organization) -> OrganizationCalibration:
    row, _created = OrganizationCalibration.objects.get_or_create(organization=organization)
    return row


def calibration_refit(
    *, organization: Organization, user: User | None = None
) -> OrganizationCalibration:
    """Fit the organization's factors from its completed runs and store the fit (with the
    baselines it used) and the time. ``user`` (from the page) must be an owner
    (``CalibrationDenied``); the hook after a report passes none. Writes only ``fitted`` and
    ``fitted_at``, so a concurrent switch of ``enabled`` is kept."""
    if user is not None:
        _require_owner(user, organization)
    used = observations(completed_runs(organization=organization))
    fitted = fit(observation for _run, observation in used)
    fitted["baselines"] = [run.baseline.pk for run, _observation in used]
    row = _calibration_row(organization)
    row.fitted = fitted
    row.fitted_at = timezone.now()
    row.save(update_fields=["fitted", "fitted_at", "updated_at"])
    return row


def _refit_after_commit(organization_id: int) -> None:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return
    try:
        calibration_refit(organization=organization)
    except Exception:
        # The report is committed already; a failed refit must not turn its answer into a 500.
        # The fit stays as it was until the next completing report or "Refit now".
        logger.exception("refit of organization %s failed", organization_id)


def calibration_refit_on_commit(*, baseline: ApprovedBaseline, reports: list[ActualReport]) -> None:
    """After the current transaction commits, refit the baseline's organization when one of the
    new ``reports`` has trained the plan's main tokens (a run completed, or a completed run
    reported again)."""
    planned = planned_main_tokens(baseline.inputs or {})
    if planned is None or not any(
        r.stage == MAIN_STAGE and r.tokens_trained >= planned for r in reports
    ):
        return
    organization_id = baseline.organization_id
    transaction.on_commit(lambda: _refit_after_commit(organization_id))


# --- the switch ----------------------------------------------------------------------------


def fitted_runs(row: OrganizationCalibration | None) -> int:
    """The completed runs behind the stored fit (0 without one)."""
    return _runs(row.fitted if row is not None else None)


def _runs(fitted: dict[str, Any] | None) -> int:
    return int((fitted or {}).get("runs", 0))


def calibration_enable_set(
    *, user: User, organization: Organization, enabled: bool
) -> OrganizationCalibration | None:
    """Switch the organization's own calibration on or off for its new runs (runs already made
    keep theirs). Refused (``ApplicationError``) with no completed run in the fit; switching off
    an organization that never had a fit stores nothing (None)."""
    _require_owner(user, organization)
    row = OrganizationCalibration.objects.filter(organization=organization).first()
    if enabled and fitted_runs(row) < MIN_RUNS:
        raise ApplicationError(
            _(
                "Your organization has no completed run to calibrate on yet: new runs keep the "
                "published calibration."
            )
        )
    if row is None:
        return None
    row.enabled = enabled
    row.changed_by = user
    row.save(update_fields=["enabled", "changed_by", "updated_at"])
    return row


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationCalibrationView:
    """What the Calibration page shows of one organization."""

    organization: Organization
    is_owner: bool
    row: OrganizationCalibration | None
    used: list[ApprovedBaseline]

    @property
    def runs(self) -> int:
        return fitted_runs(self.row)

    @property
    def in_use(self) -> bool:
        """New runs use the organization's own factors (switched on, with a fit)."""
        return self.row is not None and self.row.enabled and self.runs >= MIN_RUNS


def calibration_list(*, user: User) -> list[OrganizationCalibrationView]:
    """Every organization the user belongs to, by name, with its fit and the baselines it
    used."""
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name", "organization_id")
    )
    organizations = [m.organization for m in memberships]
    owner_of = {m.organization_id for m in memberships if m.role == Membership.Role.OWNER}
    rows = {
        row.organization_id: row
        for row in OrganizationCalibration.objects.filter(organization__in=organizations)
    }
    views = []
    for organization in organizations:
        row = rows.get(organization.pk)
        ids = ((row.fitted if row is not None else None) or {}).get("baselines") or []
        used = list(
            ApprovedBaseline.objects.filter(organization=organization, pk__in=ids)
            .select_related("scenario__program")
            .order_by("approved_at", "id")
        )
        views.append(
            OrganizationCalibrationView(organization, organization.pk in owner_of, row, used)
        )
    return views


def calibration_organization(*, user: User, organization_id: int) -> Organization | None:
    """One of the user's organizations (any role), or None: another organization is as unknown
    as a missing one."""
    return Organization.objects.filter(memberships__user=user, pk=organization_id).first()


# --- where a run's efficiency came from ------------------------------------------------------


def run_calibration(run: Any) -> dict[str, Any]:
    """The calibration a run's report used (``report["plan"]["calibration"]``; a report from
    before core 0.4.0 has none: published). The published one with its benchmark runs and MAPE;
    the organization's with its factors and, while the stored fit is the one the run used, their
    90% intervals (a refit since leaves them out rather than show another fit's)."""
    section = ((run.result or {}).get("plan") or {}).get("calibration") or {}
    if section.get("source") != "organization":
        return {"source": "published", "runs": benchmark_rows(), "mape": PUBLISHED_MAPE}
    data: dict[str, Any] = {
        "source": "organization",
        "runs": int(section.get("runs", 0)),
        "throughput_factor": float(section.get("throughput_factor", 1.0)),
        "failure_factor": float(section.get("failure_factor", 1.0)),
        "throughput_interval": None,
        "failure_interval": None,
    }
    if run.pk is None:  # a run never saved (rendered without a database)
        return data
    fitted = (
        OrganizationCalibration.objects.filter(organization_id=run.organization_id)
        .values_list("fitted", flat=True)
        .first()
    )
    if _runs(fitted) >= MIN_RUNS and plan_calibration(fitted) == section:
        data["throughput_interval"] = list(fitted["throughput_interval"])
        data["failure_interval"] = list(fitted["failure_interval"])
    return data


def _factor(value: float, interval: list[float] | None) -> str:
    if interval is None:
        return _("×%(factor)s") % {"factor": f"{value:.2f}"}
    return _("×%(factor)s, 90%% %(low)s–%(high)s") % {
        "factor": f"{value:.2f}",
        "low": f"{interval[0]:.2f}",
        "high": f"{interval[1]:.2f}",
    }


def calibration_sentence(data: dict[str, Any]) -> str:
    """``run_calibration``'s answer in the active language, to follow "Efficiency:"."""
    if data["source"] != "organization":
        return _("published calibration (%(runs)s runs, MAPE %(mape)s)") % {
            "runs": data["runs"],
            "mape": f"{data['mape'] * 100:.1f}%",
        }
    runs = ngettext("%(n)d run", "%(n)d runs", data["runs"]) % {"n": data["runs"]}
    return _(
        "your organization's own runs (%(runs)s: throughput %(throughput)s; interruptions "
        "%(failures)s)"
    ) % {
        "runs": runs,
        "throughput": _factor(data["throughput_factor"], data["throughput_interval"]),
        "failures": _factor(data["failure_factor"], data["failure_interval"]),
    }
