"""Scenarios against their program's baseline (issue 18): what the compare page's "Change vs
baseline" table and its two charts show. Pure: the core's report dicts in (``run.result``,
localized or not), frozen dataclasses out; no request, no query, no words — the page and
``delta_figures`` say them in the active language.

**Money** is in one currency, the program's: a report simulated in the other currency is
converted at the rate it was simulated with (``plan.usd_to_cny``), as the portfolio converts
(``apps.portfolio.selectors.report_rate``). That covers the totals, the categories, the cap and
the risks' impact cost (``money_in``).

**Finish** is counted in days from the baseline's start: when both runs have calendar dates the
change is the difference of their finish dates (two scenarios may start on different days),
else the difference of their days from each one's own start. The deadline's slack is the
baseline's ``deadline_days`` less its finish P50 — the same axis.

**Risks** are matched by ``code``: new (here, not in the baseline), gone (in the baseline, not
here) and changed — the likelihood moved by ``RISK_LIKELIHOOD_POINTS`` or more, or the expected
cost (likelihood × impact cost) by ``RISK_COST_SHARE`` of the baseline's or more and by at
least ``RISK_COST_FLOOR`` of the baseline's cost P50. Smaller moves are the Monte Carlo's noise
between two runs or too small to matter to the program (¥78 → ¥73 on a ¥2M plan), not a change
of the plan.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from apps.api.money import convert
from apps.portfolio.selectors import report_rate

# Planning assumptions: what counts as a changed risk (see the module's docstring).
RISK_LIKELIHOOD_POINTS = 0.05  # five percentage points
RISK_COST_SHARE = 0.05  # 5 % of the baseline's expected cost
RISK_COST_FLOOR = 0.001  # 0.1 % of the baseline's cost P50


@dataclass(frozen=True)
class Delta:
    """One figure of a scenario against the baseline's: ``value`` and ``base`` in the same unit,
    either ``None`` when that run has no such figure (no deadline, no cap)."""

    value: float | None
    base: float | None

    @property
    def change(self) -> float | None:
        """``value − base``; ``None`` when either is missing."""
        if self.value is None or self.base is None:
            return None
        return self.value - self.base

    @property
    def share(self) -> float | None:
        """The change as a fraction of ``base`` (0.08 is +8 %); ``None`` when ``base`` is 0."""
        change = self.change
        if change is None or not self.base:
            return None
        return change / self.base


@dataclass(frozen=True)
class RiskChange:
    """A risk of both registers whose likelihood (0–1) or expected cost (in the comparison's
    currency) moved past the thresholds."""

    code: str
    title: str  # this scenario's title (the report's, in the language it was localized to)
    likelihood: Delta
    expected_cost: Delta


@dataclass(frozen=True)
class RiskDeltas:
    new: tuple[dict[str, Any], ...]  # the risk rows, impact cost in the comparison's currency
    gone: tuple[dict[str, Any], ...]  # the baseline's rows
    changed: tuple[RiskChange, ...]

    @property
    def count(self) -> int:
        return len(self.new) + len(self.gone) + len(self.changed)


@dataclass(frozen=True)
class Baseline:
    """The reference: the baseline scenario's latest successful run, money converted. Finish in
    days from its start; ``cap`` and ``deadline_days`` are those the run was simulated with."""

    name: str
    cost_p50: float
    cost_p90: float
    categories: dict[str, float]  # P50 per cost category
    finish_p50_days: float
    finish_p90_days: float
    finish_date_p50: str | None
    finish_date_p90: str | None
    gpu_hours_p50: float
    p_miss_deadline: float | None
    p_over_budget: float | None
    cap: float | None
    deadline_days: float | None

    @property
    def headroom(self) -> float | None:
        """The cap less the baseline's cost P50 (negative: the baseline is over the cap)."""
        return None if self.cap is None else self.cap - self.cost_p50

    @property
    def slack_days(self) -> float | None:
        """The deadline less the baseline's finish P50, in days (negative: it is late)."""
        return None if self.deadline_days is None else self.deadline_days - self.finish_p50_days


@dataclass(frozen=True)
class ScenarioDelta:
    """One scenario against the baseline. Money in the comparison's currency, finish in days
    from the baseline's start, probabilities as fractions (a change of 0.12 is 12 points)."""

    name: str
    cost_p50: Delta
    cost_p90: Delta
    categories: dict[str, Delta]  # P50, in the baseline's category order
    finish_p50: Delta
    finish_p90: Delta
    finish_date_p50: str | None
    finish_date_p90: str | None
    gpu_hours_p50: Delta
    p_miss_deadline: Delta
    p_over_budget: Delta
    risks: RiskDeltas


@dataclass(frozen=True)
class Comparison:
    currency: str
    baseline: Baseline
    scenarios: tuple[ScenarioDelta, ...]

    @property
    def cost_changed(self) -> bool:
        """Some scenario's cost P50, in total or in a category, differs by half a unit or
        more."""
        return any(
            abs(d.change or 0.0) >= 0.5
            for s in self.scenarios
            for d in (s.cost_p50, *s.categories.values())
        )

    @property
    def finish_changed(self) -> bool:
        """Some scenario finishes a whole day or more earlier or later (P50 or P90)."""
        return any(
            round(d.change or 0.0) != 0
            for s in self.scenarios
            for d in (s.finish_p50, s.finish_p90)
        )

    def category_keys(self) -> list[str]:
        """The cost categories with money in the baseline or in a scenario, in the baseline's
        order (then any only a scenario has)."""
        keys = list(self.baseline.categories)
        for scenario in self.scenarios:
            keys += [k for k in scenario.categories if k not in keys]
        return [
            k
            for k in keys
            if self.baseline.categories.get(k)
            or any(s.categories[k].value for s in self.scenarios if k in s.categories)
        ]


# ---- money -----------------------------------------------------------------------------------


def _converted(percentiles: dict[str, Any], into: str, source: str, rate: float) -> dict[str, Any]:
    return {
        k: convert(float(v), source, into, rate) if isinstance(v, (int, float)) else v
        for k, v in percentiles.items()
    }


def money_in(report: dict[str, Any], currency: str) -> dict[str, Any]:
    """A copy of ``report`` whose amounts the compare page reads are in ``currency`` — the
    total cost, its categories, the budget cap and each risk's impact cost, converted at the
    run's own rate — and ``plan.currency`` says so. The other amounts (months, stages) are left
    out of the copy's promise: only the compare page uses it. The report itself is unchanged."""
    source = report["plan"]["currency"]
    if source == currency:
        return report
    rate = report_rate(report)
    out = copy.copy(report)
    out["plan"] = dict(report["plan"], currency=currency)
    if report["plan"].get("budget_cap") is not None:
        out["plan"]["budget_cap"] = convert(
            float(report["plan"]["budget_cap"]), source, currency, rate
        )
    totals = dict(report["totals"])
    totals["cost"] = _converted(totals["cost"], currency, source, rate)
    totals["cost_by_category"] = {
        k: _converted(v, currency, source, rate)
        for k, v in (totals.get("cost_by_category") or {}).items()
    }
    out["totals"] = totals
    out["risks"] = [
        dict(r, impact_cost=convert(float(r.get("impact_cost") or 0), source, currency, rate))
        for r in report.get("risks") or []
    ]
    return out


# ---- finish on the baseline's axis -----------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _start(report: dict[str, Any]) -> dt.date | None:
    return _date(report["plan"].get("start_date"))


def _finish(report: dict[str, Any], which: str, origin: dt.date | None) -> float:
    """The finish ``which`` (p50, p90) in days from ``origin`` (the baseline's start) when the
    report has that finish date and there is an origin, else in days from its own start."""
    finish = _date(report["totals"].get(f"finish_date_{which}"))
    if origin is not None and finish is not None:
        return float((finish - origin).days)
    return float(report["totals"]["finish_days"][which])


# ---- risks -----------------------------------------------------------------------------------


def _by_code(risks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for risk in risks:
        out.setdefault(str(risk.get("code", "")), risk)
    return out


def _expected_cost(risk: dict[str, Any]) -> float:
    return float(risk.get("likelihood") or 0) * float(risk.get("impact_cost") or 0)


def _moved(change: RiskChange, floor: float) -> bool:
    points = abs(change.likelihood.change or 0.0)
    cost = abs(change.expected_cost.change or 0.0)
    base_cost = abs(change.expected_cost.base or 0.0)
    return points >= RISK_LIKELIHOOD_POINTS - 1e-9 or (
        cost > 0.005 and cost >= max(RISK_COST_SHARE * base_cost, floor) - 1e-9
    )


def risk_deltas(
    risks: list[dict[str, Any]], base: list[dict[str, Any]], *, floor: float = 0.0
) -> RiskDeltas:
    """``risks`` against ``base`` (both in one currency), each list in its register's order;
    an expected cost must move by ``floor`` (an amount) or more to count."""
    mine, theirs = _by_code(risks), _by_code(base)
    changed = []
    for code, risk in mine.items():
        if code not in theirs:
            continue
        other = theirs[code]
        change = RiskChange(
            code=code,
            title=str(risk.get("title", code)),
            likelihood=Delta(
                float(risk.get("likelihood") or 0), float(other.get("likelihood") or 0)
            ),
            expected_cost=Delta(_expected_cost(risk), _expected_cost(other)),
        )
        if _moved(change, floor):
            changed.append(change)
    return RiskDeltas(
        new=tuple(r for c, r in mine.items() if c not in theirs),
        gone=tuple(r for c, r in theirs.items() if c not in mine),
        changed=tuple(changed),
    )


# ---- the comparison --------------------------------------------------------------------------


def _p50(section: dict[str, Any] | None) -> float:
    return float((section or {}).get("p50") or 0.0)


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def baseline_facts(name: str, report: dict[str, Any]) -> Baseline:
    """The baseline's figures from its report (already in the comparison's currency)."""
    plan, totals = report["plan"], report["totals"]
    origin = _start(report)
    return Baseline(
        name=name,
        cost_p50=float(totals["cost"]["p50"]),
        cost_p90=float(totals["cost"]["p90"]),
        categories={k: _p50(v) for k, v in (totals.get("cost_by_category") or {}).items()},
        finish_p50_days=_finish(report, "p50", origin),
        finish_p90_days=_finish(report, "p90", origin),
        finish_date_p50=totals.get("finish_date_p50"),
        finish_date_p90=totals.get("finish_date_p90"),
        gpu_hours_p50=_p50(totals.get("gpu_hours")),
        p_miss_deadline=_optional(totals.get("p_miss_deadline")),
        p_over_budget=_optional(totals.get("p_over_budget")),
        cap=_optional(plan.get("budget_cap")),
        deadline_days=_optional(plan.get("deadline_days")),
    )


def scenario_delta(
    name: str, report: dict[str, Any], base: Baseline, base_report: dict[str, Any]
) -> ScenarioDelta:
    """One scenario's report (in the comparison's currency) against the baseline's."""
    totals = report["totals"]
    categories = totals.get("cost_by_category") or {}
    keys = list(base.categories) + [k for k in categories if k not in base.categories]
    origin = _start(base_report)
    # Without the baseline's start date, both finishes are days from each one's own start.
    mine = origin if origin is not None and _start(report) is not None else None
    return ScenarioDelta(
        name=name,
        cost_p50=Delta(float(totals["cost"]["p50"]), base.cost_p50),
        cost_p90=Delta(float(totals["cost"]["p90"]), base.cost_p90),
        categories={k: Delta(_p50(categories.get(k)), base.categories.get(k, 0.0)) for k in keys},
        finish_p50=Delta(_finish(report, "p50", mine), _finish(base_report, "p50", mine)),
        finish_p90=Delta(_finish(report, "p90", mine), _finish(base_report, "p90", mine)),
        finish_date_p50=totals.get("finish_date_p50"),
        finish_date_p90=totals.get("finish_date_p90"),
        gpu_hours_p50=Delta(_p50(totals.get("gpu_hours")), base.gpu_hours_p50),
        p_miss_deadline=Delta(_optional(totals.get("p_miss_deadline")), base.p_miss_deadline),
        p_over_budget=Delta(_optional(totals.get("p_over_budget")), base.p_over_budget),
        risks=risk_deltas(
            report.get("risks") or [],
            base_report.get("risks") or [],
            floor=RISK_COST_FLOOR * base.cost_p50,
        ),
    )


def compare_to_baseline(
    baseline: tuple[str, dict[str, Any]],
    others: list[tuple[str, dict[str, Any]]],
    *,
    currency: str,
) -> Comparison:
    """Each of ``others`` — (name, report) — against ``baseline``, money in ``currency``."""
    name, base_report = baseline[0], money_in(baseline[1], currency)
    base = baseline_facts(name, base_report)
    return Comparison(
        currency=currency,
        baseline=base,
        scenarios=tuple(
            scenario_delta(n, money_in(r, currency), base, base_report) for n, r in others
        ),
    )
