"""Reading a backup: every problem named by its path, before anything is written."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Membership
from apps.programs import documents
from apps.programs.backup.format import (
    ACTIVITY_FIELDS,
    CHUNK_FIELDS,
    CHUNK_FIELDS_ADDED,
    CHUNK_FIELDS_V1,
    FINISHED,
    FORMAT,
    PROGRAM_FIELDS,
    READS,
    RUN_FIELDS,
    SCENARIO_EXTRA,
    SCENARIO_KEYS,
    STAMPS,
    SWEEP_FIELDS,
    TRACKING_KEYS,
    BackupError,
)
from apps.programs.backup.tracking import TrackingPlan, calibration_read, tracking_read
from apps.programs.models import Program, Scenario, ScenarioActivity
from apps.runs.models import PlanRun, Sweep, SweepChunk


def backup_loads(text: str) -> Any:
    """Parse backup text; a syntax error raises ``BackupError`` with its line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackupError(
            [f"line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"]
        ) from exc


@dataclass
class StampedRow:
    """A validated, unsaved row and what is set after it is saved."""

    instance: models.Model
    created_at: dt.datetime
    updated_at: dt.datetime
    user_field: str | None = None
    username: str | None = None


@dataclass
class _ScenarioPlan:
    row: StampedRow
    lines: list[StampedRow]
    activities: list[StampedRow]
    runs: list[tuple[int, int | None, StampedRow]]  # (ref, reused_from ref, run)
    sweeps: list[tuple[StampedRow, list[StampedRow]]]
    tracking: TrackingPlan | None  # None: a format 1 file, which has none


@dataclass
class _ProgramPlan:
    row: StampedRow
    scenarios: list[_ScenarioPlan]


@dataclass
class BackupPlan:
    """A validated backup: unsaved instances, nothing read from or written to the target yet."""

    slug: str
    name: str
    members: list[tuple[str, str]]
    programs: list[_ProgramPlan]
    version: int
    calibration: StampedRow | None  # the organization's; None when it had none (or format 1)


class _Reader:
    """Collects every problem of a document, each named by its path (``programs[0].name``)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.refs: set[int] = set()  # the runs' refs seen so far
        self.reuses: list[tuple[str, Any]] = []  # (path, ref) of every reused_from
        self.baseline_refs: set[int] = set()  # tracking (format 2): refs seen so far
        self.actual_refs: set[int] = set()
        self.actual_keys: list[tuple[str, str]] = []  # (idempotency scope, key) of the reports

    def add(self, path: str, message: str) -> None:
        self.errors.append(f"{path or '(document)'}: {message}")

    def keys(
        self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, "must be a JSON object")
            return None
        ok = True
        for key in required:
            if key not in value:
                self.add(f"{path}.{key}" if path else key, "missing field")
                ok = False
        for key in sorted(set(value) - set(required) - set(optional), key=str):
            self.add(f"{path}.{key}" if path else str(key), "unknown field")
            ok = False
        return value if ok else None

    def items(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.add(path, "must be a list")
            return []
        return value

    def stamp(self, value: Any, path: str) -> dt.datetime:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or timezone.is_naive(parsed):
            self.add(path, "must be a date and time with its UTC offset (ISO 8601)")
            return timezone.now()
        return parsed

    def username(self, value: Any, path: str) -> str | None:
        if value is not None and (not isinstance(value, str) or not value):
            self.add(path, "must be a username or null")
            return None
        return value

    def build(self, model: type[models.Model], values: dict[str, Any], path: str) -> models.Model:
        """An unsaved instance, each value converted and checked by its field's ``clean`` (type,
        choices, limits) as ``full_clean`` does. A value of the wrong JSON type is named too:
        Django's date parsers raise ``TypeError`` on a number instead of a ValidationError."""
        instance = model()
        for name, value in values.items():
            field_ = model._meta.get_field(name)
            try:
                setattr(instance, field_.attname, field_.clean(value, instance))
            except ValidationError as exc:
                for message in exc.messages:
                    self.add(f"{path}.{name}", message)
            except (TypeError, ValueError, ArithmeticError):
                self.add(f"{path}.{name}", f"{value!r} is not a value this field takes")
        return instance

    def row(
        self,
        model: type[models.Model],
        data: dict[str, Any],
        path: str,
        names: tuple[str, ...],
        user_field: str | None = None,
    ) -> StampedRow:
        instance = self.build(model, {n: data[n] for n in names}, path)
        username = self.username(data[user_field], f"{path}.{user_field}") if user_field else None
        return StampedRow(
            instance,
            self.stamp(data["created_at"], f"{path}.created_at"),
            self.stamp(data["updated_at"], f"{path}.updated_at"),
            user_field,
            username,
        )


def _nul_paths(value: Any, path: str) -> Any:
    """Paths of the strings (keys too) holding U+0000, which PostgreSQL's text and jsonb refuse."""
    if isinstance(value, str) and "\x00" in value:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield where
            yield from _nul_paths(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{path}[{i}]")


def _finished(reader: _Reader, data: dict[str, Any], path: str) -> bool:
    if data["status"] not in FINISHED:
        reader.add(
            f"{path}.status",
            f"{data['status']!r}: only finished runs and sweeps (succeeded, failed) are restored",
        )
        return False
    return True


def _no_blank_lookalikes(reader: _Reader, body: dict[str, Any], path: str) -> None:
    """``document_parse`` lets "", [] and {} through in a field that may be blank
    (``full_clean`` skips Django's "empty values" there) and ``save()`` then fails on them; a
    backup writes null for "nothing", so they are named here."""

    def check(model: type[models.Model], name: str, value: Any, where: str) -> None:
        field_ = model._meta.get_field(name)
        if isinstance(value, (list, dict)) and not isinstance(field_, models.JSONField):
            reader.add(where, "must be a single value, not a list or an object")
        elif value == "" and not isinstance(field_, (models.CharField, models.TextField)):
            reader.add(where, "must be a value or null, not an empty string")

    for key, name in documents.SCENARIO_TOP.items():
        check(Scenario, name, body[key], f"{path}.{key}")
    for section, names in documents.SCENARIO_SECTIONS.items():
        if isinstance(body[section], dict):
            for key, name in names.items():
                if key in body[section]:
                    check(Scenario, name, body[section][key], f"{path}.{section}.{key}")
    for key, (model, names_) in documents.LINE_FIELDS.items():
        for i, line in enumerate(body[key] if isinstance(body[key], list) else []):
            for name in names_:
                if isinstance(line, dict) and name in line:
                    check(model, name, line[name], f"{path}.{key}[{i}].{name}")


def _scenario(
    reader: _Reader, data: Any, path: str, currency: str, format_version: int
) -> _ScenarioPlan | None:
    """One scenario of the backup, its lines validated by the scenario document's parser."""
    before = len(reader.errors)
    extra = (*SCENARIO_EXTRA, "created_by", *STAMPS, "activity", "runs", "sweeps")
    if format_version >= 2:
        extra = (*extra, *TRACKING_KEYS)
    body = reader.keys(data, path, (*SCENARIO_KEYS, *extra))
    if body is None:
        return None
    sub: dict[str, Any] = {k: body[k] for k in SCENARIO_KEYS}
    for section, names in documents.SCENARIO_SECTIONS.items():
        required = () if section == "model" else tuple(names)
        reader.keys(body[section], f"{path}.{section}", required, tuple(names))
    line_stamps: list[tuple[Any, Any, str]] = []
    for key, (_model, names_) in documents.LINE_FIELDS.items():
        sub[key] = []
        for i, item in enumerate(reader.items(body[key], f"{path}.{key}")):
            line = reader.keys(item, f"{path}.{key}[{i}]", (*names_, *STAMPS))
            if line is not None:
                sub[key].append({n: line[n] for n in names_})
                line_stamps.append((line["created_at"], line["updated_at"], f"{path}.{key}[{i}]"))
    _no_blank_lookalikes(reader, body, path)
    if len(reader.errors) > before:
        return None
    text = json.dumps(
        {"format": documents.FORMAT, "format_version": documents.FORMAT_VERSION, "scenario": sub}
    )
    try:
        parsed = documents.document_parse(text, currency=currency)
    except documents.DocumentError as exc:
        # The scenario document's paths start at "scenario"; name them in this document instead.
        for where, _line, message in exc.errors:
            reader.add(path + where.removeprefix("scenario"), message)
        return None
    scenario = parsed.scenario
    version, baseline = body["version"], body["is_baseline"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        reader.add(f"{path}.version", "must be a whole number of at least 1")
    if not isinstance(baseline, bool):
        reader.add(f"{path}.is_baseline", "must be true or false")
    scenario.version, scenario.is_baseline = version, baseline
    archived = body["archived_at"]
    if archived is not None:
        archived = reader.stamp(archived, f"{path}.archived_at")
    scenario.archived_at = archived
    row = StampedRow(
        scenario,
        reader.stamp(body["created_at"], f"{path}.created_at"),
        reader.stamp(body["updated_at"], f"{path}.updated_at"),
        "created_by",
        reader.username(body["created_by"], f"{path}.created_by"),
    )
    lines = [
        StampedRow(line, reader.stamp(c, f"{at}.created_at"), reader.stamp(u, f"{at}.updated_at"))
        for line, (c, u, at) in zip(
            [line for group in parsed.lines.values() for line in group], line_stamps, strict=True
        )
    ]
    activities = []
    for i, item in enumerate(reader.items(body["activity"], f"{path}.activity")):
        where = f"{path}.activity[{i}]"
        a = reader.keys(item, where, ("actor", *ACTIVITY_FIELDS, *STAMPS))
        if a is not None:
            row_ = reader.row(ScenarioActivity, a, where, ACTIVITY_FIELDS, "actor")
            activities.append(row_)
    runs = []
    for i, item in enumerate(reader.items(body["runs"], f"{path}.runs")):
        where = f"{path}.runs[{i}]"
        r = reader.keys(item, where, ("ref", "created_by", *RUN_FIELDS, *STAMPS, "reused_from"))
        if r is None or not _finished(reader, r, where):
            continue
        ref = r["ref"]
        if not isinstance(ref, int) or isinstance(ref, bool) or ref in reader.refs:
            reader.add(f"{where}.ref", "must be a whole number not used by another run")
            continue
        reader.refs.add(ref)
        if r["reused_from"] is not None:
            reader.reuses.append((f"{where}.reused_from", r["reused_from"]))
            if not isinstance(r["reused_from"], int) or isinstance(r["reused_from"], bool):
                r["reused_from"] = None  # named below as not a ref of this backup
        run = reader.row(PlanRun, r, where, RUN_FIELDS, "created_by")
        runs.append((ref, r["reused_from"], run))
    sweeps = []
    for i, item in enumerate(reader.items(body["sweeps"], f"{path}.sweeps")):
        where = f"{path}.sweeps[{i}]"
        s = reader.keys(item, where, ("created_by", *SWEEP_FIELDS, *STAMPS, "chunks"))
        if s is None or not _finished(reader, s, where):
            continue
        sweep = reader.row(Sweep, s, where, SWEEP_FIELDS, "created_by")
        chunks, indexes = [], set()
        for j, chunk_data in enumerate(reader.items(s["chunks"], f"{where}.chunks")):
            at = f"{where}.chunks[{j}]"
            c = reader.keys(chunk_data, at, (*CHUNK_FIELDS_V1, *STAMPS), tuple(CHUNK_FIELDS_ADDED))
            if c is None:
                continue
            chunk = reader.row(SweepChunk, {**CHUNK_FIELDS_ADDED, **c}, at, CHUNK_FIELDS)
            index = chunk.instance.index  # as converted: 1, "1" and 1.5 are all chunk 1
            if isinstance(index, int) and index in indexes:
                reader.add(f"{at}.index", f"{index} is used by another chunk of this sweep")
            indexes.add(index)
            chunks.append(chunk)
        sweeps.append((sweep, chunks))
    tracking = tracking_read(reader, body, path, runs) if format_version >= 2 else None
    return _ScenarioPlan(row, lines, activities, runs, sweeps, tracking)


def backup_validate(data: Any) -> BackupPlan:
    """Check a parsed backup document completely, without writing anything.

    Raises ``BackupError`` listing every problem by path: a wrong format or version, a missing or
    unknown field, a value a field refuses, an unknown GPU type, role or model preset, a broken
    chain of approvals. A format 1 file (no tracking data) reads as before; in it the tracking
    fields are unknown.
    """
    reader = _Reader()
    top = reader.keys(
        data,
        "",
        ("format", "format_version", "app_version", "core_version", "created_at"),
        ("organization", "members", "programs", "skipped", "calibration"),
    )
    if top is None:
        raise BackupError(reader.errors)
    if top["format"] != FORMAT:
        reader.add("format", f"must be {FORMAT!r}, got {top['format']!r}")
    version = top["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        reader.add("format_version", f"must be a whole number, got {version!r}")
    elif version not in READS:
        reader.add(
            "format_version",
            f"{version} is not a version this llmplanner reads "
            f"(it reads {', '.join(map(str, READS))})",
        )
    elif version == 1 and "calibration" in top:
        reader.add("calibration", "unknown field (format version 1 has no tracking data)")
    elif version >= 2 and "calibration" not in top:
        reader.add("calibration", "missing field")
    for key in ("organization", "programs"):
        if key not in top:
            reader.add(key, "missing field")
    if reader.errors:  # the rest is read only once the document says what it is
        raise BackupError(reader.errors)
    for where in _nul_paths(top, ""):
        reader.add(where, "contains a NUL character, which PostgreSQL cannot store")

    organization = reader.keys(top["organization"], "organization", ("slug", "name")) or {}
    for key in ("slug", "name"):
        if key in organization and not (isinstance(organization[key], str) and organization[key]):
            reader.add(f"organization.{key}", "must be a non-empty string")
    members = []
    for i, item in enumerate(reader.items(top.get("members", []), "members")):
        member = reader.keys(item, f"members[{i}]", ("username", "role"))
        if member is None:
            continue
        if member["role"] not in Membership.Role.values:
            reader.add(
                f"members[{i}].role",
                f"{member['role']!r} is not one of {', '.join(Membership.Role.values)}",
            )
        username = reader.username(member["username"], f"members[{i}].username")
        if username:
            members.append((username, member["role"]))

    programs = []
    for i, item in enumerate(reader.items(top["programs"], "programs")):
        path = f"programs[{i}]"
        data_ = reader.keys(item, path, (*PROGRAM_FIELDS, "created_by", *STAMPS, "scenarios"))
        if data_ is None:
            continue
        row = reader.row(Program, data_, path, PROGRAM_FIELDS, "created_by")
        currency = data_["currency"] if data_["currency"] in ("CNY", "USD") else "CNY"
        scenarios = [
            plan
            for j, scenario in enumerate(reader.items(data_["scenarios"], f"{path}.scenarios"))
            if (plan := _scenario(reader, scenario, f"{path}.scenarios[{j}]", currency, version))
        ]
        if sum(1 for s in scenarios if s.row.instance.is_baseline is True) > 1:
            reader.add(f"{path}.scenarios", "more than one scenario is the baseline")
        programs.append(_ProgramPlan(row, scenarios))
    for where, reused in reader.reuses:
        if not isinstance(reused, int) or isinstance(reused, bool) or reused not in reader.refs:
            reader.add(where, f"{reused!r} is not the ref of a run in this backup")
    keys = [
        run.instance.idempotency_key
        for program in programs
        for scenario in program.scenarios
        for _ref, _reused, run in scenario.runs
        if run.instance.idempotency_key
    ]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        reader.add("programs", f"idempotency key {key!r} is used by more than one run")
    for scope, key in sorted({k for k in reader.actual_keys if reader.actual_keys.count(k) > 1}):
        reader.add(
            "programs", f"idempotency key {key!r} of {scope} is used by more than one report"
        )
    calibration = calibration_read(reader, top.get("calibration"))
    if reader.errors:
        raise BackupError(reader.errors)
    return BackupPlan(
        organization["slug"], organization["name"], members, programs, version, calibration
    )
