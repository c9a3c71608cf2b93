"""Writing a backup: one consistent snapshot of an organization as a JSON document."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from apps.accounts.models import Organization, User
from apps.programs import documents
from apps.programs.backup.format import (
    ACTIVITY_FIELDS,
    ACTUAL_FIELDS,
    ALERT_FIELDS,
    BASELINE_FIELDS,
    CALIBRATION_FIELDS,
    CHUNK_FIELDS,
    FINISHED,
    FORMAT,
    FORMAT_VERSION,
    PROGRAM_FIELDS,
    RUN_FIELDS,
    SCENARIO_EXTRA,
    STAMPS,
    SWEEP_FIELDS,
    app_version,
)
from apps.programs.models import Program, Scenario
from apps.runs.models import PlanRun, Sweep
from apps.tracking.models import ActualReport, Alert, ApprovedBaseline, OrganizationCalibration
from llmplanner.simulation import __version__ as CORE_VERSION


def _value(value: Any) -> Any:
    """A model value as JSON: Decimal → exact string, date/datetime → ISO 8601, a catalog row →
    its key, a user → the username."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, User):
        return value.get_username()
    if isinstance(value, models.Model):
        return value.key
    return value


def _row(instance: models.Model, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _value(getattr(instance, name)) for name in names}


def _scenario_body(scenario: Scenario) -> dict[str, Any]:
    """The ``scenario:`` section of ``documents.scenario_document`` with exact amounts and the
    lines' timestamps (the same keys, so either format reads the other's scenarios)."""
    body: dict[str, Any] = {
        key: _value(getattr(scenario, name)) for key, name in documents.SCENARIO_TOP.items()
    }
    for section, names in documents.SCENARIO_SECTIONS.items():
        values = {key: _value(getattr(scenario, name)) for key, name in names.items()}
        if section == "model":  # as in the scenario document: only what defines the model
            values = {k: v for k, v in values.items() if v not in (None, "")}
        body[section] = values
    for key, (model, names_) in documents.LINE_FIELDS.items():
        lines = model.objects.filter(scenario=scenario).order_by("id")
        body[key] = [_row(line, (*names_, *STAMPS)) for line in lines]
    return body


def _chain(baselines: list[ApprovedBaseline]) -> list[ApprovedBaseline]:
    """A scenario's baselines in the order they were approved: the first, then each one's
    successor (a restore saves them in this order, so each supersedes one already saved)."""
    successor = {b.supersedes_id: b for b in baselines}
    ordered = []
    current = successor.get(None)
    while current is not None and len(ordered) < len(baselines):
        ordered.append(current)
        current = successor.get(current.pk)
    # None are left over while the model's constraints hold; a row that is would be refused by
    # the restore, naming it, rather than dropped from the file here.
    return ordered + [b for b in baselines if b not in ordered]


def _tracking(
    scenario: Scenario, runs: dict[int, int], baselines: dict[int, int], actuals: dict[int, int]
) -> dict[str, Any]:
    """The scenario's approvals, actual reports and alerts; ``runs`` maps run ids to their refs,
    ``baselines`` and ``actuals`` are filled with this scenario's (id → ref, document-wide).
    Forecasts are not written: they are computed from these (an alert names its forecast by
    the forecast's baseline and last report)."""
    order = ("created_at", "id")
    approved = _chain(
        list(
            ApprovedBaseline.objects.filter(scenario=scenario)
            .select_related("approved_by")
            .order_by(*order)
        )
    )
    written: dict[str, Any] = {"baselines": [], "actuals": [], "alerts": []}
    for baseline in approved:
        baselines[baseline.pk] = len(baselines) + 1
        written["baselines"].append(
            {
                "ref": baselines[baseline.pk],
                "run": runs.get(baseline.run_id),
                "supersedes": baselines.get(baseline.supersedes_id),
                **_row(baseline, ("approved_by", *BASELINE_FIELDS, *STAMPS)),
            }
        )
    for report in (
        ActualReport.objects.filter(scenario=scenario).select_related("created_by").order_by(*order)
    ):
        actuals[report.pk] = len(actuals) + 1
        written["actuals"].append(
            {
                "ref": actuals[report.pk],
                "baseline": baselines.get(report.baseline_id),
                **_row(report, ("created_by", *ACTUAL_FIELDS, *STAMPS)),
            }
        )
    for alert in (
        Alert.objects.filter(scenario=scenario).select_related("forecast").order_by(*order)
    ):
        written["alerts"].append(
            {
                "baseline": baselines.get(alert.forecast.baseline_id),
                "last_actual": actuals.get(alert.forecast.last_actual_id),
                **_row(alert, (*ALERT_FIELDS, *STAMPS)),
            }
        )
    return written


def _calibration(organization: Organization, baselines: dict[int, int]) -> dict[str, Any] | None:
    """The organization's calibration (None: it has none), the baselines its fit used named by
    their refs in this document (ids differ between databases)."""
    row = (
        OrganizationCalibration.objects.filter(organization=organization)
        .select_related("changed_by")
        .first()
    )
    if row is None:
        return None
    item = _row(row, ("changed_by", *CALIBRATION_FIELDS, *STAMPS))
    fitted = dict(row.fitted or {})
    if isinstance(fitted.get("baselines"), list):
        # A baseline no longer there (its scenario deleted) was used by the fit but cannot be
        # named; the Calibration page lists only the ones that exist anyway.
        fitted["baselines"] = [
            baselines[pk] for pk in fitted["baselines"] if isinstance(pk, int) and pk in baselines
        ]
    item["fitted"] = fitted
    return item


def organization_backup(organization: Organization, *, members: bool = True) -> dict[str, Any]:
    """Everything of ``organization``'s plans as a format-2 backup document (a JSON-ready dict),
    read from one snapshot so that an edit made meanwhile is either wholly in it or not at all."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # Must be the transaction's first statement; inside an outer block it is too late.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _backup(organization, members=members)


def _backup(organization: Organization, *, members: bool) -> dict[str, Any]:
    refs: dict[int, int] = {}  # run id → its number in this document, in document order
    baselines: dict[int, int] = {}  # likewise for approved baselines and actual reports
    actuals: dict[int, int] = {}
    runs = PlanRun.objects.filter(organization=organization, status__in=FINISHED)
    programs = []
    order = ("created_at", "id")
    for program in (
        Program.objects.filter(organization=organization)
        .select_related("created_by")
        .order_by(*order)
    ):
        scenarios = []
        for scenario in program.scenarios.select_related("created_by", "model_preset").order_by(
            *order
        ):
            body = _scenario_body(scenario)
            body.update(_row(scenario, (*SCENARIO_EXTRA, "created_by", *STAMPS)))
            body["activity"] = [
                _row(a, ("actor", *ACTIVITY_FIELDS, *STAMPS))
                for a in scenario.activities.select_related("actor").order_by(*order)
            ]
            body["runs"] = []
            for run in runs.filter(scenario=scenario).select_related("created_by").order_by(*order):
                refs[run.pk] = len(refs) + 1
                item = {"ref": refs[run.pk], **_row(run, ("created_by", *RUN_FIELDS, *STAMPS))}
                item["reused_from"] = run.reused_from_id  # turned into a ref below
                body["runs"].append(item)
            body["sweeps"] = [
                {
                    **_row(sweep, ("created_by", *SWEEP_FIELDS, *STAMPS)),
                    "chunks": [
                        _row(chunk, (*CHUNK_FIELDS, *STAMPS))
                        for chunk in sweep.chunks.order_by("index")
                    ],
                }
                for sweep in Sweep.objects.filter(
                    organization=organization, scenario=scenario, status__in=FINISHED
                )
                .select_related("created_by")
                .order_by(*order)
            ]
            body.update(_tracking(scenario, refs, baselines, actuals))
            scenarios.append(body)
        item = _row(program, (*PROGRAM_FIELDS, "created_by", *STAMPS))
        item["scenarios"] = scenarios
        programs.append(item)
    for program in programs:
        for scenario in program["scenarios"]:
            for run in scenario["runs"]:
                run["reused_from"] = refs.get(run["reused_from"])
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "core_version": CORE_VERSION,
        "created_at": timezone.now().isoformat(),
        "organization": {"slug": organization.slug, "name": organization.name},
    }
    if members:
        document["members"] = [
            {"username": m.user.get_username(), "role": m.role}
            for m in organization.memberships.select_related("user").order_by("user__username")
        ]
    document["programs"] = programs
    document["calibration"] = _calibration(organization, baselines)
    document["skipped"] = {
        "runs_in_flight": PlanRun.objects.filter(organization=organization)
        .exclude(status__in=FINISHED)
        .count(),
        "sweeps_in_flight": Sweep.objects.filter(organization=organization)
        .exclude(status__in=FINISHED)
        .count(),
        "exports": organization.exports.count(),
    }
    return document


def backup_dumps(document: dict[str, Any]) -> str:
    """The document as JSON text (2-space indent, non-ASCII kept as written)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
