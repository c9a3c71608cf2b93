"""The compare page's "Change vs baseline" table in the active language: rows of cells from a
``compare_deltas.Comparison``, every change written signed ("+¥1.2M (+8%)", "−12 days",
"+5 points") with its direction (``up``, ``down``, ``same``; ``none`` when a run lacks the
figure), so the page shows it as text and colour, never colour alone. Every figure here is one
where more is worse (cost, time, GPU-hours, the chance of missing a limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.programs.templatetags.planning import count, money_compact
from apps.runs.compare_deltas import Baseline, Comparison, Delta, ScenarioDelta
from apps.runs.figure_style import category_label

MINUS = "\u2212"  # a true minus sign: as wide as the plus, not a hyphen


@dataclass(frozen=True)
class Cell:
    text: str
    direction: str  # up, down, same, none
    note: str = ""  # beside the change: the scenario's own date


@dataclass(frozen=True)
class Row:
    label: str
    base: str  # the baseline's own figure
    cells: tuple[Cell, ...]
    detail: bool = False  # a category of the cost above it


def _sign(value: float) -> str:
    return "+" if value > 0 else MINUS


def _share_text(share: float | None) -> str:
    """+8%, −0.4%: whole percents from 10 % on, one decimal below."""
    if share is None:
        return ""
    percent = abs(share) * 100
    digits = 0 if percent >= 10 else 1
    text = f"{percent:.{digits}f}".removesuffix(".0")
    if text in ("0", "0.0"):
        return ""
    return f" ({_sign(share)}{text}%)"


def _same() -> Cell:
    return Cell(_("no change"), "same")


def _missing() -> Cell:
    return Cell("—", "none")


def money_change(delta: Delta, currency: str) -> Cell:
    """A change of money: "+¥1.2M (+8%)"; under half a unit of the currency is no change."""
    change = delta.change
    if change is None:
        return _missing()
    if abs(change) < 0.5:
        return _same()
    amount = money_compact(abs(change), currency)
    return Cell(_sign(change) + amount + _share_text(delta.share), _direction(change))


def count_change(delta: Delta) -> Cell:
    """A change of a count (GPU-hours): "+12K (+5%)"; under one half is no change."""
    change = delta.change
    if change is None:
        return _missing()
    if abs(change) < 0.5:
        return _same()
    return Cell(_sign(change) + count(abs(change)) + _share_text(delta.share), _direction(change))


def days_text(days: float) -> str:
    """A signed number of whole days: "+12 days", "−1 day"."""
    n = abs(round(days))
    return str(ngettext("%(sign)s%(n)s day", "%(sign)s%(n)s days", n)) % {
        "sign": _sign(days),
        "n": n,
    }


def days_change(delta: Delta, date: str | None = None) -> Cell:
    """A change of finish in whole days, with the scenario's own ``date``: "−12 days"."""
    change = delta.change
    if change is None:
        return _missing()
    note = date or ""
    if round(change) == 0:
        return Cell(_("no change"), "same", note)
    return Cell(days_text(change), _direction(change), note)


def points_change(delta: Delta) -> Cell:
    """A change of a probability in percentage points: "+12 points", "−0.5 points"."""
    change = delta.change
    if change is None:
        return _missing()
    points = abs(change) * 100
    text = f"{points:.{0 if points >= 10 else 1}f}".removesuffix(".0")
    if text in ("0", "0.0"):
        return _same()
    return Cell(
        _("%(sign)s%(points)s points") % {"sign": _sign(change), "points": text},
        _direction(change),
    )


def _direction(change: float) -> str:
    return "up" if change > 0 else "down"


def _percent(value: float | None) -> str:
    """A probability as a percentage: whole from 10 % on, one decimal below (0.5%)."""
    if value is None:
        return "—"
    percent = value * 100
    return f"{percent:.{0 if abs(percent) >= 10 else 1}f}".removesuffix(".0") + "%"


def _finish(days: float, date: str | None) -> str:
    return date or _("day %(day)s") % {"day": f"{days:.0f}"}


def delta_rows(comparison: Comparison) -> list[Row]:
    """The table's rows: the baseline's figure, then each scenario's change."""
    base, cur, others = comparison.baseline, comparison.currency, comparison.scenarios

    def row(label: str, shown: str, cells: Any, detail: bool = False) -> Row:
        return Row(label, shown, tuple(cells), detail)

    rows = [
        row(
            _("Cost P50"),
            money_compact(base.cost_p50, cur),
            (money_change(s.cost_p50, cur) for s in others),
        ),
        row(
            _("Cost P90"),
            money_compact(base.cost_p90, cur),
            (money_change(s.cost_p90, cur) for s in others),
        ),
    ]
    for key in comparison.category_keys():
        rows.append(
            row(
                _("%(category)s, P50") % {"category": category_label(key)},
                money_compact(base.categories.get(key, 0.0), cur),
                (money_change(s.categories.get(key) or Delta(None, None), cur) for s in others),
                detail=True,
            )
        )
    rows += [
        row(
            _("Finish P50"),
            _finish(base.finish_p50_days, base.finish_date_p50),
            (days_change(s.finish_p50, s.finish_date_p50) for s in others),
        ),
        row(
            _("Finish P90"),
            _finish(base.finish_p90_days, base.finish_date_p90),
            (days_change(s.finish_p90, s.finish_date_p90) for s in others),
        ),
        row(
            _("GPU-hours P50"),
            count(base.gpu_hours_p50),
            (count_change(s.gpu_hours_p50) for s in others),
        ),
        row(
            _("P(miss deadline)"),
            _percent(base.p_miss_deadline),
            (points_change(s.p_miss_deadline) for s in others),
        ),
        row(
            _("P(over budget)"),
            _percent(base.p_over_budget),
            (points_change(s.p_over_budget) for s in others),
        ),
    ]
    return rows


@dataclass(frozen=True)
class RiskLine:
    title: str
    text: str  # what changed, empty for a new or gone risk


def risk_lines(scenario: ScenarioDelta, currency: str) -> dict[str, list[RiskLine]]:
    """A scenario's risk changes by kind (``new``, ``gone``, ``changed``), each by its title."""
    changed = []
    for risk in scenario.risks.changed:
        parts = []
        if round(abs(risk.likelihood.change or 0) * 100) >= 1:
            parts.append(
                _("likelihood %(before)s → %(after)s")
                % {
                    "before": _percent(risk.likelihood.base),
                    "after": _percent(risk.likelihood.value),
                }
            )
        if money_change(risk.expected_cost, currency).direction in ("up", "down"):
            parts.append(
                _("expected cost %(before)s → %(after)s")
                % {
                    "before": money_compact(risk.expected_cost.base, currency),
                    "after": money_compact(risk.expected_cost.value, currency),
                }
            )
        changed.append(RiskLine(risk.title, "; ".join(parts)))
    return {
        "new": [RiskLine(str(r.get("title", r.get("code", ""))), "") for r in scenario.risks.new],
        "gone": [RiskLine(str(r.get("title", r.get("code", ""))), "") for r in scenario.risks.gone],
        "changed": changed,
    }


def limits_text(base: Baseline, currency: str) -> list[str]:
    """The baseline's room to its limits, as sentences: headroom to the cap, slack to the
    deadline (none for a limit the plan does not have)."""
    out = []
    headroom = base.headroom
    if headroom is not None and base.cap is not None:
        values = {
            "amount": money_compact(abs(headroom), currency),
            "cap": money_compact(base.cap, currency),
        }
        if headroom >= 0:
            text = _("Headroom to the budget cap: %(amount)s (cap %(cap)s, less cost P50).")
        else:
            text = _("The baseline's cost P50 is %(amount)s over the budget cap of %(cap)s.")
        out.append(text % values)
    slack = base.slack_days
    if slack is not None:
        n = abs(round(slack))
        if slack >= 0:
            text = ngettext(
                "Slack to the deadline: %(n)s day (finish P50 to the deadline).",
                "Slack to the deadline: %(n)s days (finish P50 to the deadline).",
                n,
            )
        else:
            text = ngettext(
                "The baseline's finish P50 is %(n)s day past the deadline.",
                "The baseline's finish P50 is %(n)s days past the deadline.",
                n,
            )
        out.append(text % {"n": n})
    return out
