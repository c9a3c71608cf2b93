"""Restoring a validated backup in one transaction, into an existing or a new organization."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils import timezone

from apps.accounts.models import Membership, Organization, User
from apps.programs.backup.format import (
    STAMPS,
    BackupError,
    RestoreRefused,
)
from apps.programs.backup.tracking import TrackingPlan
from apps.programs.backup.validate import BackupPlan, StampedRow, backup_validate
from apps.programs.models import Program, Scenario
from apps.runs.models import PlanRun, RunStatus
from apps.tracking.models import (
    ActualReport,
    ApprovedBaseline,
    Forecast,
    OrganizationCalibration,
)
from apps.tracking.selectors import actuals_for, baseline_current

# The forecast an alert hangs on, when it is not the one the Tracking page asks for: kept only as
# the alert's anchor (the history of forecasts shows succeeded ones), never computed.
ANCHOR_ONLY = (
    "Not computed: restored from a backup, which keeps the alerts a forecast raised but not the "
    "forecast itself."
)


@dataclass
class RestoreReport:
    organization: Organization
    created_organization: bool
    programs: int = 0
    scenarios: int = 0
    activities: int = 0
    runs: int = 0
    sweeps: int = 0
    tracking: bool = True  # False: a format 1 backup, which holds no tracking data
    baselines: int = 0
    actuals: int = 0
    alerts: int = 0
    # What became of the organization's calibration: "restored", "kept" (the organization had
    # one and no --replace), "removed" (--replace, and the backup has none), "" (neither had one).
    calibration: str = ""
    replaced: list[str] = field(default_factory=list)
    members_added: list[str] = field(default_factory=list)
    unknown_users: list[str] = field(default_factory=list)


def _set_user(row: StampedRow, users: dict[str, User], unknown: set[str]) -> None:
    if row.user_field:
        user = users.get(row.username) if row.username else None
        if row.username and user is None:
            unknown.add(row.username)
        setattr(row.instance, row.user_field, user)


def _save(
    row: StampedRow, users: dict[str, User], unknown: set[str], stamped: list[StampedRow]
) -> Any:
    _set_user(row, users, unknown)
    row.instance.save()
    stamped.append(row)
    return row.instance


def backup_restore(data: Any, *, into: str | None = None, replace: bool = False) -> RestoreReport:
    """Restore a backup document into the organization ``into`` (default: the backup's slug),
    creating it if it does not exist. All or nothing: one transaction.

    Programs of the backup whose names already exist there are refused (``RestoreRefused``)
    unless ``replace``, which deletes those programs (with their scenarios, runs, exports and
    tracking data) first. The organization's calibration is restored when it has none; with
    ``replace`` the backup's replaces it (or removes it, when the backup has none). A format 1
    backup leaves the calibration alone. An invalid document raises ``BackupError`` before
    anything is read or written.
    """
    plan = backup_validate(data)
    try:
        return _restore(plan, into=into, replace=replace)
    except DatabaseError as exc:  # a safety net: validation should leave nothing for it
        raise BackupError([f"(database): {exc}; nothing was written"]) from exc


def _restore(plan: BackupPlan, *, into: str | None, replace: bool) -> RestoreReport:
    slug = into or plan.slug
    with transaction.atomic():
        organization = Organization.objects.select_for_update().filter(slug=slug).first()
        report = RestoreReport(organization, created_organization=organization is None)
        if organization is None:
            organization = Organization(slug=slug, name=plan.name)
            try:
                organization.full_clean()
            except ValidationError as exc:
                where = "--into" if into else "organization"
                raise BackupError(
                    [f"{where}.{k}: {' '.join(v)}" for k, v in exc.message_dict.items()]
                ) from exc
            organization.save()
            report.organization = organization
        names = {p.row.instance.name for p in plan.programs}
        clashes = Program.objects.filter(organization=organization, name__in=names)
        report.replaced = sorted(set(clashes.values_list("name", flat=True)))
        if report.replaced and not replace:
            raise RestoreRefused(
                f"{organization.slug} already has programs named "
                + ", ".join(repr(n) for n in report.replaced)
                + "; nothing was written (--replace deletes them and restores the backup's)"
            )
        # The programs' approved baselines go with them: Django's deletion collector removes
        # rows with its own DELETE queries, not through ``ApprovedBaseline.objects`` (whose
        # ``delete()`` refuses), and the RESTRICTs on a baseline (its run, its successor, its
        # reports) allow it because those rows are deleted in the same cascade. This is the
        # deletion the model allows ("deleting a whole scenario, program or organization takes
        # its baselines with it"); forecasts and alerts cascade from their scenario.
        clashes.delete()
        runs = [r for p in plan.programs for s in p.scenarios for r in s.runs]
        taken = set(
            PlanRun.objects.filter(
                organization=organization,
                idempotency_key__in=[r.instance.idempotency_key for _, _, r in runs],
            ).values_list("idempotency_key", flat=True)
        )
        if taken:
            raise BackupError(
                [f"runs: idempotency key {k!r} is used by a run of {slug}" for k in sorted(taken)]
            )
        _refuse_taken_report_keys(plan, organization)
        wanted = {row.username for row in _all_rows(plan) if row.username}
        wanted |= {username for username, _role in plan.members}
        users = {u.get_username(): u for u in User.objects.filter(username__in=wanted)}
        unknown: set[str] = set()
        for username, role in plan.members:
            user = users.get(username)
            if user is None:
                unknown.add(username)
            elif report.created_organization:
                Membership.objects.create(user=user, organization=organization, role=role)
                report.members_added.append(username)
        stamped: list[StampedRow] = []
        by_ref: dict[int, PlanRun] = {}
        baselines: dict[int, ApprovedBaseline] = {}  # ref → the restored row
        for program_plan in plan.programs:
            program = program_plan.row.instance
            program.organization = organization
            _save(program_plan.row, users, unknown, stamped)
            report.programs += 1
            for s in program_plan.scenarios:
                scenario = s.row.instance
                scenario.program = program
                _save(s.row, users, unknown, stamped)
                report.scenarios += 1
                for row in [*s.lines, *s.activities]:
                    row.instance.scenario = scenario
                    _save(row, users, unknown, stamped)
                report.activities += len(s.activities)
                for ref, _reused, row in s.runs:
                    row.instance.organization, row.instance.scenario = organization, scenario
                    by_ref[ref] = _save(row, users, unknown, stamped)
                    report.runs += 1
                for sweep_row, chunks in s.sweeps:
                    sweep_row.instance.organization = organization
                    sweep_row.instance.scenario = scenario
                    sweep = _save(sweep_row, users, unknown, stamped)
                    for chunk in chunks:
                        chunk.instance.sweep = sweep
                        _save(chunk, users, unknown, stamped)
                    report.sweeps += 1
                if s.tracking is not None:
                    saved = _TrackingTarget(organization, scenario, users, unknown, stamped)
                    _restore_tracking(s.tracking, saved, by_ref, baselines, report)
        reused = []
        for _ref, reused_ref, row in runs:
            if reused_ref is not None:
                row.instance.reused_from = by_ref[reused_ref]
                reused.append(row.instance)
        PlanRun.objects.bulk_update(reused, ["reused_from"])
        report.tracking = plan.version >= 2
        if report.tracking:
            report.calibration = _restore_calibration(
                plan, organization, baselines, users, unknown, stamped, replace=replace
            )
        _put_back_stamps(stamped)
    report.unknown_users = sorted(unknown)
    return report


def _refuse_taken_report_keys(plan: BackupPlan, organization: Organization) -> None:
    """An actual report's idempotency key is unique in its organization (with its scope): one
    held by a report the restore keeps is named before anything is written."""
    keys = {
        (row.instance.idempotency_scope, row.instance.idempotency_key)
        for p in plan.programs
        for s in p.scenarios
        for _ref, _baseline, row in (s.tracking.actuals if s.tracking else [])
        if row.instance.idempotency_key is not None
    }
    if not keys:
        return
    held = set(
        ActualReport.objects.filter(
            organization=organization, idempotency_key__in=[key for _scope, key in keys]
        ).values_list("idempotency_scope", "idempotency_key")
    )
    if keys & held:
        raise BackupError(
            [
                f"actuals: idempotency key {key!r} of {scope} is used by a report of "
                f"{organization.slug}"
                for scope, key in sorted(keys & held)
            ]
        )


@dataclass
class _TrackingTarget:
    """Where a scenario's tracking rows go, and the restore's bookkeeping."""

    organization: Organization
    scenario: Scenario
    users: dict[str, User]
    unknown: set[str]
    stamped: list[StampedRow]


def _restore_tracking(
    plan: TrackingPlan,
    to: _TrackingTarget,
    runs: dict[int, PlanRun],
    baselines: dict[int, ApprovedBaseline],
    report: RestoreReport,
) -> None:
    """A scenario's approvals (oldest first, so each supersedes one already saved), its reports,
    and its alerts, each hung on an uncomputed forecast (see ``_anchor``)."""
    for ref, run_ref, supersedes, row in plan.baselines:
        baseline = row.instance
        baseline.organization, baseline.scenario = to.organization, to.scenario
        baseline.run = runs[run_ref]
        baseline.supersedes = baselines[supersedes] if supersedes is not None else None
        _set_user(row, to.users, to.unknown)
        baseline.created_at, baseline.updated_at = row.created_at, row.updated_at
        # Inserted as the fixture loader does (``save_base(raw=True)``: the values as given,
        # ``auto_now`` not applied), since a baseline can never be updated afterwards to put its
        # times back — its manager refuses the ``bulk_update`` the other rows get. An INSERT
        # of a new row (``force_insert``), so the model's rule — an existing baseline never
        # changes — holds.
        baseline.save_base(raw=True, force_insert=True)
        baselines[ref] = baseline
        report.baselines += 1
    actuals: dict[int, ActualReport] = {}
    for ref, baseline_ref, row in plan.actuals:
        actual = row.instance
        actual.organization, actual.scenario = to.organization, to.scenario
        actual.baseline = baselines[baseline_ref]
        actuals[ref] = _save(row, to.users, to.unknown, to.stamped)
        report.actuals += 1
    anchors: dict[tuple[int, int | None], Forecast] = {}
    asked = _asked_forecast(to.scenario) if plan.alerts else None
    for baseline_ref, actual_ref, row in plan.alerts:
        baseline = baselines[baseline_ref]
        last = actuals[actual_ref] if actual_ref is not None else None
        key = (baseline.pk, last.pk if last is not None else None)
        if key not in anchors:
            anchors[key] = _anchor(to, baseline, last, computed=key == asked)
        alert = row.instance
        alert.organization, alert.scenario, alert.forecast = (
            to.organization,
            to.scenario,
            anchors[key],
        )
        _save(row, to.users, to.unknown, to.stamped)
        report.alerts += 1


def _asked_forecast(scenario: Scenario) -> tuple[int, int | None] | None:
    """(baseline, last report) of the forecast the Tracking page asks for
    (``forecasting.forecast_current``): the current baseline's, as of the latest report."""
    baseline = baseline_current(scenario=scenario)
    if baseline is None:
        return None
    reports = actuals_for(baseline, stage=None)
    return (baseline.pk, reports[-1].pk if reports else None)


def _anchor(
    to: _TrackingTarget, baseline: ApprovedBaseline, last: ActualReport | None, *, computed: bool
) -> Forecast:
    """The forecast row an alert needs (``Alert.forecast`` is required), with no result: the
    backup does not hold forecasts, which are derived.

    The one the Tracking page asks for is left queued, as the page queues one when none exists,
    and is computed again: the restore sends nothing, the sweeper sends a queued forecast nobody
    sent (``forecasts_sweep_stale``, after ``RESEND_AFTER``). Its alert then stays the one raised
    before the backup: ``alerts_raise`` finds it on the same forecast and posts no second
    webhook. Any other is an anchor only, failed with ``ANCHOR_ONLY``: nothing asks for it, and
    computing it would be work for nobody."""
    if computed:
        return Forecast.objects.create(
            organization=to.organization, scenario=to.scenario, baseline=baseline, last_actual=last
        )
    return Forecast.objects.create(
        organization=to.organization,
        scenario=to.scenario,
        baseline=baseline,
        last_actual=last,
        status=RunStatus.FAILED,
        error=ANCHOR_ONLY,
        finished_at=timezone.now(),
    )


def _restore_calibration(
    plan: BackupPlan,
    organization: Organization,
    baselines: dict[int, ApprovedBaseline],
    users: dict[str, User],
    unknown: set[str],
    stamped: list[StampedRow],
    *,
    replace: bool,
) -> str:
    """The backup's calibration, where the organization has none or ``replace`` says so. Its
    fit names the baselines it used by ref: they become the restored baselines' ids."""
    existing = OrganizationCalibration.objects.filter(organization=organization).first()
    if existing is not None and not replace:
        return "kept" if plan.calibration is not None else ""
    if existing is not None:
        existing.delete()
    if plan.calibration is None:
        return "removed" if existing is not None else ""
    row = plan.calibration
    calibration = row.instance
    calibration.organization = organization
    fitted = dict(calibration.fitted)
    if "baselines" in fitted:
        fitted["baselines"] = [baselines[ref].pk for ref in fitted["baselines"]]
    calibration.fitted = fitted
    _save(row, users, unknown, stamped)
    return "restored"


def _all_rows(plan: BackupPlan) -> list[StampedRow]:
    rows = []
    for p in plan.programs:
        rows.append(p.row)
        for s in p.scenarios:
            rows += [s.row, *s.activities, *(r for _, _, r in s.runs)]
            rows += [sweep for sweep, _chunks in s.sweeps]
            if s.tracking is not None:
                rows += [row for *_refs, row in s.tracking.baselines]
                rows += [row for *_refs, row in s.tracking.actuals]
    if plan.calibration is not None:
        rows.append(plan.calibration)
    return rows


def _put_back_stamps(rows: list[StampedRow]) -> None:
    """``save()`` stamped every row with now; put the backup's times back. ``bulk_update`` runs
    an UPDATE without ``pre_save``, so ``auto_now`` does not overwrite them again."""
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for row in rows:
        row.instance.created_at = row.created_at
        row.instance.updated_at = row.updated_at
        by_model.setdefault(type(row.instance), []).append(row.instance)
    for model, instances in by_model.items():
        model.objects.bulk_update(instances, list(STAMPS), batch_size=500)
