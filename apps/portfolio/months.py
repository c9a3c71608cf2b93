"""The portfolio's programs on one calendar: GPUs in use and booked per month, and spend per
month, from the reports of the runs ``apps.portfolio.selectors`` picked.

Only programs whose plan has a start date are on the calendar (their reports count in months
``2027-03``…); a plan without one counts ``M1``, ``M2``… from an unknown day and is listed in
``undated`` instead. The months are every calendar month from the first any program touches to
the last, so both charts share one axis.

GPUs (the report's ``stages`` and ``pools``, on the P50 schedule: a stage from its P50 start date
to its P50 finish date, a pool from its P50 delivery to its P50 window end):

- in use: a program's most GPUs at once in the month, over the stages that run on GPUs (the
  report's pool rows — ``cluster``, ``pool_2``… — are the windows, not work, and are left out);
- booked: the same over the program's GPU pools (rented or bought), paid whether used or not;
- a clash: a month in which two or more programs use or hold GPUs of the same type.

Stacking programs adds each one's peak of the month, so a bar is the most the portfolio could
need at once (the peaks may fall on different days).

Spend: each program's own monthly P50 (the report's ``monthly.total_p50``; monthly percentiles do
not add up to a percentile of the total), converted to the portfolio's currency at the run's
rate, and the sum of the programs' cumulative P50 (``cumulative_spend``): each program's spend to
the month's end at its median, its total after its last month — the last value is the sum of the
programs' total cost P50s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apps.api.money import convert
from apps.portfolio.selectors import PortfolioRow, report_rate
from apps.runs.plan_figures import cumulative_spend

# The report's stage rows of GPU pools (``simulation.program._bill_pools``): windows, not work.
POOL_STAGE = re.compile(r"^(cluster|pool_\d+)$")
CALENDAR_LABEL = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class Use:
    """GPUs of one type held from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: dt.date
    end: dt.date
    gpus: int
    gpu_type: str


@dataclass(frozen=True)
class ProgramSeries:
    """One program's value per month of the calendar; ``index`` is its place among the
    calendar's programs (a colour that stays the same from chart to chart)."""

    name: str
    index: int
    values: list[float]


@dataclass(frozen=True)
class Clash:
    month: str
    gpu_type: str
    programs: list[tuple[str, int]]  # name, the most GPUs of the type it uses or holds


@dataclass(frozen=True)
class GpuMonths:
    months: list[str]
    programs: list[ProgramSeries]  # GPUs in use (only programs that use any)
    booked: list[int]  # the programs' GPUs booked, summed
    clashes: list[Clash]
    undated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpendMonths:
    months: list[str]
    currency: str
    programs: list[ProgramSeries]  # each month's own P50
    cumulative_p50: list[float]  # the programs' cumulative P50s, summed
    undated: list[str] = field(default_factory=list)


def month_start(label: str) -> dt.date:
    return dt.date(int(label[:4]), int(label[5:7]), 1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_label(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _is_dated(report: dict[str, Any]) -> bool:
    labels = report["monthly"]["labels"]
    return bool(report["plan"].get("start_date")) and all(
        CALENDAR_LABEL.match(label) for label in labels
    )


def _simulated(rows: Iterable[PortfolioRow]) -> tuple[list[PortfolioRow], list[str]]:
    """The rows whose run is on the calendar, by program name whatever order the table is in
    (a program keeps its colour and place in the stack), and the names of those simulated
    without dates."""
    dated, undated = [], []
    for row in sorted(rows, key=lambda row: (row.program.name.casefold(), row.program.pk)):
        if row.report is None:
            continue
        (dated if _is_dated(row.report) else undated).append(row)
    return dated, [row.program.name for row in undated]


def _span(day: str | None, end: str | None, gpus: int, gpu_type: str) -> Use | None:
    if not day or not end or gpus <= 0:
        return None
    start, finish = dt.date.fromisoformat(day), dt.date.fromisoformat(end)
    # A stage shorter than a day still holds its GPUs on the day it runs.
    return Use(start, max(finish, start + dt.timedelta(days=1)), gpus, gpu_type)


def stage_uses(report: dict[str, Any]) -> list[Use]:
    """The stages that run on GPUs, from P50 start to P50 finish."""
    uses = []
    for stage in report["stages"]:
        if POOL_STAGE.match(stage["key"]):
            continue
        use = _span(
            stage.get("start_date_p50"),
            stage.get("finish_date_p50"),
            int(stage.get("gpu_count") or 0),
            stage.get("gpu_type") or "",
        )
        if use is not None:
            uses.append(use)
    return uses


def pool_uses(report: dict[str, Any]) -> list[Use]:
    """The GPU pools, from P50 delivery to the P50 end of their window."""
    uses = []
    for pool in report.get("pools") or []:
        use = _span(
            pool.get("delivered_date_p50"),
            pool.get("window_end_date_p50"),
            int(pool.get("gpu_count") or 0),
            pool.get("gpu_type") or "",
        )
        if use is not None:
            uses.append(use)
    return uses


def peak(uses: list[Use], first: dt.date, end: dt.date) -> int:
    """The most GPUs ``uses`` hold at once between ``first`` and ``end`` (exclusive)."""
    inside = [u for u in uses if u.start < end and u.end > first]
    moments = {max(u.start, first) for u in inside}  # the total only rises where a use starts
    return max((sum(u.gpus for u in inside if u.start <= t < u.end) for t in moments), default=0)


def monthly_peaks(uses: list[Use], bounds: list[tuple[dt.date, dt.date]]) -> list[int]:
    """``peak`` of ``uses`` in each month of ``bounds`` (first day, first day of the next); a
    month outside the span of ``uses`` is 0 without looking."""
    if not uses:
        return [0] * len(bounds)
    first, end = min(u.start for u in uses), max(u.end for u in uses)
    return [peak(uses, a, b) if a < end and b > first else 0 for a, b in bounds]


def _calendar(rows: list[PortfolioRow], extra: Iterable[Use] = ()) -> list[str]:
    """Every month from the first any row's report (or ``extra``) touches to the last."""
    firsts: list[dt.date] = []
    lasts: list[dt.date] = []
    for row in rows:
        labels = row.report["monthly"]["labels"] if row.report else []
        if labels:
            firsts.append(month_start(labels[0]))
            lasts.append(month_start(labels[-1]))
    for use in extra:
        firsts.append(use.start.replace(day=1))
        lasts.append((use.end - dt.timedelta(days=1)).replace(day=1))
    if not firsts:
        return []
    months, day, last = [], min(firsts), max(lasts)
    while day <= last:
        months.append(month_label(day))
        day = next_month(day)
    return months


def gpu_months(rows: list[PortfolioRow]) -> GpuMonths:
    """GPUs in use and booked per calendar month, by program, and the clashes of GPU types."""
    dated, undated = _simulated(rows)
    used = {row.program.pk: stage_uses(row.report or {}) for row in dated}
    booked = {row.program.pk: pool_uses(row.report or {}) for row in dated}
    every = [u for uses in (*used.values(), *booked.values()) for u in uses]
    months = _calendar(dated, every)
    programs: list[ProgramSeries] = []
    booked_total = [0] * len(months)
    clashes: list[Clash] = []
    bounds = [(month_start(m), next_month(month_start(m))) for m in months]
    for index, row in enumerate(dated):
        values = [float(n) for n in monthly_peaks(used[row.program.pk], bounds)]
        if any(values):
            programs.append(ProgramSeries(row.program.name, index, values))
        for m, n in enumerate(monthly_peaks(booked[row.program.pk], bounds)):
            booked_total[m] += n
    types = sorted({u.gpu_type for u in every if u.gpu_type})
    # Each program's peaks of each type, worked out once (not once a month), leaving out the
    # programs that never hold the type: (name, in use, booked).
    of_type: dict[str, list[tuple[str, list[int], list[int]]]] = {t: [] for t in types}
    for row in dated:
        pk = row.program.pk
        for gpu_type in types:
            in_use = [u for u in used[pk] if u.gpu_type == gpu_type]
            held = [u for u in booked[pk] if u.gpu_type == gpu_type]
            if in_use or held:
                of_type[gpu_type].append(
                    (row.program.name, monthly_peaks(in_use, bounds), monthly_peaks(held, bounds))
                )
    for m, month in enumerate(months):
        for gpu_type in types:
            holders = []
            for name, in_use_peaks, held_peaks in of_type[gpu_type]:
                most = max(in_use_peaks[m], held_peaks[m])
                if most:
                    holders.append((name, most))
            if len(holders) >= 2:
                clashes.append(Clash(month, gpu_type, holders))
    return GpuMonths(months, programs, booked_total, clashes, undated)


def spend_months(rows: list[PortfolioRow], currency: str) -> SpendMonths:
    """Each program's monthly P50 in ``currency`` and the sum of their cumulative P50s."""
    dated, undated = _simulated(rows)
    months = _calendar(dated)
    position = {label: m for m, label in enumerate(months)}
    programs: list[ProgramSeries] = []
    cumulative = [0.0] * len(months)
    for index, row in enumerate(dated):
        report = row.report
        assert report is not None  # _simulated keeps rows with a report only
        plan_currency, rate = report["plan"]["currency"], report_rate(report)
        monthly = report["monthly"]
        values = [0.0] * len(months)
        for label, value in zip(monthly["labels"], monthly["total_p50"], strict=True):
            values[position[label]] = convert(float(value), plan_currency, currency, rate)
        programs.append(ProgramSeries(row.program.name, index, values))
        cum50, _cum90 = cumulative_spend(report)
        first = position[monthly["labels"][0]]
        for m in range(first, len(months)):
            reached = cum50[min(m - first, len(cum50) - 1)]
            cumulative[m] += convert(float(reached), plan_currency, currency, rate)
    return SpendMonths(months, currency, programs, cumulative, undated)
