"""Writes to programs and scenarios. Every service checks the user's role, runs in a transaction,
bumps the scenario's version (optimistic lock), records an activity, and finally asks the core
to parse the resulting plan, so nothing is saved half-way and every saved scenario simulates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.accounts.models import Organization, User
from apps.accounts.selectors import membership_get
from apps.common.errors import ApplicationError
from apps.programs import documents
from apps.programs.blueprints import blueprint_get, blueprint_list
from apps.programs.currency import program_conversion
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    GPUType,
    ModelPreset,
    Program,
    RLHFMethod,
    Scenario,
    ScenarioActivity,
    Strategy,
    TeamLine,
)
from llmplanner.simulation.errors import ValidationError as CoreValidationError

LINE_MODELS: dict[str, type[Model]] = {
    "gpus": GPUBudgetLine,
    "team": TeamLine,
    "data": Dataset,
}


class EditDenied(ApplicationError):
    """The user may read but not change this organization's plans (viewer role)."""


class ConflictError(ApplicationError):
    """Someone else changed the scenario since the form was loaded; nothing was saved."""


class Action:
    CREATED = "created"
    UPDATED = "updated"
    RENAMED = "renamed"
    CLONED = "cloned"
    IMPORTED = "imported"
    ARCHIVED = "archived"
    RESTORED = "restored"
    BASELINE = "baseline"
    LINE_ADDED = "line_added"
    LINE_CHANGED = "line_changed"
    LINE_REMOVED = "line_removed"
    APPROVED = "approved"  # a run approved as the baseline to execute (``apps.tracking``)
    REPORT_WITHDRAWN = "report_withdrawn"  # a report of actuals taken back (``apps.tracking``)


# --- helpers -------------------------------------------------------------------------------


def _require_editor(user: User, organization: Organization) -> None:
    membership = membership_get(user=user, organization=organization)
    if membership is None or not membership.can_edit:
        raise EditDenied(_("You need the owner or editor role to change plans here."))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # format "f": a whole amount as 30000000, not normalize()'s "3E+7".
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Model):
        return str(value)
    return value


def _snapshot(instance: Model, names: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(instance, name)) for name in names}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"field": name, "old": before[name], "new": after[name]}
        for name in before
        if before[name] != after.get(name)
    ]


def _editable_fields(model: type[Model]) -> list[str]:
    skip = {"id", "created_at", "updated_at", "scenario", "program", "version", "created_by"}
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable and f.name not in skip and not f.name.endswith("archived_at")
    ]


def _bump(scenario: Scenario, expected_version: int | None) -> None:
    """Claim the next version of the scenario, or raise ``ConflictError`` naming who changed it.

    A conditional UPDATE: of two people saving from the same version, exactly one wins.
    """
    expected = scenario.version if expected_version is None else expected_version
    updated = Scenario.objects.filter(pk=scenario.pk, version=expected).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        latest = scenario.activities.select_related("actor").first()
        if latest is not None:
            who = latest.actor.get_username() if latest.actor else _("someone")
            when = date_format(timezone.localtime(latest.created_at), "SHORT_DATETIME_FORMAT")
            raise ConflictError(
                _(
                    "%(who)s changed this scenario (%(what)s) at %(when)s, after you opened it. "
                    "Nothing was saved: reload the page to see their change, then apply yours "
                    "again."
                )
                % {"who": who, "what": latest.summary, "when": when}
            )
        raise ConflictError(
            _("This scenario changed after you opened it. Nothing was saved: reload the page.")
        )
    scenario.version = expected + 1


def _record(
    scenario: Scenario,
    user: User | None,
    action: str,
    summary: str,
    changes: list[dict[str, Any]] | None = None,
) -> ScenarioActivity:
    return ScenarioActivity.objects.create(
        scenario=scenario,
        actor=user,
        action=action,
        summary=summary[:300],
        changes=changes or [],
        version=scenario.version,
    )


def activity_record(*, scenario: Scenario, user: User, action: str, summary: str) -> None:
    """Write on the scenario's History what another app did to it (an approval, a withdrawn
    report), at the scenario's current version."""
    _record(scenario, user, action, summary)


def _check_core(scenario: Scenario) -> None:
    """The saved scenario must be a plan the core accepts; otherwise roll everything back."""
    from apps.programs.plan_adapter import scenario_plan

    try:
        scenario_plan(scenario)
    except CoreValidationError as exc:
        raise ApplicationError(
            _("The simulation core cannot use this plan: %(field)s %(message)s")
            % {"field": _core_field_label(exc.field), "message": exc.message},
            extra={"field": exc.field},
        ) from exc


def _core_field_label(field: str) -> str:
    """A core plan path in the workspace's words: ``clusters.1.start_date`` → "GPU budget line 2
    start_date" (lines are passed in their table order, ``plan_adapter``)."""
    head, _sep, rest = field.partition(".")
    index, _sep, name = rest.partition(".")
    labels = {"clusters": _("GPU budget line"), "team": _("team line"), "data": _("dataset")}
    if head in labels and index.isdigit():
        return f"{labels[head]} {int(index) + 1} {name}".strip()
    return field


def _validate(instance: Model, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ApplicationError(
            "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items()
            ),
            extra={"errors": exc.message_dict},
        ) from exc


# --- programs ------------------------------------------------------------------------------

STRATEGY_DEFAULTS: dict[str, dict[str, Any]] = {
    # Sensible starting points per strategy (DOMAIN.md §2): a model and a token budget for the
    # training strategies, the chain after them, and one GPU line.
    Strategy.FROM_SCRATCH: {
        "preset": "llama2-7b",
        "training_tokens": 2 * 10**12,
        "with_sft": True,
        "rlhf_method": RLHFMethod.DPO,
        "line": ("training", "h800-80gb", 256, Decimal(3)),
    },
    Strategy.CPT: {
        "preset": "qwen-7b",
        "training_tokens": 100 * 10**9,
        "with_sft": True,
        "rlhf_method": RLHFMethod.DPO,
        "line": ("training", "a800-80gb", 64, Decimal(1)),
    },
    Strategy.SFT: {
        "preset": "llama2-7b",
        "training_tokens": 0,
        "with_sft": True,
        "rlhf_method": RLHFMethod.NONE,
        "line": ("sft", "a800-80gb", 8, Decimal("0.5")),
    },
    Strategy.RAG: {
        "preset": None,
        "training_tokens": 0,
        "with_sft": False,
        "rlhf_method": RLHFMethod.NONE,
        "with_rag": True,
        "with_serving": True,
    },
    Strategy.ICL: {
        "preset": None,
        "training_tokens": 0,
        "with_sft": False,
        "rlhf_method": RLHFMethod.NONE,
        "with_serving": True,
        "serving_tokens_per_request": 30_000,
    },
}


@transaction.atomic
def program_create(
    *,
    user: User,
    organization: Organization,
    name: str,
    strategy: str = Strategy.FROM_SCRATCH,
    goal: str = "",
    deadline: dt.date | None = None,
    budget_cap: Decimal | None = None,
    currency: str = "CNY",
    usd_to_cny: Decimal = Decimal("7.2"),
    alert_threshold: int = 20,
) -> Program:
    """A program with a first scenario (the baseline) of ``strategy`` with its defaults."""
    _require_editor(user, organization)
    program = Program(
        organization=organization,
        name=name,
        goal=goal,
        deadline=deadline,
        budget_cap=budget_cap,
        currency=currency,
        usd_to_cny=usd_to_cny,
        alert_threshold=alert_threshold,
        created_by=user,
    )
    _validate(program, exclude=["organization", "created_by"])
    program.save()
    scenario_create(
        user=user, program=program, name=_("A: first plan"), strategy=strategy, baseline=True
    )
    return program


@transaction.atomic
def program_update(
    *, user: User, program: Program, expected_updated_at: dt.datetime | None = None, **values: Any
) -> Program:
    """Change the program's fields. ``expected_updated_at`` (when the form was loaded) makes a
    concurrent edit fail with ``ConflictError`` instead of silently overwriting it.

    A new ``currency`` converts every amount of the program and of all its scenarios (archived
    ones too) and their lines (``apps.programs.currency.MONEY_FIELDS``) at the program's rate:
    the new ``usd_to_cny`` when the same update changes it, since that is the rate the program
    then states. Each scenario gets one history entry listing the amounts, old → new. An amount
    that would not fit its field, or a budget cap changed in the same update (it is ambiguous
    which currency it is written in), raises ``ApplicationError`` and nothing is saved.
    """
    _require_editor(user, program.organization)
    if expected_updated_at is not None:
        claimed = Program.objects.filter(pk=program.pk, updated_at=expected_updated_at).update(
            updated_at=timezone.now()
        )
        if claimed != 1:
            raise ConflictError(
                _(
                    "Someone changed this program after you opened it. Nothing was saved: "
                    "reload the page to see their change, then apply yours again."
                )
            )
        program.refresh_from_db()
    names = [
        n
        for n in values
        if n
        in {"name", "goal", "deadline", "budget_cap", "currency", "usd_to_cny", "alert_threshold"}
    ]
    before = _snapshot(program, names)
    source_currency, stored_cap = program.currency, program.budget_cap
    for name in names:
        setattr(program, name, values[name])
    switched = program.currency != source_currency
    if switched and "budget_cap" in values and values["budget_cap"] != stored_cap:
        message = _(
            "Change the budget cap and the currency in separate saves: changing the currency "
            "converts the saved cap with every other amount."
        )
        raise ApplicationError(message, extra={"errors": {"budget_cap": [message]}})
    _validate(program, exclude=["organization", "created_by"])
    changes = _diff(before, _snapshot(program, names))
    conversion = program_conversion(program=program, source=source_currency) if switched else None
    program.save()
    if conversion is not None:
        conversion.save()
    if changes:
        # Program fields feed every scenario's plan: record it on each, and check each still
        # parses (a new deadline before a scenario's start, say).
        scenarios = (
            [s for s, _items in conversion.scenarios]
            if conversion is not None
            else list(program.scenarios.all())
        )
        for scenario in scenarios:
            _bump(scenario, None)
            if conversion is not None:
                amounts = conversion.changes_for(scenario)
                summary = ngettext(
                    "currency %(source)s → %(into)s at %(rate)s: %(count)s amount converted",
                    "currency %(source)s → %(into)s at %(rate)s: %(count)s amounts converted",
                    len(amounts),
                ) % {
                    "source": conversion.source,
                    "into": conversion.into,
                    "rate": _plain(conversion.usd_to_cny.normalize()),
                    "count": len(amounts),
                }
                _record(scenario, user, Action.UPDATED, summary, changes + amounts)
            else:
                summary = _("program %(name)s") % {"name": program.name}
                _record(scenario, user, Action.UPDATED, summary, changes)
            _check_core(scenario)
    return program


@transaction.atomic
def program_archive(*, user: User, program: Program, archive: bool = True) -> Program:
    _require_editor(user, program.organization)
    program.archived_at = timezone.now() if archive else None
    program.save(update_fields=["archived_at", "updated_at"])
    return program


@transaction.atomic
def program_create_from_blueprint(
    *, user: User, organization: Organization, key: str, name: str | None = None
) -> Program:
    """A program and its first scenario from one of the templates (``apps.programs.blueprints``)."""
    _require_editor(user, organization)
    blueprint = blueprint_get(key)
    if blueprint is None:
        raise ApplicationError(_("Unknown template %(key)s.") % {"key": key})
    parsed = documents.document_parse(blueprint.text)
    program = documents.program_from_document(parsed)
    program.organization = organization
    program.created_by = user
    if name:
        program.name = name
    program.save()
    scenario = _save_parsed(user=user, program=program, parsed=parsed, baseline=True)
    _record(scenario, user, Action.CREATED, _("from template %(name)s") % {"name": blueprint.name})
    return program


def demo_programs_load(*, user: User, organization: Organization) -> list[Program]:
    """One program per template in the demo organization; existing ones (by name) are kept."""
    programs = []
    for blueprint in blueprint_list():
        existing = Program.objects.filter(organization=organization, name=blueprint.name).first()
        programs.append(
            existing
            or program_create_from_blueprint(
                user=user, organization=organization, key=blueprint.key
            )
        )
    return programs


# --- scenarios -----------------------------------------------------------------------------


@transaction.atomic
def scenario_create(
    *,
    user: User,
    program: Program,
    name: str,
    strategy: str = Strategy.FROM_SCRATCH,
    baseline: bool = False,
) -> Scenario:
    """A scenario with the strategy's defaults (model, token budget, chain, one GPU line)."""
    _require_editor(user, program.organization)
    if strategy not in Strategy.values:
        raise ApplicationError(_("Unknown strategy %(s)s.") % {"s": strategy})
    defaults = dict(STRATEGY_DEFAULTS[strategy])
    preset_key = defaults.pop("preset")
    line = defaults.pop("line", None)
    scenario = Scenario(
        program=program,
        name=name,
        strategy=strategy,
        created_by=user,
        is_baseline=baseline and not program.scenarios.filter(is_baseline=True).exists(),
        start_date=timezone.localdate(),
        model_preset=ModelPreset.objects.filter(key=preset_key).first() if preset_key else None,
        **defaults,
    )
    if program.currency == "USD":
        scenario.serving_price_per_million_tokens = Decimal(2)
        scenario.rag_embedding_price_per_million_tokens = Decimal("0.1")
        scenario.rag_vector_db_monthly = Decimal(400)
    _validate(scenario, exclude=["program", "created_by"])
    scenario.save()
    if line is not None:
        purpose, gpu_key, count, months = line
        gpu = GPUType.objects.filter(key=gpu_key).first() or GPUType.objects.first()
        if gpu is not None:
            GPUBudgetLine.objects.create(
                scenario=scenario,
                purpose=purpose,
                gpu_type=gpu,
                gpu_count=count,
                months=months,
                start_date=scenario.start_date,
            )
    _record(scenario, user, Action.CREATED, scenario.name)
    _check_core(scenario)
    return scenario


@transaction.atomic
def scenario_update(
    *, user: User, scenario: Scenario, expected_version: int, values: dict[str, Any]
) -> Scenario:
    """Change scenario fields (one tab's form); a stale ``expected_version`` changes nothing."""
    _require_editor(user, scenario.program.organization)
    editable = set(_editable_fields(Scenario)) - {"is_baseline"}
    names = [n for n in values if n in editable]
    before = _snapshot(scenario, names)
    _bump(scenario, expected_version)
    for name in names:
        setattr(scenario, name, values[name])
    _validate(scenario, exclude=["program", "created_by"])
    scenario.save()
    changes = _diff(before, _snapshot(scenario, names))
    if changes:
        _record(scenario, user, Action.UPDATED, scenario.name, changes)
    _check_core(scenario)
    return scenario


@transaction.atomic
def scenario_rename(
    *, user: User, scenario: Scenario, name: str, expected_version: int | None = None
) -> Scenario:
    _require_editor(user, scenario.program.organization)
    name = name.strip()
    if not name:
        raise ApplicationError(_("A scenario needs a name."))
    old = scenario.name
    _bump(scenario, expected_version)
    scenario.name = name[:200]
    scenario.save(update_fields=["name", "updated_at"])
    _record(scenario, user, Action.RENAMED, name, [{"field": "name", "old": old, "new": name}])
    return scenario


@transaction.atomic
def scenario_archive(*, user: User, scenario: Scenario, archive: bool = True) -> Scenario:
    _require_editor(user, scenario.program.organization)
    _bump(scenario, None)
    scenario.archived_at = timezone.now() if archive else None
    scenario.save(update_fields=["archived_at", "updated_at"])
    _record(scenario, user, Action.ARCHIVED if archive else Action.RESTORED, scenario.name)
    return scenario


@transaction.atomic
def scenario_set_baseline(*, user: User, scenario: Scenario) -> Scenario:
    """Make this scenario its program's baseline (the one others are compared with)."""
    _require_editor(user, scenario.program.organization)
    if scenario.is_archived:
        raise ApplicationError(_("An archived scenario cannot be the baseline."))
    Scenario.objects.filter(program=scenario.program, is_baseline=True).exclude(
        pk=scenario.pk
    ).update(is_baseline=False)
    _bump(scenario, None)
    scenario.is_baseline = True
    scenario.save(update_fields=["is_baseline", "updated_at"])
    _record(scenario, user, Action.BASELINE, scenario.name)
    return scenario


def _save_parsed(
    *, user: User, program: Program, parsed: documents.ParsedScenario, baseline: bool = False
) -> Scenario:
    scenario = parsed.scenario
    scenario.program = program
    scenario.created_by = user
    scenario.is_baseline = baseline and not program.scenarios.filter(is_baseline=True).exists()
    scenario.save()
    for lines in parsed.lines.values():
        for line in lines:
            line.scenario = scenario
            line.save()
    _check_core(scenario)
    return scenario


@transaction.atomic
def scenario_clone(*, user: User, scenario: Scenario, name: str | None = None) -> Scenario:
    """A copy of the scenario and all its lines in the same program (not the baseline)."""
    _require_editor(user, scenario.program.organization)
    document = documents.scenario_document(scenario)
    document["scenario"]["name"] = (name or _("%(name)s (copy)") % {"name": scenario.name})[:200]
    parsed = documents.document_parse(
        documents.document_dump(document, "json"), currency=scenario.program.currency
    )
    copy = _save_parsed(user=user, program=scenario.program, parsed=parsed)
    _record(copy, user, Action.CLONED, _("from %(name)s") % {"name": scenario.name})
    return copy


@transaction.atomic
def scenario_import(*, user: User, program: Program, text: str) -> Scenario:
    """A new scenario in ``program`` from a JSON or YAML document.

    A malformed document raises ``documents.DocumentError`` naming the lines and fields, and
    changes nothing. Amounts in the other currency are converted at the document's rate.
    """
    _require_editor(user, program.organization)
    parsed = documents.document_parse(text, currency=program.currency)
    scenario = _save_parsed(user=user, program=program, parsed=parsed)
    summary = _("from a file")
    if parsed.converted_from:
        summary = _("from a file, amounts converted from %(currency)s") % {
            "currency": parsed.converted_from
        }
    _record(scenario, user, Action.IMPORTED, summary)
    return scenario


# --- lines: GPU budget, team, data inventory -----------------------------------------------


def _line_label(line: Model) -> str:
    return str(line)


@transaction.atomic
def line_create(
    *,
    user: User,
    scenario: Scenario,
    kind: str,
    expected_version: int,
    values: dict[str, Any],
) -> Model:
    """Add a GPU budget line (``gpus``), team line (``team``) or dataset (``data``)."""
    _require_editor(user, scenario.program.organization)
    model = LINE_MODELS[kind]
    names = [n for n in values if n in _editable_fields(model)]
    _bump(scenario, expected_version)
    line = model(scenario=scenario, **{n: values[n] for n in names})
    _validate(line, exclude=["scenario"])
    line.save()
    _record(
        scenario,
        user,
        Action.LINE_ADDED,
        _line_label(line),
        [{"field": n, "old": None, "new": _plain(getattr(line, n))} for n in names],
    )
    _check_core(scenario)
    return line


@transaction.atomic
def line_update(*, user: User, line: Any, expected_version: int, values: dict[str, Any]) -> Model:
    scenario = line.scenario
    _require_editor(user, scenario.program.organization)
    names = [n for n in values if n in _editable_fields(type(line))]
    before = _snapshot(line, names)
    _bump(scenario, expected_version)
    for name in names:
        setattr(line, name, values[name])
    _validate(line, exclude=["scenario"])
    line.save()
    changes = _diff(before, _snapshot(line, names))
    if changes:
        _record(scenario, user, Action.LINE_CHANGED, _line_label(line), changes)
    _check_core(scenario)
    return line


@transaction.atomic
def line_delete(*, user: User, line: Any, expected_version: int) -> None:
    scenario = line.scenario
    _require_editor(user, scenario.program.organization)
    _bump(scenario, expected_version)
    label = _line_label(line)
    line.delete()
    _record(scenario, user, Action.LINE_REMOVED, label)
    _check_core(scenario)
