"""Reading the execution-tracking part of a backup (format 2): each scenario's approved baselines,
actual reports and alerts, and the organization's calibration — every problem named by its path,
before anything is written (``validate.py`` calls these with its reader)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.programs.backup.format import (
    ACTUAL_FIELDS,
    ACTUAL_FIELDS_ADDED,
    ACTUAL_FIELDS_V2,
    ALERT_FIELDS,
    BASELINE_FIELDS,
    CALIBRATION_FIELDS,
    STAMPS,
)
from apps.runs.models import RunStatus
from apps.tracking.models import ActualReport, Alert, ApprovedBaseline, OrganizationCalibration
from llmplanner.simulation.program import CATEGORIES

if TYPE_CHECKING:
    from apps.programs.backup.validate import StampedRow, _Reader

CURRENCIES = ("CNY", "USD")
SHA256 = re.compile(r"[0-9a-f]{64}")
AMOUNT = re.compile(r"-?\d{1,16}(\.\d+)?", re.ASCII)  # a decimal string, as reports store spend
FIT_FACTORS = ("throughput_factor", "failure_factor")
FIT_INTERVALS = ("throughput_interval", "failure_interval")


@dataclass
class TrackingPlan:
    """A scenario's tracking rows, validated and unsaved, in the order they are restored."""

    baselines: list[tuple[int, int, int | None, StampedRow]]  # (ref, run ref, supersedes, row)
    actuals: list[tuple[int, int, StampedRow]]  # (ref, baseline ref, row)
    alerts: list[tuple[int, int | None, StampedRow]]  # (baseline ref, last_actual ref, row)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _condition_fields(condition: Any) -> list[str]:
    """The model fields a constraint's condition reads (``progress__gte`` → ``progress``)."""
    if isinstance(condition, Q):
        return [name for child in condition.children for name in _condition_fields(child)]
    if isinstance(condition, tuple):
        return [condition[0].split("__")[0]]
    return []


def _fails(model: type[models.Model], instance: models.Model, condition: Any) -> bool:
    """Whether ``condition`` is false for the unsaved ``instance``, as the database's CHECK
    would find it (NULL passes), asked of the database without writing."""
    probe = models.CheckConstraint(condition=Q(condition), name="backup_probe")
    try:
        probe.validate(model, instance)
    except ValidationError:
        return True
    return False


def _broken(model: type[models.Model], instance: models.Model, condition: Any) -> list[str]:
    """The fields whose values break ``condition`` (which fails): an AND is split so that only
    its failing parts are named."""
    if isinstance(condition, Q) and condition.connector == Q.AND and not condition.negated:
        failing = [c for c in condition.children if _fails(model, instance, c)]
        if failing:
            return list(dict.fromkeys(n for c in failing for n in _broken(model, instance, c)))
    return list(dict.fromkeys(_condition_fields(condition)))


def _typed(
    reader: _Reader,
    model: type[models.Model],
    values: dict[str, Any],
    where: str,
    names: tuple[str, ...],
) -> dict[str, Any]:
    """``values`` with each date and time of ``names`` parsed as the stamps are (an offset is
    required, so no time is read in the server's zone)."""
    out = dict(values)
    for name in names:
        field_ = model._meta.get_field(name)
        if values[name] is not None and isinstance(field_, models.DateTimeField):
            out[name] = reader.stamp(values[name], f"{where}.{name}")
    return out


def _row(
    reader: _Reader,
    model: type[models.Model],
    data: dict[str, Any],
    where: str,
    names: tuple[str, ...],
    user_field: str | None = None,
) -> StampedRow:
    """``reader.row`` and what the database would refuse on save: a float that is not finite
    (SQLite stores NaN as NULL) and a value against one of the model's CHECK constraints — each
    named by its field, so nothing fails half-way through the restore."""
    before = len(reader.errors)
    # An empty JSON object is what these fields hold by default (no spend, no fit yet), though
    # ``clean`` calls it blank: it is set as it is.
    empty = tuple(
        n for n in names if isinstance(model._meta.get_field(n), models.JSONField) and data[n] == {}
    )
    cleaned = tuple(n for n in names if n not in empty)
    typed = _typed(reader, model, data, where, cleaned)
    row = reader.row(model, typed, where, cleaned, user_field)
    instance = row.instance
    for name in empty:
        setattr(instance, name, {})
    if len(reader.errors) > before:
        return row
    for name in names:
        value = getattr(instance, model._meta.get_field(name).attname)
        if isinstance(value, float) and not math.isfinite(value):
            reader.add(f"{where}.{name}", "must be a finite number")
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.CheckConstraint) and _fails(
            model, instance, constraint.condition
        ):
            for name in _broken(model, instance, constraint.condition) or ["(row)"]:
                value = getattr(instance, name, None)
                reader.add(
                    f"{where}.{name}",
                    f"{value!r} is outside what this field accepts ({constraint.name})",
                )
    return row


def _amounts(reader: _Reader, value: Any, where: str) -> None:
    if not isinstance(value, dict):
        reader.add(where, "must be a JSON object of spend categories")
        return
    for key, amount in value.items():
        if key not in CATEGORIES:
            reader.add(f"{where}.{key}", f"unknown spend category (one of {', '.join(CATEGORIES)})")
        elif not (isinstance(amount, str) and AMOUNT.fullmatch(amount)):
            reader.add(f"{where}.{key}", f"{amount!r} is not an amount (a decimal string)")


def _baselines(
    reader: _Reader, items: list[Any], path: str, runs: set[int]
) -> list[tuple[int, int, int | None, StampedRow]]:
    """The scenario's approvals, oldest first: one chain, each superseding an earlier one."""
    out: list[tuple[int, int, int | None, StampedRow]] = []
    seen: set[int] = set()  # refs of this scenario's baselines so far
    superseded: set[int] = set()
    first = False
    required = ("ref", "run", "supersedes", "approved_by", *BASELINE_FIELDS, *STAMPS)
    for i, item in enumerate(items):
        where = f"{path}.baselines[{i}]"
        b = reader.keys(item, where, required)
        if b is None:
            continue
        before = len(reader.errors)
        ref, run, supersedes = b["ref"], b["run"], b["supersedes"]
        if not _whole(ref) or ref in reader.baseline_refs:
            reader.add(f"{where}.ref", "must be a whole number not used by another baseline")
        if not _whole(run) or run not in runs:
            reader.add(
                f"{where}.run", f"{run!r} is not the ref of a succeeded run of this scenario"
            )
        if supersedes is None:
            if first:
                reader.add(
                    f"{where}.supersedes",
                    "null on a second baseline: only the scenario's first approval supersedes none",
                )
            first = True
        elif not _whole(supersedes) or supersedes not in seen:
            reader.add(
                f"{where}.supersedes",
                f"{supersedes!r} is not the ref of an earlier baseline of this scenario",
            )
        elif supersedes in superseded:
            reader.add(
                f"{where}.supersedes", f"baseline {supersedes} is superseded by another already"
            )
        for name in ("inputs", "report"):
            if not isinstance(b[name], dict):
                reader.add(f"{where}.{name}", "must be a JSON object")
        if not (isinstance(b["pdf_sha256"], str) and SHA256.fullmatch(b["pdf_sha256"])):
            reader.add(f"{where}.pdf_sha256", "must be 64 lowercase hexadecimal digits")
        row = _row(reader, ApprovedBaseline, b, where, BASELINE_FIELDS, "approved_by")
        if _whole(ref) and ref not in reader.baseline_refs:
            reader.baseline_refs.add(ref)
            seen.add(ref)
        if len(reader.errors) == before:
            if supersedes is not None:
                superseded.add(supersedes)
            out.append((ref, run, supersedes, row))
    return out


def _actuals(
    reader: _Reader, items: list[Any], path: str, baselines: set[int]
) -> list[tuple[int, int, StampedRow]]:
    out = []
    required = ("ref", "baseline", "created_by", *ACTUAL_FIELDS_V2, *STAMPS)
    for i, item in enumerate(items):
        where = f"{path}.actuals[{i}]"
        a = reader.keys(item, where, required, ACTUAL_FIELDS_ADDED)
        if a is None:
            continue
        before = len(reader.errors)
        ref, baseline = a["ref"], a["baseline"]
        if not _whole(ref) or ref in reader.actual_refs:
            reader.add(f"{where}.ref", "must be a whole number not used by another report")
        else:
            reader.actual_refs.add(ref)
        if not _whole(baseline) or baseline not in baselines:
            reader.add(
                f"{where}.baseline", f"{baseline!r} is not the ref of a baseline of this scenario"
            )
        # A field added to the model after this file was written: its default (or null).
        values = {
            **{n: ActualReport._meta.get_field(n).get_default() for n in ACTUAL_FIELDS_ADDED},
            **a,
        }
        for name in ("spend", "spend_sent"):
            _amounts(reader, values[name], f"{where}.{name}")
        for name in ("spend_currency", "currency"):
            if values[name] not in CURRENCIES:
                reader.add(f"{where}.{name}", f"must be one of {', '.join(CURRENCIES)}")
        row = _row(reader, ActualReport, values, where, ACTUAL_FIELDS, "created_by")
        key = (row.instance.idempotency_scope, row.instance.idempotency_key)
        if key[1] is not None:
            reader.actual_keys.append(key)
        if len(reader.errors) == before:
            out.append((ref, baseline, row))
    return out


def _alerts(
    reader: _Reader, items: list[Any], path: str, baselines: set[int], actuals: set[int]
) -> list[tuple[int, int | None, StampedRow]]:
    out = []
    seen: set[tuple[Any, Any, Any]] = set()
    for i, item in enumerate(items):
        where = f"{path}.alerts[{i}]"
        a = reader.keys(item, where, ("baseline", "last_actual", *ALERT_FIELDS, *STAMPS))
        if a is None:
            continue
        before = len(reader.errors)
        baseline, last = a["baseline"], a["last_actual"]
        if not _whole(baseline) or baseline not in baselines:
            reader.add(
                f"{where}.baseline", f"{baseline!r} is not the ref of a baseline of this scenario"
            )
        if last is not None and (not _whole(last) or last not in actuals):
            reader.add(
                f"{where}.last_actual",
                f"{last!r} is not the ref of an actual report of this scenario (or null)",
            )
        row = _row(reader, Alert, a, where, ALERT_FIELDS)
        key = (baseline, last, row.instance.kind)
        if len(reader.errors) == before and key in seen:
            reader.add(f"{where}.kind", "another alert of the same forecast has this kind")
        if len(reader.errors) == before:
            seen.add(key)
            out.append((baseline, last, row))
    return out


def tracking_read(
    reader: _Reader, body: dict[str, Any], path: str, runs: list[Any]
) -> TrackingPlan:
    """A scenario's ``baselines``, ``actuals`` and ``alerts``; ``runs`` are its validated runs
    (``(ref, reused_from, row)``), which the baselines approve."""
    succeeded = {ref for ref, _reused, row in runs if row.instance.status == RunStatus.SUCCEEDED}
    baselines = _baselines(
        reader, reader.items(body["baselines"], f"{path}.baselines"), path, succeeded
    )
    baseline_refs = {ref for ref, _run, _supersedes, _row_ in baselines}
    actuals = _actuals(
        reader, reader.items(body["actuals"], f"{path}.actuals"), path, baseline_refs
    )
    actual_refs = {ref for ref, _baseline, _row_ in actuals}
    alerts = _alerts(
        reader, reader.items(body["alerts"], f"{path}.alerts"), path, baseline_refs, actual_refs
    )
    return TrackingPlan(baselines, actuals, alerts)


def _fit_problems(reader: _Reader, fitted: Any, where: str) -> None:
    """A fit as ``llmplanner.simulation.own_calibration.fit`` stores it (``{}``: none yet): the
    numbers the plan adapter and the Calibration page read must be there and finite."""
    if not isinstance(fitted, dict):
        reader.add(where, "must be a JSON object")
        return
    if not fitted:
        return
    runs = fitted.get("runs")
    if not _whole(runs) or runs < 0:
        reader.add(f"{where}.runs", "must be a whole number of at least 0")
    days = fitted.get("days")
    if not _number(days) or days < 0:
        reader.add(f"{where}.days", "must be a number of at least 0")
    for key in FIT_FACTORS:
        if not _number(fitted.get(key)) or fitted[key] <= 0:
            reader.add(f"{where}.{key}", "must be a number greater than 0")
    for key in FIT_INTERVALS:
        value = fitted.get(key)
        if not (isinstance(value, list) and len(value) == 2 and all(map(_number, value))):
            reader.add(f"{where}.{key}", "must be a list of two numbers")
    used = fitted.get("baselines", [])
    if not isinstance(used, list):
        reader.add(f"{where}.baselines", "must be a list of baseline refs")
        return
    for i, ref in enumerate(used):
        if not _whole(ref) or ref not in reader.baseline_refs:
            reader.add(
                f"{where}.baselines[{i}]", f"{ref!r} is not the ref of a baseline in this backup"
            )


def calibration_read(reader: _Reader, data: Any, path: str = "calibration") -> StampedRow | None:
    """The organization's calibration (null: it had none). Read after every scenario, as its
    fit names the baselines it used by their refs."""
    if data is None:
        return None
    c = reader.keys(data, path, ("changed_by", *CALIBRATION_FIELDS, *STAMPS))
    if c is None:
        return None
    _fit_problems(reader, c["fitted"], f"{path}.fitted")
    if not isinstance(c["enabled"], bool):  # the field itself would take "t" or 1
        reader.add(f"{path}.enabled", "must be true or false")
        c = {**c, "enabled": False}
    return _row(reader, OrganizationCalibration, c, path, CALIBRATION_FIELDS, "changed_by")
