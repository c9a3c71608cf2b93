"""Writes of tracking: approve a run as the scenario's baseline; report actuals against it (one
report from the API or the form, many from a CSV upload).

Every service checks the user's role first (owner or editor; ``EditDenied`` otherwise, which
the pages and the API answer with 403), validates everything before it writes, and writes in
one transaction: nothing is saved half-way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Organization, User
from apps.api.money import money
from apps.common.errors import ApplicationError
from apps.programs.models import Scenario
from apps.programs.selectors import can_edit
from apps.programs.services import Action, EditDenied, activity_record
from apps.reports.models import Export
from apps.runs.models import PlanRun, RunStatus
from apps.tracking.calibration import calibration_refit_on_commit
from apps.tracking.csv_format import CsvRow, csv_column
from apps.tracking.forecasting import forecast_queue
from apps.tracking.models import NOTE_MAX_LENGTH, ActualReport, ApprovedBaseline, HashOf
from apps.tracking.selectors import baseline_current, baseline_start
from apps.tracking.validation import (
    CleanReport,
    Errors,
    Point,
    check_order,
    check_window,
    clean_report,
    parsed_date,
    point_of,
    tracked_stages,
)
from apps.webhooks.services import webhook_emit


class NoApprovedBaseline(ApplicationError):
    """Actuals (or the approved budget) asked of a scenario nothing has been approved for."""


class ApprovalConflict(ApplicationError):
    """Another approval of the scenario was saved at the same moment; nothing was saved."""


class IdempotencyKeyReused(ApplicationError):
    """An ``Idempotency-Key`` sent again with a different request."""


class IdempotencyKeyInFlight(ApplicationError):
    """A first use of a key raced another one that did not finish: try again."""


def _require_editor(user: User, organization: Organization) -> None:
    if not can_edit(user=user, organization=organization):
        raise EditDenied(_("You need the owner or editor role to change plans here."))


# --- approval ------------------------------------------------------------------------------


def report_sha256(report: Any) -> str:
    """SHA-256 of a report's canonical JSON: keys sorted, no spaces, UTF-8 (what a baseline
    records when its run had no PDF export; anyone can recompute it from the API's report)."""
    text = json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _approved_document_hash(run: PlanRun) -> tuple[str, str]:
    """The SHA-256 of what the approver could read: the run's latest ready PDF export whose file
    is still stored, else the report's canonical JSON; and which of the two it is."""
    exports = (
        Export.objects.filter(run=run, status=Export.Status.READY, kind=Export.Kind.PLAN)
        .exclude(file="")
        .order_by("-finished_at", "-id")
    )
    for export in exports:
        if default_storage.exists(export.file.name):
            digest = hashlib.sha256()
            with default_storage.open(export.file.name, "rb") as pdf:
                for chunk in iter(lambda: pdf.read(1 << 20), b""):
                    digest.update(chunk)
            return digest.hexdigest(), HashOf.PDF
    return report_sha256(run.result), HashOf.REPORT


def _note_problem(note: str) -> str | None:
    if len(note) > NOTE_MAX_LENGTH:
        return _("at most %(n)d characters") % {"n": NOTE_MAX_LENGTH}
    if "\x00" in note or any("\ud800" <= c <= "\udfff" for c in note):
        return _("must be plain text (no NUL characters or lone surrogates)")
    return None


def baseline_approve(
    *, user: User, scenario: Scenario, run: PlanRun | None, note: str = ""
) -> ApprovedBaseline:
    """Approve ``run`` (a succeeded run of ``scenario``) as the plan to execute: a new immutable
    baseline holding copies of its inputs and report, the approver, the time, the note and the
    SHA-256 of the approved document. It supersedes the current baseline, if any (the new row
    points at the old one, which never changes). ``run`` is None when the id named no run of
    the scenario's organization.

    Raises ``EditDenied`` for a viewer, ``ApplicationError`` naming ``run`` (not this
    scenario's, not succeeded, already the current baseline) or ``note``, and
    ``ApprovalConflict`` when another approval of the scenario won a race.
    """
    organization = scenario.program.organization
    _require_editor(user, organization)
    note = (note or "").strip()
    if problem := _note_problem(note):
        raise ApplicationError(problem, extra={"field": "note"})
    if run is None or run.scenario_id != scenario.pk or run.organization_id != organization.pk:
        raise ApplicationError(
            _("This run is not a run of scenario “%(scenario)s”.") % {"scenario": scenario.name},
            extra={"field": "run"},
        )
    if run.status != RunStatus.SUCCEEDED or not run.result:
        raise ApplicationError(
            _(
                "Run #%(id)s has not succeeded (it is %(status)s): only a succeeded run can be "
                "approved."
            )
            % {"id": run.pk, "status": run.get_status_display()},
            extra={"field": "run"},
        )
    digest, hash_of = _approved_document_hash(run)
    with transaction.atomic():
        current = baseline_current(scenario=scenario)
        if current is not None and current.run_id == run.pk:
            raise ApplicationError(
                _("Run #%(id)s is already the approved baseline of this scenario.")
                % {"id": run.pk},
                extra={"field": "run"},
            )
        try:
            with transaction.atomic():
                baseline = ApprovedBaseline.objects.create(
                    organization=organization,
                    scenario=scenario,
                    run=run,
                    supersedes=current,
                    inputs=run.inputs,
                    report=run.result,
                    core_version=run.core_version,
                    approved_by=user,
                    approved_by_name=user.get_username(),
                    approved_at=timezone.now(),
                    note=note,
                    pdf_sha256=digest,
                    hash_of=hash_of,
                )
        except IntegrityError:
            # The constraints hold the history to one chain: another approval took the place.
            raise ApprovalConflict(
                _(
                    "Another approval of this scenario was saved at the same moment; nothing "
                    "was saved. Reload and decide again."
                )
            ) from None
        webhook_emit(
            organization=organization, event="baseline.approved", payload=approval_payload(baseline)
        )
        activity_record(
            scenario=scenario,
            user=user,
            action=Action.APPROVED,
            summary=_("run #%(id)s approved as the baseline") % {"id": run.pk}
            + (f" — {note}" if note else ""),
        )
    return baseline


def approval_payload(baseline: ApprovedBaseline) -> dict[str, Any]:
    """The ``baseline.approved`` webhook's data: what was approved, by whom, for how much."""
    totals = baseline.report["totals"]
    scenario = baseline.scenario
    return {
        "program": {"id": scenario.program_id, "name": scenario.program.name},
        "scenario": {"id": scenario.pk, "name": scenario.name},
        "baseline": baseline.pk,
        "run": baseline.run_id,
        "supersedes": baseline.supersedes_id,
        "approved_by": baseline.approved_by_name,
        "approved_at": baseline.approved_at.isoformat(),
        "note": baseline.note,
        "currency": baseline.report["plan"]["currency"],
        "cost_p50": money(totals["cost"]["p50"], "")["amount"],
        "cost_p90": money(totals["cost"]["p90"], "")["amount"],
        "finish_date_p50": totals.get("finish_date_p50"),
        "finish_date_p90": totals.get("finish_date_p90"),
        "sha256": baseline.pdf_sha256,
        "hash_of": baseline.hash_of,
    }


# --- actuals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Idempotency:
    """An API request's ``Idempotency-Key``: whose it is (``token:<id>``/``user:<id>``), the key,
    and the SHA-256 of the request (method, path, body) it came with."""

    scope: str
    key: str
    request_hash: str


def _current_or_refuse(scenario: Scenario) -> ApprovedBaseline:
    baseline = baseline_current(scenario=scenario)
    if baseline is None:
        raise NoApprovedBaseline(
            _(
                "This scenario has no approved baseline yet: approve a succeeded run first; "
                "actuals are reported against it."
            )
        )
    return baseline


def _existing_points(scenario: Scenario) -> list[Point]:
    """The scenario's reports of every stage as points, in the order they were posted; spend
    only where it is in the program's current currency (a report from before a currency switch
    keeps its own)."""
    currency = scenario.program.currency
    reports = ActualReport.objects.filter(scenario=scenario, withdrawn_at=None).order_by(
        "date", "created_at", "id"
    )
    return [point_of(r, with_spend=r.spend_currency == currency) for r in reports]


def _validate(
    scenario: Scenario, baseline: ApprovedBaseline, raws: Sequence[Mapping[str, Any]]
) -> tuple[list[CleanReport], list[Errors]]:
    """Each report cleaned and checked — against the baseline's window, the saved reports and
    the ones before it in ``raws`` — and its errors (empty when it passes)."""
    start = baseline_start(baseline)
    plan_start = bool((baseline.inputs or {}).get("start_date"))
    today = timezone.localdate()
    points = _existing_points(scenario)
    stages = tracked_stages(baseline.report)
    cleaned: list[CleanReport] = []
    all_errors: list[Errors] = []
    for raw in raws:
        report, errors = clean_report(
            raw, program_currency=scenario.program.currency, stages=stages
        )
        date = parsed_date(raw)
        if date is not None:  # also when another field is wrong: name every field at once
            errors = {
                **errors,
                **check_window(date, start=start, plan_start=plan_start, today=today),
            }
        if report is not None and not errors:
            errors = check_order(report, points)
            if not errors:
                cleaned.append(report)
                points.append(point_of(report))
        all_errors.append(errors)
    return cleaned, all_errors


def _row(
    scenario: Scenario,
    baseline: ApprovedBaseline,
    report: CleanReport,
    *,
    user: User,
    source: str,
    idempotency: Idempotency | None = None,
) -> ActualReport:
    extra: dict[str, Any] = {}
    if idempotency is not None:
        extra = {
            "idempotency_scope": idempotency.scope,
            "idempotency_key": idempotency.key,
            "request_hash": idempotency.request_hash,
        }
    return ActualReport.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        baseline=baseline,
        source=source,
        created_by=user,
        **report.model_values(),
        **extra,
    )


def _replay(stored: ActualReport, idempotency: Idempotency) -> ActualReport:
    if stored.request_hash != idempotency.request_hash:
        raise IdempotencyKeyReused(
            _(
                "This Idempotency-Key was already used for a different request (another body "
                "or scenario); send a new key for a new report."
            )
        )
    return stored


def actual_report_create(
    *,
    user: User,
    scenario: Scenario,
    data: Any,
    source: str = ActualReport.Source.API,
    idempotency: Idempotency | None = None,
) -> tuple[ActualReport, bool]:
    """Store one report of actuals (``data`` in the API's shape) against the scenario's current
    baseline; returns it and whether it is new.

    With ``idempotency``, a request already stored under the key returns that report (False)
    without checking anything again, and a different request under it raises
    ``IdempotencyKeyReused``. Raises ``EditDenied``, ``NoApprovedBaseline`` or
    ``ApplicationError`` with ``extra["errors"]`` naming every field at fault.
    """
    organization = scenario.program.organization
    _require_editor(user, organization)
    if idempotency is not None:
        mine = ActualReport.objects.filter(
            organization=organization,
            idempotency_scope=idempotency.scope,
            idempotency_key=idempotency.key,
        )
        stored = mine.first()
        if stored is not None:
            return _replay(stored, idempotency), False
    try:
        with transaction.atomic():
            # One writer per scenario at a time (Postgres), so two reports cannot both pass the
            # order check against the same history.
            Scenario.objects.select_for_update().filter(pk=scenario.pk).first()
            baseline = _current_or_refuse(scenario)
            cleaned, [errors] = _validate(scenario, baseline, [data])
            if errors:
                raise ApplicationError(_describe(errors), extra={"errors": errors})
            report = _row(
                scenario, baseline, cleaned[0], user=user, source=source, idempotency=idempotency
            )
            calibration_refit_on_commit(baseline=baseline, reports=[report])
            forecast_queue(baseline=baseline, last_actual=report)
    except IntegrityError:
        if idempotency is None:
            raise
        # Another request with this key committed first (the unique constraint waited for it).
        stored = mine.first()
        if stored is None:
            raise IdempotencyKeyInFlight(
                _("Another request with this Idempotency-Key is in progress; try again.")
            ) from None
        return _replay(stored, idempotency), False
    return report, True


def _describe(errors: Errors) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


def actual_reports_import(
    *,
    user: User,
    scenario: Scenario,
    rows: Sequence[CsvRow],
    currency: str = "",
    usd_to_cny: str = "",
) -> list[ActualReport]:
    """Store every row of an uploaded CSV (``apps.tracking.csv_format.csv_rows``), or none.

    ``currency``/``usd_to_cny`` (from the upload form) apply to every row. A row is checked
    against the saved reports and the rows above it. Raises ``ApplicationError`` whose
    ``extra["errors"]`` maps ``row <n>.<column>`` to its messages, for every row at fault.
    """
    _require_editor(user, scenario.program.organization)
    money = {k: v for k, v in {"currency": currency, "usd_to_cny": usd_to_cny}.items() if v}
    with transaction.atomic():
        Scenario.objects.select_for_update().filter(pk=scenario.pk).first()
        baseline = _current_or_refuse(scenario)
        cleaned, per_row = _validate(scenario, baseline, [{**row.values, **money} for row in rows])
        errors: Errors = {}
        lines: list[str] = []
        for row, row_errors in zip(rows, per_row, strict=True):
            for name, messages in row_errors.items():
                column = csv_column(name)
                errors[f"row {row.number}.{column}"] = messages
                lines.append(
                    _("Row %(row)d, %(column)s: %(message)s")
                    % {"row": row.number, "column": column, "message": " ".join(messages)}
                )
        if errors:
            raise ApplicationError(
                _("Nothing was saved. %(errors)s") % {"errors": " ".join(lines)},
                extra={"errors": errors, "lines": lines},
            )
        saved = [
            _row(scenario, baseline, report, user=user, source=ActualReport.Source.CSV)
            for report in cleaned
        ]
        calibration_refit_on_commit(baseline=baseline, reports=saved)
        if saved:  # one forecast per upload, as of its last row (not one per row)
            forecast_queue(baseline=baseline, last_actual=max(saved, key=lambda r: (r.date, r.pk)))
        return saved


def actual_report_withdraw(*, user: User, report: ActualReport, note: str = "") -> ActualReport:
    """Take back the scenario's latest report (a typo that would block every lower figure after
    it): it stays listed as withdrawn and nothing reads it any more — the forecast is again the
    one of the report before it, the own calibration is fitted again. An older report is
    withdrawn by withdrawing the ones after it first, so no stored forecast ever read a report
    that is gone. Raises ``EditDenied`` or ``ApplicationError`` naming ``report`` or ``note``."""
    scenario = report.scenario
    _require_editor(user, scenario.program.organization)
    if problem := _note_problem(note):
        raise ApplicationError(problem, extra={"errors": {"note": [problem]}})
    with transaction.atomic():
        Scenario.objects.select_for_update().filter(pk=scenario.pk).first()
        report = ActualReport.objects.select_for_update().get(pk=report.pk)
        if report.withdrawn_at is not None:
            message = _("This report was already withdrawn.")
            raise ApplicationError(message, extra={"errors": {"report": [message]}})
        latest = (
            ActualReport.objects.filter(scenario=scenario, withdrawn_at=None)
            .order_by("-date", "-created_at", "-id")
            .first()
        )
        if latest is not None and latest.pk != report.pk:
            message = _(
                "Only the latest report can be withdrawn (now the one of %(date)s): withdraw "
                "the reports after this one first."
            ) % {"date": latest.date.isoformat()}
            raise ApplicationError(message, extra={"errors": {"report": [message]}})
        report.withdrawn_at = timezone.now()
        report.withdrawn_by_name = user.get_username()
        report.withdrawal_note = note.strip()
        report.save(update_fields=["withdrawn_at", "withdrawn_by_name", "withdrawal_note"])
        activity_record(
            scenario=scenario,
            user=user,
            action=Action.REPORT_WITHDRAWN,
            summary=_("report of %(date)s withdrawn") % {"date": report.date.isoformat()}
            + (f" — {report.withdrawal_note}" if report.withdrawal_note else ""),
        )
        baseline = baseline_current(scenario=scenario)
        if baseline is not None:
            calibration_refit_on_commit(baseline=baseline, reports=[report])
            before = (
                ActualReport.objects.filter(scenario=scenario, withdrawn_at=None)
                .order_by("-date", "-created_at", "-id")
                .first()
            )
            forecast_queue(baseline=baseline, last_actual=before)
    return report
