"""Backups of an organization's plans: one versioned JSON document, and its all-or-nothing restore.

Format version 1 (``organization_backup`` writes it, ``backup_restore`` reads it)::

    format: llmplanner-backup          format_version: 1
    app_version, core_version, created_at (when the backup was taken, ISO 8601)
    organization: {slug, name}
    members: [{username, role}]        # optional (dump --no-members leaves it out)
    programs: [{name, goal, deadline, budget_cap, currency, usd_to_cny,
                archived_at, created_by, created_at, updated_at,
                scenarios: [{<the `scenario:` body of an llmplanner-scenario document>,
                             version, is_baseline, archived_at, created_by, created_at, updated_at,
                             activity: [{actor, action, summary, changes, version, created_at,
                                         updated_at}],
                             runs: [{ref, <every PlanRun field>, reused_from (a ref or null)}],
                             sweeps: [{<every Sweep field>, chunks: [{<every SweepChunk field>}]}]
                            }]}]
    skipped: {runs_in_flight, sweeps_in_flight, exports}   # counts, for the reader; not restored

Choices, so that a restore is faithful and a restored dashboard looks as it did:

- Every field of every row is written, archived programs and scenarios included; a test checks
  that no model field is left out. Amounts are decimal *strings* ("0.70"), never floats, so
  no digit is lost; catalog rows (GPU types, roles, presets) are referenced by their ``key`` and
  people by ``username``.
- Timestamps (``created_at``/``updated_at`` of every row) are restored as written: Django only
  stamps ``auto_now`` fields in ``save()``, never in ``QuerySet.update()``/``bulk_update()``
  (Django docs, DateField.auto_now), so they are put back with a ``bulk_update`` after saving.
- Rows are written in (created_at, id) order and restored in that order, so a dump of a
  restored organization equals the original except ``created_at`` (of the document),
  ``organization`` (when restored under another slug) and ``skipped`` (nothing skipped was
  restored). ``ref`` numbers runs within the document (1, 2, …) rather than carrying database
  ids, which differ between databases.
- A dump reads one consistent snapshot: one transaction, REPEATABLE READ on PostgreSQL (every
  query sees the data as of the first one — PostgreSQL docs, "Transaction Isolation", 13.2.2);
  SQLite's transactions are serializable anyway.
- Only finished runs and sweeps (succeeded or failed) are written: a queued or running one has no
  result yet, and a restored queued row would be picked up by the stale-run sweeper and computed
  again. PDF exports are not written (neither rows nor files): they are renderings of the runs,
  which are restored, and can be made again from the run's dashboard.
- A username unknown on the target installation restores as "nobody" (``NULL``, as when a user is
  deleted); the restore reports those names. Members are restored only into an organization
  the restore creates: restoring into an existing one never changes who can see it (the
  backup's members would otherwise see that organization's other programs too).
- Nothing is checked against the simulation core: a backup restores what was saved even if a
  newer core would reject the plan. The fields themselves are validated exactly as on import
  (``documents.document_parse`` for scenarios and their lines, ``full_clean`` for the rest).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Membership, Organization, User
from apps.programs import documents
from apps.programs.models import Program, Scenario, ScenarioActivity
from apps.runs.models import PlanRun, RunStatus, Sweep, SweepChunk
from llmplanner.simulation import __version__ as CORE_VERSION

FORMAT = "llmplanner-backup"
FORMAT_VERSION = 1
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)
STAMPS = ("created_at", "updated_at")

PROGRAM_FIELDS = (*documents.PROGRAM_FIELDS, "archived_at")
SCENARIO_EXTRA = ("version", "is_baseline", "archived_at")
ACTIVITY_FIELDS = ("action", "summary", "changes", "version")
RUN_FIELDS = (
    "scenario_version",
    "status",
    "progress",
    "phase",
    "inputs",
    "input_hash",
    "core_version",
    "trials",
    "seed",
    "result",
    "error",
    "worker",
    "attempts",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "idempotency_key",
)
SWEEP_FIELDS = (
    "status",
    "inputs",
    "axes",
    "trials",
    "seed",
    "chunks_total",
    "chunks_done",
    "points",
    "error",
    "started_at",
    "finished_at",
)
CHUNK_FIELDS = ("index", "variants", "status", "points", "worker", "started_at", "finished_at")
SCENARIO_KEYS = (
    *documents.SCENARIO_TOP,
    *documents.SCENARIO_SECTIONS,
    *documents.LINE_FIELDS,
)


class BackupError(Exception):
    """A backup that cannot be restored; ``errors`` are ``"path: message"`` lines."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        shown = self.errors[:20]
        more = len(self.errors) - len(shown)
        return "\n".join(shown + ([f"… and {more} more"] if more > 0 else []))


class RestoreRefused(Exception):
    """A valid backup that would overwrite existing programs (and ``replace`` was not given)."""


def app_version() -> str:
    """The project's version from ``pyproject.toml`` (the project is not installed as a package)."""
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# --- dump ----------------------------------------------------------------------------------


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


# --- validation ----------------------------------------------------------------------------


def backup_loads(text: str) -> Any:
    """Parse backup text; a syntax error raises ``BackupError`` with its line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackupError(
            [f"line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"]
        ) from exc


@dataclass
class _Stamped:
    """A validated, unsaved row and what is set after it is saved."""

    instance: models.Model
    created_at: dt.datetime
    updated_at: dt.datetime
    user_field: str | None = None
    username: str | None = None


@dataclass
class _ScenarioPlan:
    row: _Stamped
    lines: list[_Stamped]
    activities: list[_Stamped]
    runs: list[tuple[int, int | None, _Stamped]]  # (ref, reused_from ref, run)
    sweeps: list[tuple[_Stamped, list[_Stamped]]]


@dataclass
class _ProgramPlan:
    row: _Stamped
    scenarios: list[_ScenarioPlan]


@dataclass
class BackupPlan:
    """A validated backup: unsaved instances, nothing read from or written to the target yet."""

    slug: str
    name: str
    members: list[tuple[str, str]]
    programs: list[_ProgramPlan]


class _Reader:
    """Collects every problem of a document, each named by its path (``programs[0].name``)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.refs: set[int] = set()  # the runs' refs seen so far
        self.reuses: list[tuple[str, Any]] = []  # (path, ref) of every reused_from

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
    ) -> _Stamped:
        instance = self.build(model, {n: data[n] for n in names}, path)
        username = self.username(data[user_field], f"{path}.{user_field}") if user_field else None
        return _Stamped(
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


def _scenario(reader: _Reader, data: Any, path: str, currency: str) -> _ScenarioPlan | None:
    """One scenario of the backup, its lines validated by the scenario document's parser."""
    before = len(reader.errors)
    extra = (*SCENARIO_EXTRA, "created_by", *STAMPS, "activity", "runs", "sweeps")
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
    row = _Stamped(
        scenario,
        reader.stamp(body["created_at"], f"{path}.created_at"),
        reader.stamp(body["updated_at"], f"{path}.updated_at"),
        "created_by",
        reader.username(body["created_by"], f"{path}.created_by"),
    )
    lines = [
        _Stamped(line, reader.stamp(c, f"{at}.created_at"), reader.stamp(u, f"{at}.updated_at"))
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
            c = reader.keys(chunk_data, at, (*CHUNK_FIELDS, *STAMPS))
            if c is None:
                continue
            chunk = reader.row(SweepChunk, c, at, CHUNK_FIELDS)
            index = chunk.instance.index  # as converted: 1, "1" and 1.5 are all chunk 1
            if isinstance(index, int) and index in indexes:
                reader.add(f"{at}.index", f"{index} is used by another chunk of this sweep")
            indexes.add(index)
            chunks.append(chunk)
        sweeps.append((sweep, chunks))
    return _ScenarioPlan(row, lines, activities, runs, sweeps)


def backup_validate(data: Any) -> BackupPlan:
    """Check a parsed backup document completely, without writing anything.

    Raises ``BackupError`` listing every problem by path: a wrong format or version, a missing or
    unknown field, a value a field refuses, an unknown GPU type, role or model preset.
    """
    reader = _Reader()
    top = reader.keys(
        data,
        "",
        ("format", "format_version", "app_version", "core_version", "created_at"),
        ("organization", "members", "programs", "skipped"),
    )
    if top is None:
        raise BackupError(reader.errors)
    if top["format"] != FORMAT:
        reader.add("format", f"must be {FORMAT!r}, got {top['format']!r}")
    version = top["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        reader.add("format_version", f"must be a whole number, got {version!r}")
    elif version != FORMAT_VERSION:
        reader.add(
            "format_version",
            f"{version} is not a version this llmplanner reads (it reads {FORMAT_VERSION})",
        )
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
            if (plan := _scenario(reader, scenario, f"{path}.scenarios[{j}]", currency))
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
    if reader.errors:
        raise BackupError(reader.errors)
    return BackupPlan(organization["slug"], organization["name"], members, programs)


# --- restore -------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    organization: Organization
    created_organization: bool
    programs: int = 0
    scenarios: int = 0
    activities: int = 0
    runs: int = 0
    sweeps: int = 0
    replaced: list[str] = field(default_factory=list)
    members_added: list[str] = field(default_factory=list)
    unknown_users: list[str] = field(default_factory=list)


def _save(row: _Stamped, users: dict[str, User], unknown: set[str], stamped: list[_Stamped]) -> Any:
    if row.user_field:
        user = users.get(row.username) if row.username else None
        if row.username and user is None:
            unknown.add(row.username)
        setattr(row.instance, row.user_field, user)
    row.instance.save()
    stamped.append(row)
    return row.instance


def backup_restore(data: Any, *, into: str | None = None, replace: bool = False) -> RestoreReport:
    """Restore a backup document into the organization ``into`` (default: the backup's slug),
    creating it if it does not exist. All or nothing: one transaction.

    Programs of the backup whose names already exist there are refused (``RestoreRefused``)
    unless ``replace``, which deletes those programs (with their scenarios, runs and exports)
    first. An invalid document raises ``BackupError`` before anything is read or written.
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
        stamped: list[_Stamped] = []
        by_ref: dict[int, PlanRun] = {}
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
        reused = []
        for _ref, reused_ref, row in runs:
            if reused_ref is not None:
                row.instance.reused_from = by_ref[reused_ref]
                reused.append(row.instance)
        PlanRun.objects.bulk_update(reused, ["reused_from"])
        _put_back_stamps(stamped)
    report.unknown_users = sorted(unknown)
    return report


def _all_rows(plan: BackupPlan) -> list[_Stamped]:
    rows = []
    for p in plan.programs:
        rows.append(p.row)
        for s in p.scenarios:
            rows += [s.row, *s.activities, *(r for _, _, r in s.runs)]
            rows += [sweep for sweep, _chunks in s.sweeps]
    return rows


def _put_back_stamps(rows: list[_Stamped]) -> None:
    """``save()`` stamped every row with now; put the backup's times back. ``bulk_update`` runs
    an UPDATE without ``pre_save``, so ``auto_now`` does not overwrite them again."""
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for row in rows:
        row.instance.created_at = row.created_at
        row.instance.updated_at = row.updated_at
        by_model.setdefault(type(row.instance), []).append(row.instance)
    for model, instances in by_model.items():
        model.objects.bulk_update(instances, list(STAMPS), batch_size=500)
