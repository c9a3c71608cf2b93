"""The portfolio: every active program of the user's organizations, each seen through one
scenario and that scenario's latest successful run — read from the core's report stored on the
run (``PlanRun.result``), never recomputed.

Which scenario: the program's baseline (``Scenario.is_baseline``), else its first active scenario
in the scenarios' own order. Which run: the scenario's latest succeeded run, picked as
``apps.runs.selectors.plan_run_latest`` picks it (newest ``created_at``, then id); the status is
that of the scenario's latest run of any status, so a newer run that failed or is still running
shows while the figures stay those of the last success.

What is read of a run: only the parts of its report the portfolio shows (``REPORT_PARTS``),
extracted by the database (a JSON key transform, on SQLite as on Postgres), never the whole
report: the stored reports are 10–50 kB each, and decoding 200 of them was most of the page.

Money: a row shows the program's currency (a run simulated in the other currency is converted at
the run's own exchange rate, as the budget API converts); the portfolio's charts and totals use
one currency for every program (``portfolio_currency``). The months of all programs on one
calendar (GPUs, spend) are in ``apps.portfolio.months``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Organization, User
from apps.api.money import convert
from apps.programs.models import Currency, Program, Scenario
from apps.runs.models import PlanRun, RunStatus
from apps.tracking.forecasting import alerts_by_scenario
from apps.tracking.models import ApprovedBaseline

# The status column: no run yet, queued or running, the latest run succeeded, or it failed.
NO_RUN, RUNNING, DONE, FAILED = "no_run", "running", "done", "failed"
STATUS_LABELS = {
    NO_RUN: _("not simulated yet"),
    RUNNING: _("running"),
    DONE: _("done"),
    FAILED: _("failed"),
}
# Ascending order of the status column: what needs attention first.
STATUS_ORDER = {FAILED: 0, RUNNING: 1, NO_RUN: 2, DONE: 3}
# The rate a report stored without one was simulated at (as ``apps.api.budget``).
DEFAULT_USD_TO_CNY = 7.2
# The parts of a run's report (``PlanRun.result``) that the portfolio reads — the page, its
# charts (``apps.portfolio.months``) and the API's portfolio and budget — and nothing else: the
# rows' figures (``plan``, ``totals``), the budget by month (``monthly``), the calendar of GPUs
# (``stages``, ``pools``) and the top risk (the register's first, ``risks[0]``). Reading another
# part of a report in those modules means adding it here (``test_selectors`` compares every
# figure with those of the whole report).
REPORT_PARTS = ("plan", "totals", "monthly", "stages", "pools")


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def report_rate(report: dict[str, Any]) -> float:
    """The USD → CNY rate the run was simulated at."""
    return float(report["plan"].get("usd_to_cny") or DEFAULT_USD_TO_CNY)


@dataclass(frozen=True)
class PortfolioRow:
    """One program: its scenario, the run its figures come from and the run its status shows.

    Amounts without a currency argument are in the program's currency; ``cost(which,
    currency)`` and ``cap(currency)`` give them in another one.
    """

    program: Program
    scenario: Scenario | None
    run: PlanRun | None  # the latest succeeded run: the figures (loaded without its report)
    latest: PlanRun | None  # the latest run of any status: the status
    # The run's report as far as the portfolio reads it (``REPORT_PARTS``, ``risks`` cut to its
    # first entry, ``core_version``); None without a run or when its report is empty.
    report: dict[str, Any] | None = None
    # The scenario's forecast alerts (``apps.tracking.forecasting.alerts_by_scenario``).
    alerts: tuple[dict[str, Any], ...] = ()

    @property
    def status(self) -> str:
        if self.latest is None:
            return NO_RUN
        if self.latest.status == RunStatus.SUCCEEDED:
            return DONE
        if self.latest.status == RunStatus.FAILED:
            return FAILED
        return RUNNING

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def currency(self) -> str:
        return self.program.currency

    def cost(self, which: str, currency: str) -> float | None:
        """The total cost's ``p50`` or ``p90`` converted to ``currency`` at the run's rate."""
        report = self.report
        if report is None:
            return None
        plan = report["plan"]
        value = float(report["totals"]["cost"][which])
        return convert(value, plan["currency"], currency, report_rate(report))

    def cap(self, currency: str) -> float | None:
        """The program's budget cap in ``currency``, at the program's own rate."""
        if self.program.budget_cap is None:
            return None
        rate = float(self.program.usd_to_cny)
        return convert(float(self.program.budget_cap), self.program.currency, currency, rate)

    @property
    def cost_p50(self) -> float | None:
        return self.cost("p50", self.currency)

    @property
    def cost_p90(self) -> float | None:
        return self.cost("p90", self.currency)

    @property
    def budget_cap(self) -> Decimal | None:
        return self.program.budget_cap

    @property
    def over_cap(self) -> bool:
        """The cost's P90 is above the cap: the program may well need more money."""
        cost, cap = self.cost_p90, self.cap(self.currency)
        return cost is not None and cap is not None and cost > cap

    def _totals(self, key: str) -> Any:
        return self.report["totals"].get(key) if self.report else None

    @property
    def finish_date_p50(self) -> dt.date | None:
        return _date(self._totals("finish_date_p50"))

    @property
    def finish_date_p90(self) -> dt.date | None:
        return _date(self._totals("finish_date_p90"))

    @property
    def finish_days_p50(self) -> float | None:
        days = self._totals("finish_days")
        return days["p50"] if days else None

    @property
    def finish_days_p90(self) -> float | None:
        days = self._totals("finish_days")
        return days["p90"] if days else None

    @property
    def deadline(self) -> dt.date | None:
        return self.program.deadline

    @property
    def late(self) -> bool:
        """The P90 finish date is after the deadline."""
        finish = self.finish_date_p90
        return finish is not None and self.deadline is not None and finish > self.deadline

    @property
    def p_over_budget(self) -> float | None:
        return self._totals("p_over_budget")

    @property
    def p_miss_deadline(self) -> float | None:
        return self._totals("p_miss_deadline")

    @property
    def top_risk(self) -> dict[str, Any] | None:
        """The first of the report's risk register (ranked by the core: likelihood × impact)."""
        risks = self.report["risks"] if self.report else []
        return risks[0] if risks else None

    @property
    def strategy_label(self) -> str:
        return str(self.scenario.get_strategy_display()) if self.scenario else ""


def _programs(user: User, organizations: QuerySet[Organization] | None) -> QuerySet[Program]:
    programs = Program.objects.filter(
        organization__memberships__user=user, archived_at__isnull=True
    )
    if organizations is not None:
        programs = programs.filter(organization__in=organizations)
    return programs.select_related("organization").order_by("name", "id")


def portfolio_rows(
    *,
    user: User,
    organizations: QuerySet[Organization] | None = None,
    approved: bool = False,
) -> list[PortfolioRow]:
    """Every active program of the user's organizations (narrowed to ``organizations`` when
    given — an API token's own), by name, each with its scenario, runs and the parts of the
    report it shows (see the module's docstring) and its forecast alerts. Seven queries, whatever
    the number of programs."""
    programs = list(_programs(user, organizations))
    first: dict[int, int] = {}  # program → its scenario
    for scenario_id, program_id in Scenario.objects.filter(
        program__in=[p.pk for p in programs], archived_at__isnull=True
    ).values_list("pk", "program_id"):  # the model's order: the baseline first, then by name
        first.setdefault(program_id, scenario_id)
    runs = PlanRun.objects.filter(scenario=OuterRef("pk")).order_by("-created_at", "-id")
    chosen = {
        scenario.program_id: scenario
        for scenario in Scenario.objects.filter(pk__in=first.values()).annotate(
            latest_ok_id=Subquery(runs.filter(status=RunStatus.SUCCEEDED).values("pk")[:1]),
            latest_id=Subquery(runs.values("pk")[:1]),
        )
    }
    if approved:
        # The figures of each scenario's current approved baseline (its run's report is the
        # approved copy), not of its latest run: none without an approval.
        signed = dict(
            ApprovedBaseline.objects.filter(
                scenario__in=list(chosen.values()), successor__isnull=True
            ).values_list("scenario_id", "run_id")
        )
        for scenario in chosen.values():
            scenario.latest_ok_id = signed.get(scenario.pk)
    ok_ids = {s.latest_ok_id for s in chosen.values() if s.latest_ok_id}
    run_ids = ok_ids | {s.latest_id for s in chosen.values() if s.latest_id}
    found = PlanRun.objects.defer("result", "inputs").in_bulk(run_ids)
    reports = report_parts(ok_ids)
    programs_by_id = {p.pk: p for p in programs}
    alerts = alerts_by_scenario(
        {s.pk: programs_by_id[s.program_id].alert_threshold for s in chosen.values()}
    )
    rows = []
    for program in programs:
        scenario = chosen.get(program.pk)
        if scenario is not None:
            scenario.program = program  # the joined one: no query per row
        ok_id = scenario.latest_ok_id if scenario else None
        rows.append(
            PortfolioRow(
                program=program,
                scenario=scenario,
                run=found.get(ok_id),
                latest=found.get(scenario.latest_id) if scenario else None,
                report=reports.get(ok_id),
                alerts=tuple(alerts.get(scenario.pk, ())) if scenario else (),
            )
        )
    return rows


def report_parts(run_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The parts of each run's report that the portfolio reads (``REPORT_PARTS``, the first
    risk, ``core_version``), by run id, in one query; the database cuts them out of the stored
    report, so the rest is neither sent nor decoded. A run without a report is left out."""
    parts = {
        **{name: KeyTransform(name, "result") for name in REPORT_PARTS},
        # As text: a JSON string extracted as JSON comes back unquoted on SQLite.
        "core_version": KeyTextTransform("core_version", "result"),
        "top_risk": KeyTransform("0", KeyTransform("risks", "result")),
    }
    # Aliased: an annotation may not take the name of a field (``PlanRun.core_version``).
    aliased = {f"report_{name}": part for name, part in parts.items()}
    out = {}
    for values in PlanRun.objects.filter(pk__in=run_ids).values("pk", **aliased):
        report = {name: values[f"report_{name}"] for name in parts}
        top_risk = report.pop("top_risk")
        report = {name: value for name, value in report.items() if value is not None}
        if report:
            out[values["pk"]] = report | {"risks": [top_risk] if top_risk is not None else []}
    return out


def portfolio_currency(rows: list[PortfolioRow], requested: str | None = None) -> str:
    """The currency of the portfolio's charts and totals: ``requested`` when it is one of ours,
    else the programs' own when they all share one, else CNY."""
    if requested in Currency.values:
        return str(requested)
    currencies = {row.currency for row in rows}
    return currencies.pop() if len(currencies) == 1 else Currency.CNY.value


# ---- sorting ------------------------------------------------------------------------------


def _finish_key(which: str) -> Callable[[PortfolioRow, str], Any]:
    def key(row: PortfolioRow, currency: str) -> Any:
        finish = getattr(row, f"finish_date_{which}")
        if finish is not None:
            return (0, finish.toordinal())
        days = getattr(row, f"finish_days_{which}")
        return None if days is None else (1, days)  # a plan without dates: after the dated

    return key


def _risk_key(row: PortfolioRow, currency: str) -> Any:
    risk = row.top_risk
    return risk["title"].casefold() if risk else None


SORTS: dict[str, Callable[[PortfolioRow, str], Any]] = {
    "program": lambda row, currency: row.program.name.casefold(),
    "strategy": lambda row, currency: row.strategy_label.casefold() or None,
    "cost_p50": lambda row, currency: row.cost("p50", currency),
    "cost_p90": lambda row, currency: row.cost("p90", currency),
    "finish_p50": _finish_key("p50"),
    "finish_p90": _finish_key("p90"),
    "p_over_budget": lambda row, currency: row.p_over_budget,
    "p_miss_deadline": lambda row, currency: row.p_miss_deadline,
    "top_risk": _risk_key,
    "status": lambda row, currency: STATUS_ORDER[row.status],
}
DEFAULT_SORT = "program"


def portfolio_sort(
    rows: list[PortfolioRow], sort: str | None, *, currency: str
) -> tuple[list[PortfolioRow], str]:
    """The rows ordered by a column of ``SORTS`` (``-column``: descending) and the order applied.

    An unknown column is ignored (the default order, by program). Money compares in
    ``currency``. Rows without the value (no run, no cap, no deadline) come last either way;
    ties keep the order by program name.
    """
    sort = sort or DEFAULT_SORT
    column = sort.removeprefix("-")
    if column not in SORTS:
        sort = column = DEFAULT_SORT
    descending = sort.startswith("-")
    by_name = sorted(rows, key=lambda row: (row.program.name.casefold(), row.program.pk))
    key = SORTS[column]
    known = [row for row in by_name if key(row, currency) is not None]
    missing = [row for row in by_name if key(row, currency) is None]
    known.sort(key=lambda row: key(row, currency), reverse=descending)
    return known + missing, sort
