"""A program's amounts in its other currency: what ``services.program_update`` does when the
currency changes (issue 14: a switch converts, it never relabels).

Money is stored in the program's currency (``Program.currency``). ``MONEY_FIELDS`` is the one
list of the amounts of a program, its scenarios and their lines; the import of a document in the
other currency converts the same fields (``documents.MONEY_FIELDS``). ``NOT_MONEY_FIELDS`` lists
the decimal fields that are not amounts: ``tests/programs/test_currency_switch.py`` fails when a
decimal field of these models is in neither list, so a new amount cannot be forgotten.

Conversion: CNY = USD × ``usd_to_cny``, rounded half-up to the field's decimal places. A positive
amount never rounds to zero (it becomes the field's smallest unit, 0.01), so a price stays a
price and the field's ``> 0`` rule holds. An empty amount (a GPU line's catalog price, a team
line's template salary) stays empty: those are looked up in the program's currency already.
This module computes and checks; ``ProgramConversion.save`` writes, inside the caller's
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, Model
from django.utils.translation import gettext as _

from apps.common.errors import ApplicationError
from apps.programs.models import Dataset, GPUBudgetLine, Program, Scenario, TeamLine

MONEY_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Program: ("budget_cap",),
    Scenario: (
        "sft_cost_per_sample",
        "serving_price_per_million_tokens",
        "rag_embedding_price_per_million_tokens",
        "rag_vector_db_monthly",
    ),
    GPUBudgetLine: ("price_per_gpu_hour",),
    TeamLine: ("monthly_cost",),
    Dataset: ("cost",),
}
# Decimal fields that are not amounts (a rate, a percentage, a duration, a count of people).
NOT_MONEY_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Program: ("usd_to_cny",),
    Scenario: ("contingency_pct",),
    GPUBudgetLine: ("months",),
    TeamLine: ("headcount",),
    Dataset: (),
}
# A scenario's lines by their related name, in the order the history lists them.
LINE_RELATIONS = ("budget_lines", "team_lines", "datasets")


def convert_amount(amount: Decimal, *, into: str, usd_to_cny: Decimal, places: int) -> Decimal:
    """``amount`` (in the other currency) in ``into`` ("CNY" or "USD"), rounded half-up to
    ``places`` decimals; a positive amount is at least one unit of the last place."""
    exact = amount * usd_to_cny if into == "CNY" else amount / usd_to_cny
    unit = Decimal(1).scaleb(-places)
    rounded = exact.quantize(unit, rounding=ROUND_HALF_UP)
    if amount > 0 and rounded == 0:
        return unit
    return rounded


@dataclass
class Converted:
    """One amount: ``label`` names it in the history (the field, and the line for a line's)."""

    instance: Model
    name: str
    old: Decimal
    new: Decimal
    label: str

    def change(self) -> dict[str, str]:
        return {"field": self.label, "old": _text(self.old), "new": _text(self.new)}


@dataclass
class ProgramConversion:
    """Every amount of a program and of all its scenarios (archived ones too) in ``into``."""

    program: Program
    source: str
    into: str
    usd_to_cny: Decimal
    program_amounts: list[Converted] = field(default_factory=list)
    scenarios: list[tuple[Scenario, list[Converted]]] = field(default_factory=list)

    def changes_for(self, scenario: Scenario) -> list[dict[str, str]]:
        """The history lines of one scenario: the program's amounts, then the scenario's."""
        own = next((items for s, items in self.scenarios if s.pk == scenario.pk), [])
        return [c.change() for c in [*self.program_amounts, *own]]

    def save(self) -> None:
        """Write the converted amounts (the program's own row is saved by the caller)."""
        for _scenario, items in self.scenarios:
            by_instance: dict[int, tuple[Model, list[str]]] = {}
            for item in items:
                key = id(item.instance)
                by_instance.setdefault(key, (item.instance, []))[1].append(item.name)
            for instance, names in by_instance.values():
                instance.save(update_fields=[*names, "updated_at"])


def _text(value: Decimal) -> str:
    return format(value, "f")


def _fields(model: type[Model]) -> list[DecimalField]:
    return [model._meta.get_field(name) for name in MONEY_FIELDS[model]]  # type: ignore[misc]


def program_conversion(*, program: Program, source: str) -> ProgramConversion:
    """Convert, in memory, every amount of ``program`` (already switched to its new currency and
    rate) from ``source``; nothing is saved. Raises ``ApplicationError`` naming each amount that
    would not fit its field (``extra["errors"]``: a path per amount), leaving every row as it was
    in the database."""
    into, rate = program.currency, program.usd_to_cny
    result = ProgramConversion(program=program, source=source, into=into, usd_to_cny=rate)
    errors: dict[str, list[str]] = {}

    def convert(instance: Model, label: str, path: str, where: str) -> list[Converted]:
        out = []
        for model_field in _fields(type(instance)):
            old = getattr(instance, model_field.name)
            if old is None:
                continue  # the catalog's price or the template's salary, in the new currency
            new = convert_amount(
                Decimal(old), into=into, usd_to_cny=rate, places=model_field.decimal_places
            )
            try:
                model_field.run_validators(new)
            except ValidationError as exc:
                errors[f"{path}{model_field.name}"] = [
                    _(
                        "%(field)s of %(where)s: %(old)s %(source)s would be %(new)s %(into)s. "
                        "%(problem)s"
                    )
                    % {
                        "field": model_field.verbose_name,
                        "where": where,
                        "old": _text(Decimal(old)),
                        "source": source,
                        "new": _text(new),
                        "into": into,
                        "problem": " ".join(exc.messages),
                    }
                ]
                continue
            if new != old:
                setattr(instance, model_field.name, new)
                name = model_field.name
                out.append(Converted(instance, name, Decimal(old), new, label + name))
        return out

    result.program_amounts = convert(program, "", "", _("the program"))
    for scenario in program.scenarios.all():
        where = _("scenario “%(name)s”") % {"name": scenario.name}
        items = convert(scenario, "", f"scenarios.{scenario.pk}.", where)
        for relation in LINE_RELATIONS:
            for line in getattr(scenario, relation).all():
                line_where = _("%(line)s in scenario “%(name)s”") % {
                    "line": line,
                    "name": scenario.name,
                }
                items += convert(
                    line,
                    f"{line} · ",
                    f"scenarios.{scenario.pk}.{relation}.{line.pk}.",
                    line_where,
                )
        result.scenarios.append((scenario, items))
    if errors:
        raise ApplicationError(
            _(
                "Nothing was saved: in %(into)s at 1 USD = %(rate)s CNY some amounts would not "
                "fit their fields. %(errors)s"
            )
            % {
                "into": into,
                "rate": _text(rate.normalize()),
                "errors": " ".join(m for messages in errors.values() for m in messages),
            },
            extra={"errors": errors},
        )
    return result
