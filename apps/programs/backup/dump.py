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


def organization_backup(organization: Organization, *, members: bool = True) -> dict[str, Any]:
    """Everything of ``organization``'s plans as a format-1 backup document (a JSON-ready dict),
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
