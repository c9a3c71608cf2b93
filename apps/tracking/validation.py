"""The rules an actuals report must pass, field by field, before anything is saved.

Three steps, each naming every field at fault (``{"tokens_trained": ["…"]}``):

1. ``clean_report`` reads one report — a JSON body, a form or a CSV row, all as the API's shape
   (``spend`` a mapping of category to amount) — into a ``CleanReport``: types, ranges, known
   fields and spend categories, a rate when the amounts are in the other currency (they are then
   converted into the program's currency; the amounts as sent are kept).
2. ``check_window``: the date lies between the baseline's start (the approved plan's start date,
   else the day of approval) and today.
3. ``check_order``: the cumulative figures (tokens, elapsed days, GPU-hours, interruptions, loss
   spikes, each spend category) never go backwards — not below a report of an earlier date (or
   of the same date, posted before), not above a report of a later date.

No database access here: the service hands in the baseline's start and the other reports.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from apps.programs.currency import convert_amount
from apps.tracking.models import NOTE_MAX_LENGTH
from apps.tracking.selectors import MAIN_STAGE
from llmplanner.simulation.forecast import tracked
from llmplanner.simulation.program import CATEGORIES

REQUIRED = ("date", "tokens_trained", "elapsed_days", "gpu_hours", "interruptions", "loss_spikes")
# A stage other than the main run needs only its date and days; its other figures default to 0.
STAGE_REQUIRED = ("date", "elapsed_days")
OPTIONAL = ("observed_mfu", "progress", "spend", "currency", "usd_to_cny", "stage", "note")
FIELDS = REQUIRED + OPTIONAL
CUMULATIVE = ("tokens_trained", "elapsed_days", "gpu_hours", "interruptions", "loss_spikes")
CURRENCIES = ("CNY", "USD")
# Bounds far past any real run (planning limits, not physics): they keep a typo or an attack from
# reaching the database as a number no column or forecast can hold.
MAXIMUM: dict[str, float] = {
    "tokens_trained": 1e16,
    "elapsed_days": 36_525,
    "gpu_hours": 1e12,
    "interruptions": 1e9,
    "loss_spikes": 1e9,
}
MAX_AMOUNT = Decimal("9999999999999.99")  # as a program's budget cap (``BUDGET_CAP_MAX``)
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
# ASCII digits only: int() and Decimal() also take Arabic-Indic or full-width digits and "1_000".
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)
AMOUNT = re.compile(r"-?\d{1,16}(\.\d+)?", re.ASCII)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class CleanReport:
    """One valid report, spend in the program's currency (``spend_currency``)."""

    date: dt.date
    tokens_trained: float
    elapsed_days: float
    gpu_hours: float
    interruptions: int
    loss_spikes: int
    observed_mfu: float | None
    spend: dict[str, Decimal]
    spend_currency: str
    currency: str
    spend_sent: dict[str, Decimal]
    usd_to_cny: Decimal | None
    stage: str = MAIN_STAGE
    note: str = ""
    progress: float | None = None

    def model_values(self) -> dict[str, Any]:
        """The ``ActualReport`` fields (amounts as decimal strings)."""
        return {
            "date": self.date,
            "stage": self.stage,
            "progress": self.progress,
            "tokens_trained": self.tokens_trained,
            "elapsed_days": self.elapsed_days,
            "gpu_hours": self.gpu_hours,
            "interruptions": self.interruptions,
            "loss_spikes": self.loss_spikes,
            "observed_mfu": self.observed_mfu,
            "spend": {k: str(v) for k, v in self.spend.items()},
            "spend_currency": self.spend_currency,
            "currency": self.currency,
            "spend_sent": {k: str(v) for k, v in self.spend_sent.items()},
            "usd_to_cny": self.usd_to_cny,
            "note": self.note,
        }


@dataclass(frozen=True)
class Point:
    """A report's cumulative figures on the time line: its stage's (``stage``) and the
    program's spend (``spend.<category>``, whatever the stage)."""

    date: dt.date
    figures: dict[str, float | Decimal]
    stage: str = MAIN_STAGE


def point_of(report: Any, *, with_spend: bool = True) -> Point:
    """The figures of a ``CleanReport`` or a saved ``ActualReport`` (whose amounts are strings);
    its spend only ``with_spend`` (amounts compare only in one currency)."""
    figures: dict[str, float | Decimal] = {name: getattr(report, name) for name in CUMULATIVE}
    if report.progress is not None:
        figures["progress"] = report.progress
    for category, amount in (report.spend or {}).items() if with_spend else ():
        figures[f"spend.{category}"] = Decimal(str(amount))
    return Point(report.date, figures, report.stage)


@dataclass
class _Collector:
    errors: Errors = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return _("must not contain NUL characters")
    if any("\ud800" <= c <= "\udfff" for c in value):
        return _("is not valid Unicode text (it holds a lone surrogate)")
    return None


def _number(value: Any, name: str, errors: _Collector, *, whole: bool = False) -> Any:
    """A finite number from an int, a float or a numeric string, within ``MAXIMUM[name]``;
    None (and the error) otherwise."""
    kind = _("must be a whole number") if whole else _("must be a number")
    if isinstance(value, str):
        if not NUMBER.fullmatch(value.strip()):
            errors.add(name, kind)
            return None
        value = Decimal(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        errors.add(name, kind)
        return None
    if (isinstance(value, float) and not math.isfinite(value)) or (
        isinstance(value, Decimal) and not value.is_finite()
    ):
        errors.add(name, kind)
        return None
    if value < 0:
        errors.add(name, _("must be zero or more"))
        return None
    if value > MAXIMUM[name]:
        errors.add(name, _("must be at most %(max)s") % {"max": f"{MAXIMUM[name]:g}"})
        return None
    if whole:
        if value != int(value):
            errors.add(name, kind)
            return None
        return int(value)
    return float(value)


def _date(value: Any, errors: _Collector) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add("date", _("must be a date as YYYY-MM-DD"))
    return None


def _amount(value: Any, name: str, errors: _Collector) -> Decimal | None:
    """An amount: a decimal string (or a whole number), zero or more, at most ``MAX_AMOUNT``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, (str, Decimal)):
        errors.add(
            name, _('must be a decimal string such as "1250000.00" (a JSON number loses cents)')
        )
        return None
    text = str(value).strip()
    if not AMOUNT.fullmatch(text):
        errors.add(name, _('must be a decimal string such as "1250000.00"'))
        return None
    amount = Decimal(text)
    if amount < 0:
        errors.add(name, _("must be zero or more"))
        return None
    if amount > MAX_AMOUNT:
        errors.add(name, _("must be at most %(max)s") % {"max": MAX_AMOUNT})
        return None
    return amount


def _rate(value: Any, errors: _Collector) -> Decimal | None:
    rate = None
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        rate = Decimal(value.strip())
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        rate = Decimal(str(value))
    if rate is None or not rate.is_finite() or not Decimal("0.01") <= rate <= 1000:
        errors.add("usd_to_cny", _("must be a rate between 0.01 and 1000 (CNY per USD)"))
        return None
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _spend(value: Any, errors: _Collector) -> dict[str, Decimal]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        errors.add("spend", _('must map categories to amounts, e.g. {"gpu_compute": "1250000.00"}'))
        return {}
    amounts: dict[str, Decimal] = {}
    for category, raw in value.items():
        name = f"spend.{category}"
        if category not in CATEGORIES:
            errors.add(
                name, _("unknown category; use %(names)s") % {"names": ", ".join(CATEGORIES)}
            )
            continue
        amount = _amount(raw, name, errors)
        if amount is not None:
            amounts[category] = amount
    return amounts


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_report(
    raw: Any, *, program_currency: str, stages: Sequence[str] = (MAIN_STAGE,)
) -> tuple[CleanReport | None, Errors]:
    """``raw`` (a mapping in the API's shape) as a ``CleanReport``, or None and every field's
    errors. Amounts in the other currency are converted into ``program_currency`` at
    ``usd_to_cny`` (CNY = USD × rate, half-up to the cent). ``stages`` are the stages of the
    approved plan a report may speak of (``tracked_stages``); "main" is the default."""
    errors = _Collector()
    if not isinstance(raw, Mapping):
        errors.add("non_field_errors", _("send the report as a JSON object"))
        return None, errors.errors
    for name in sorted(set(raw) - set(FIELDS), key=str):
        errors.add(
            str(name), _("unknown field; allowed: %(fields)s") % {"fields": ", ".join(FIELDS)}
        )
    stage = raw.get("stage")
    if _blank(stage):
        stage = MAIN_STAGE
    if stage not in stages:
        errors.add(
            "stage",
            _("not a stage of the approved plan; use one of %(names)s")
            % {"names": ", ".join(stages) or "—"},
        )
    other_stage = stage != MAIN_STAGE and stage in stages  # a known stage besides the main run
    for name in STAGE_REQUIRED if other_stage else REQUIRED:
        if _blank(raw.get(name)):
            errors.add(name, _("required"))
    date = None if _blank(raw.get("date")) else _date(raw["date"], errors)
    numbers: dict[str, Any] = {}
    for name in CUMULATIVE:
        whole = name in ("interruptions", "loss_spikes")
        if not _blank(raw.get(name)):
            numbers[name] = _number(raw[name], name, errors, whole=whole)
        elif other_stage:
            numbers[name] = 0 if whole else 0.0
    mfu = None
    if not _blank(raw.get("observed_mfu")):
        if stage != MAIN_STAGE:
            errors.add("observed_mfu", _("is read for the main training run only"))
        else:
            mfu = _mfu(raw["observed_mfu"], errors)
    progress = None
    if not _blank(raw.get("progress")):
        progress = _share(raw["progress"], errors)
        if stage == MAIN_STAGE and progress is not None:
            errors.add("progress", _("the main run's progress is its tokens: leave it out"))
        elif progress and numbers.get("elapsed_days") == 0:
            errors.add("elapsed_days", _("work was done, so the stage has started: more than 0"))
    currency = raw.get("currency")
    if _blank(currency):
        currency = program_currency
    elif currency not in CURRENCIES:
        errors.add("currency", _("must be CNY or USD"))
    rate = None
    if currency != program_currency and currency in CURRENCIES:
        if _blank(raw.get("usd_to_cny")):
            errors.add(
                "usd_to_cny",
                _(
                    "required: the amounts are in %(currency)s and the program counts in "
                    "%(program)s; send the USD → CNY rate to convert them at"
                )
                % {"currency": currency, "program": program_currency},
            )
        else:
            rate = _rate(raw["usd_to_cny"], errors)
    note = raw.get("note")
    note = "" if note is None else note
    if not isinstance(note, str):
        errors.add("note", _("must be text"))
    elif len(note) > NOTE_MAX_LENGTH:
        errors.add("note", _("at most %(n)d characters") % {"n": NOTE_MAX_LENGTH})
    elif problem := _text_problem(note):
        errors.add("note", problem)
    sent = _spend(raw.get("spend"), errors)
    if errors.errors:
        return None, errors.errors
    assert date is not None and all(numbers[name] is not None for name in CUMULATIVE)
    converted = (
        {
            k: convert_amount(v, into=program_currency, usd_to_cny=rate, places=2)
            for k, v in sent.items()
        }
        if rate is not None
        else {k: v.quantize(CENT, rounding=ROUND_HALF_UP) for k, v in sent.items()}
    )
    return (
        CleanReport(
            date=date,
            **numbers,
            observed_mfu=mfu,
            spend=converted,
            spend_currency=program_currency,
            currency=str(currency),
            spend_sent=sent if rate is not None else {},
            usd_to_cny=rate,
            stage=str(stage),
            note=note.strip(),
            progress=progress,
        ),
        {},
    )


def _mfu(value: Any, errors: _Collector) -> float | None:
    message = _("must be more than 0 and at most 1 (a fraction: 0.42 for an MFU of 42 percent)")
    number = None
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value) if abs(value) <= 1 else 2.0  # a huge int has no float
    if number is None or not math.isfinite(number) or not 0 < number <= 1:
        errors.add("observed_mfu", message)
        return None
    return number


def _share(value: Any, errors: _Collector) -> float | None:
    number = None
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value) if abs(value) <= 1 else 2.0
    if number is None or not math.isfinite(number) or not 0 <= number <= 1:
        errors.add("progress", _("must be a share from 0 to 1 (0.4 for 40 percent done)"))
        return None
    return number


def tracked_stages(report: Mapping[str, Any]) -> list[str]:
    """The stages of an approved report a report of actuals may speak of: all but the team,
    the storage, serving and the GPU bookings (``llmplanner.simulation.forecast.tracked``),
    main first."""
    keys = [s.get("key") for s in report.get("stages") or []]
    return sorted(
        (k for k in keys if isinstance(k, str) and tracked(k)), key=lambda k: k != MAIN_STAGE
    )


def parsed_date(raw: Any) -> dt.date | None:
    """The report's date when it is one (else None, silently: ``clean_report`` says why)."""
    value = raw.get("date") if isinstance(raw, Mapping) else None
    return None if _blank(value) else _date(value, _Collector())


def check_window(date: dt.date, *, start: dt.date, plan_start: bool, today: dt.date) -> Errors:
    """The date lies in ``[start, today]``; ``plan_start`` says whether ``start`` is the plan's
    start date (else the day the baseline was approved), for the message."""
    if date < start:
        message = (
            _("is before the approved plan's start (%(start)s)")
            if plan_start
            else _("is before the baseline was approved (%(start)s)")
        )
        return {"date": [message % {"start": start.isoformat()}]}
    if date > today:
        return {"date": [_("is in the future (today is %(today)s)") % {"today": today.isoformat()}]}
    return {}


def _show(value: float | Decimal) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def check_order(report: CleanReport, others: Iterable[Point]) -> Errors:
    """Cumulative figures never go backwards. ``others`` are the scenario's other reports, in
    the order they were posted: one dated on or before ``report`` must not exceed it, one dated
    after must not be below it. A stage's figures are compared with its own stage's reports;
    spend categories (the program's) with every report that gave them."""
    mine = point_of(report).figures
    errors = _Collector()
    for other in others:
        for name, value in mine.items():
            theirs = other.figures.get(name)
            if theirs is None or name in errors.errors:
                continue
            if other.stage != report.stage and not name.startswith("spend."):
                continue
            if other.date <= report.date and value < theirs:
                errors.add(
                    name,
                    _(
                        "%(value)s is less than the %(other)s reported for %(date)s: cumulative "
                        "figures never go backwards"
                    )
                    % {"value": _show(value), "other": _show(theirs), "date": other.date},
                )
            elif other.date > report.date and value > theirs:
                errors.add(
                    name,
                    _(
                        "%(value)s is more than the %(other)s reported for the later date "
                        "%(date)s: cumulative figures never go backwards"
                    )
                    % {"value": _show(value), "other": _show(theirs), "date": other.date},
                )
    return errors.errors
