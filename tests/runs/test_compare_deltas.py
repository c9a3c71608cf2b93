"""Scenarios against their program's baseline (issue 18): the deltas worked by hand from
hand-built reports, their text in both languages, and the compare page that shows them — deltas,
no baseline, a baseline never run, a baseline not chosen, runs in two currencies, an outsider."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.programs.services import program_create_from_blueprint, scenario_clone
from apps.runs import delta_figures
from apps.runs.compare_deltas import Delta, compare_to_baseline, money_in, risk_deltas
from apps.runs.delta_table import (
    count_change,
    days_change,
    delta_rows,
    limits_text,
    money_change,
    points_change,
    risk_lines,
)
from apps.runs.models import PlanRun, RunStatus

M = 1_000_000


def risk(code: str, likelihood: float, impact_cost: float, title: str = "") -> dict:
    return {
        "code": code,
        "title": title or f"Risk {code}",
        "likelihood": likelihood,
        "likelihood_from": "rule",
        "impact_days": 10.0,
        "impact_cost": impact_cost,
        "mitigation": "",
        "owner": "product_manager",
        "source": "",
    }


def report(
    *,
    currency: str = "CNY",
    rate: float = 7.0,
    cost: tuple[float, float] = (10 * M, 12 * M),
    categories: dict[str, float] | None = None,
    finish: tuple[float, float] = (120, 150),
    start: str | None = "2027-01-01",
    gpu_hours: float = 500_000,
    p_miss: float | None = 0.2,
    p_over: float | None = 0.1,
    cap: float | None = 15 * M,
    deadline: float | None = 140,
    risks: list[dict] | None = None,
) -> dict:
    """A report as the core stores it, with only what the compare page reads."""
    categories = categories or {"gpu_compute": 6 * M, "storage": 1 * M, "people": 3 * M}
    first = dt.date.fromisoformat(start) if start else None

    def on(days: float) -> str | None:
        return (first + dt.timedelta(days=days)).isoformat() if first else None

    def pct(p50: float, p90: float | None = None) -> dict:
        return {"p10": p50 * 0.9, "p50": p50, "p90": p90 if p90 is not None else p50 * 1.2}

    return {
        "plan": {
            "name": "plan",
            "strategy": "cpt",
            "currency": currency,
            "usd_to_cny": rate,
            "start_date": start,
            "deadline_days": deadline,
            "budget_cap": cap,
        },
        "totals": {
            "cost": pct(*cost),
            "cost_by_category": {
                k: pct(v) for k, v in (categories | {"data": 0.0, "inference": 0.0}).items()
            },
            "finish_days": pct(*finish),
            "finish_date_p50": on(finish[0]),
            "finish_date_p90": on(finish[1]),
            "gpu_hours": pct(gpu_hours),
            "p_miss_deadline": p_miss,
            "p_over_budget": p_over,
        },
        "main_run": None,
        "risks": risks if risks is not None else [],
    }


BASE_RISKS = [
    risk("deadline_miss", 0.2, 1 * M, "Deadline missed"),
    risk("budget_overrun", 0.1, 2 * M, "Budget overrun"),
    risk("loss_divergence", 0.3, 500_000, "Loss divergence"),
    risk("checkpoint_io", 0.4, 100_000, "Checkpoint I/O stalls"),
]


def baseline_report() -> dict:
    """CNY: cost P50 10M (cap 15M: 5M headroom), finish day 120 = 2027-05-01 (deadline day
    140: 20 days of slack)."""
    return report(risks=copy.deepcopy(BASE_RISKS))


def usd_report() -> dict:
    """The same program simulated in USD at 7 CNY per USD, starting ten days later."""
    return report(
        currency="USD",
        cost=(1_500_000, 1_800_000),  # 10.5M and 12.6M CNY
        categories={"gpu_compute": 1 * M, "storage": 200_000, "people": 300_000},
        finish=(100, 130),  # 2027-04-21 and 2027-05-21: ten days before the baseline's
        start="2027-01-11",
        gpu_hours=640_000,
        p_miss=0.05,
        p_over=0.25,
        cap=15 * M / 7,
        deadline=130,
        risks=[
            risk("provider_delay", 0.3, 50_000, "GPU delivery late"),
            risk("deadline_miss", 0.05, 100_000, "Deadline missed"),  # −15 points
            risk("budget_overrun", 0.12, 2 * M / 7, "Budget overrun"),  # +20 % expected cost
            risk("loss_divergence", 0.31, 500_000 / 7, "Loss divergence"),  # +3 %: noise
        ],
    )


# ---- the deltas, worked by hand -----------------------------------------------------------


def test_it_works_out_each_change_against_the_baseline_in_the_programs_currency():
    comparison = compare_to_baseline(
        ("A", baseline_report()), [("B", usd_report())], currency="CNY"
    )
    base, (b,) = comparison.baseline, comparison.scenarios
    assert base.headroom == pytest.approx(5 * M) and base.slack_days == pytest.approx(20)
    assert b.cost_p50.change == pytest.approx(500_000) and b.cost_p50.share == pytest.approx(0.05)
    assert b.cost_p90.change == pytest.approx(600_000) and b.cost_p90.share == pytest.approx(0.05)
    changes = {k: d.change for k, d in b.categories.items()}
    assert changes == pytest.approx(
        {"gpu_compute": 1 * M, "storage": 400_000, "people": -900_000, "data": 0, "inference": 0}
    )
    assert b.categories["people"].share == pytest.approx(-0.3)
    # By the calendar: the scenario starts ten days later and takes twenty fewer days.
    assert b.finish_p50.change == pytest.approx(-10) and b.finish_p90.change == pytest.approx(-10)
    assert (b.finish_date_p50, b.finish_date_p90) == ("2027-04-21", "2027-05-21")
    assert b.gpu_hours_p50.change == pytest.approx(140_000)
    assert b.p_miss_deadline.change == pytest.approx(-0.15)
    assert b.p_over_budget.change == pytest.approx(0.15)
    assert comparison.category_keys() == ["gpu_compute", "storage", "people"]


def test_without_dates_finish_is_counted_from_each_ones_own_start():
    base = report(start=None)
    other = report(start=None, finish=(100, 130))
    (b,) = compare_to_baseline(("A", base), [("B", other)], currency="CNY").scenarios
    assert b.finish_p50.change == pytest.approx(-20) and b.finish_date_p50 is None


def test_risks_are_new_gone_or_changed_past_the_noise():
    comparison = compare_to_baseline(
        ("A", baseline_report()), [("B", usd_report())], currency="CNY"
    )
    risks = comparison.scenarios[0].risks
    assert [r["code"] for r in risks.new] == ["provider_delay"]
    assert risks.new[0]["impact_cost"] == pytest.approx(350_000)  # converted
    assert [r["code"] for r in risks.gone] == ["checkpoint_io"]
    changed = {c.code: c for c in risks.changed}
    assert set(changed) == {"deadline_miss", "budget_overrun"}  # loss_divergence: noise
    assert changed["deadline_miss"].likelihood.change == pytest.approx(-0.15)
    assert changed["deadline_miss"].expected_cost.value == pytest.approx(0.05 * 700_000)
    assert changed["budget_overrun"].expected_cost.change == pytest.approx(40_000)
    assert risks.count == 4


def test_a_risk_changes_at_five_points_of_likelihood_or_five_percent_of_expected_cost():
    no_cost = [risk("x", 0.20, 0)]  # a risk without a cost: only its likelihood can move
    assert risk_deltas([risk("x", 0.25, 0)], no_cost).changed[0].code == "x"
    assert risk_deltas([risk("x", 0.24, 0)], no_cost).changed == ()
    base = [risk("x", 0.20, 1000)]  # expected cost 200
    assert risk_deltas([risk("x", 0.20, 1050)], base).changed[0].expected_cost.change == (
        pytest.approx(10)
    )
    assert risk_deltas([risk("x", 0.20, 1049)], base).changed == ()
    # A move too small to matter to the program (under ``floor``) is not a change either.
    assert risk_deltas([risk("x", 0.20, 1100)], base, floor=30).changed == ()
    assert risk_deltas([risk("x", 0.20, 1100)], base, floor=20).changed[0].code == "x"


def test_the_same_currency_is_not_converted_and_the_report_is_left_alone():
    stored = usd_report()
    kept = copy.deepcopy(stored)
    assert money_in(stored, "USD") is stored
    cny = money_in(stored, "CNY")
    assert cny["totals"]["cost"]["p50"] == pytest.approx(10.5 * M)
    assert cny["plan"]["budget_cap"] == pytest.approx(15 * M)
    assert cny["plan"]["currency"] == "CNY" and stored == kept
    back = money_in(baseline_report(), "USD")
    assert back["totals"]["cost_by_category"]["people"]["p50"] == pytest.approx(3 * M / 7)


def test_a_missing_figure_has_no_change():
    assert Delta(0.3, None).change is None and Delta(5.0, 0.0).share is None
    base = report(p_miss=None, deadline=None, cap=None, p_over=None)
    comparison = compare_to_baseline(("A", base), [("B", report())], currency="CNY")
    assert comparison.baseline.headroom is None and comparison.baseline.slack_days is None
    assert comparison.scenarios[0].p_miss_deadline.change is None
    assert limits_text(comparison.baseline, "CNY") == []


# ---- the words ----------------------------------------------------------------------------


def test_changes_are_signed_and_zero_is_no_change():
    assert money_change(Delta(10.5 * M, 10 * M), "CNY").text == "+¥500K (+5%)"
    assert money_change(Delta(2.1 * M, 3 * M), "CNY").text == "\u2212¥900K (\u221230%)"
    assert money_change(Delta(10 * M, 10 * M), "CNY").text == "no change"
    assert money_change(Delta(10 * M, 10 * M), "CNY").direction == "same"
    assert money_change(Delta(5.0, None), "CNY").direction == "none"
    up = days_change(Delta(130, 120), "2027-05-11")
    assert (up.text, up.direction, up.note) == ("+10 days", "up", "2027-05-11")
    assert days_change(Delta(119, 120)).text == "\u22121 day"
    assert days_change(Delta(120.2, 120)).text == "no change"
    assert points_change(Delta(0.05, 0.2)).text == "\u221215 points"
    assert points_change(Delta(0.205, 0.2)).text == "+0.5 points"
    assert count_change(Delta(640_000, 500_000)).text == "+140K (+28%)"
    with translation.override("zh-hans"):
        assert money_change(Delta(10.5 * M, 10 * M), "CNY").text == "+¥50万 (+5%)"
        assert days_change(Delta(110, 120)).text == "\u221210 天"
        assert points_change(Delta(0.35, 0.2)).text == "+15 个百分点"
        assert money_change(Delta(1, 1), "CNY").text == "无变化"


def test_the_table_has_the_baselines_figures_and_each_change():
    comparison = compare_to_baseline(
        ("A", baseline_report()), [("B", usd_report())], currency="CNY"
    )
    rows = {r.label: r for r in delta_rows(comparison)}
    assert rows["Cost P50"].base == "¥10M"
    assert [c.text for c in rows["Cost P50"].cells] == ["+¥500K (+5%)"]
    assert rows["People, P50"].cells[0].text == "\u2212¥900K (\u221230%)"
    assert rows["People, P50"].detail and "Data, P50" not in rows  # nothing in either
    assert rows["Finish P50"].base == "2027-05-01"
    assert rows["Finish P50"].cells[0].text == "\u221210 days"
    assert rows["P(over budget)"].base == "10%"
    assert rows["P(miss deadline)"].base == "20%"
    small = compare_to_baseline(("A", report(p_miss=0.005, p_over=0.0)), [], currency="CNY")
    shown = {r.label: r.base for r in delta_rows(small)}
    assert (shown["P(miss deadline)"], shown["P(over budget)"]) == ("0.5%", "0%")
    assert rows["P(over budget)"].cells[0].text == "+15 points"
    lines = risk_lines(comparison.scenarios[0], "CNY")
    assert [r.title for r in lines["new"]] == ["GPU delivery late"]
    assert [r.title for r in lines["gone"]] == ["Checkpoint I/O stalls"]
    texts = {r.title: r.text for r in lines["changed"]}
    assert texts["Deadline missed"].startswith("likelihood 20% → 5%")
    assert texts["Budget overrun"] == ("likelihood 10% → 12%; expected cost ¥200K → ¥240K")
    assert limits_text(comparison.baseline, "CNY") == [
        "Headroom to the budget cap: ¥5M (cap ¥15M, less cost P50).",
        "Slack to the deadline: 20 days (finish P50 to the deadline).",
    ]


def test_a_baseline_past_its_limits_says_so():
    late = report(cost=(16 * M, 18 * M), finish=(150, 170))
    base = compare_to_baseline(("A", late), [], currency="CNY").baseline
    assert limits_text(base, "CNY") == [
        "The baseline's cost P50 is ¥1M over the budget cap of ¥15M.",
        "The baseline's finish P50 is 10 days past the deadline.",
    ]


# ---- the charts ---------------------------------------------------------------------------


def test_the_cost_chart_groups_categories_per_scenario_and_draws_the_headroom():
    other = report(categories={"gpu_compute": 8 * M, "storage": 1 * M, "people": 3 * M})
    comparison = compare_to_baseline(
        ("A", baseline_report()), [("B", usd_report()), ("C", other)], currency="CNY"
    )
    fig = delta_figures.cost_change(comparison)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["GPU compute", "Storage", "People", "Total"]
    assert list(bars[0].x) == ["B", "C"]
    assert list(bars[0].y) == pytest.approx([1 * M, 2 * M])
    assert list(bars[2].y) == pytest.approx([-900_000, 0])
    assert fig.layout.barmode == "group"
    assert fig.layout.yaxis.title.text == "Change in cost (CNY)"
    line = fig.layout.shapes[0]
    assert line.yref == "y" and line.y0 == pytest.approx(5 * M)
    assert any(t.name == "Headroom to the cap 5M CNY" for t in fig.data)
    assert fig.layout.yaxis.range[1] >= 5 * M


def test_a_headroom_far_above_the_changes_is_named_not_drawn():
    categories = {"gpu_compute": 6.1 * M, "storage": 1 * M, "people": 3 * M}
    small = report(cost=(10.1 * M, 12 * M), categories=categories)
    comparison = compare_to_baseline(("A", baseline_report()), [("B", small)], currency="CNY")
    fig = delta_figures.cost_change(comparison)
    assert not fig.layout.shapes
    assert any(t.name == "Cap headroom 5M CNY (off the scale)" for t in fig.data)
    assert fig.layout.yaxis.range[1] < 1 * M


def test_an_unchanged_category_is_left_out_of_the_chart_and_a_long_name_wraps_on_phones():
    same_people = report(categories={"gpu_compute": 7 * M, "storage": 0.5 * M, "people": 3 * M})
    comparison = compare_to_baseline(("A", baseline_report()), [("B", same_people)], currency="CNY")
    fig = delta_figures.cost_change(comparison)
    assert [t.name for t in fig.data] == [
        "GPU compute",
        "Storage",
        "Total",
        "Cap headroom 5M CNY (off the scale)",
    ]
    narrow = fig.layout.meta["narrow"]["data"]
    assert narrow[:3] == [{}, {}, {}] and narrow[3]["name"] == "Cap headroom 5M CNY (off the scale)"
    late = report(cost=(16 * M, 18 * M))
    fig = delta_figures.cost_change(
        compare_to_baseline(("A", late), [("B", report(cost=(16.5 * M, 18 * M)))], currency="CNY")
    )
    assert fig.data[-1].name == "Baseline over the cap by 1M CNY"
    assert fig.layout.shapes[0].y0 == pytest.approx(-1 * M)


def test_when_nothing_finishes_earlier_or_later_the_slack_is_named_not_drawn():
    comparison = compare_to_baseline(("A", baseline_report()), [("B", report())], currency="CNY")
    fig = delta_figures.finish_change(comparison)
    assert [list(t.y) for t in fig.data[:2]] == [[0], [0]]
    assert not fig.layout.shapes
    assert fig.data[2].name == "Deadline slack 20 days (off the scale)"
    assert fig.layout.meta["narrow"]["data"][2]["name"] == (
        "Deadline slack 20 days (off the<br>scale)"
    )


def test_a_change_of_a_few_days_ticks_whole_days_and_a_sliver_adds_no_tick_step():
    later = report(finish=(122, 150))
    comparison = compare_to_baseline(("A", baseline_report()), [("B", later)], currency="CNY")
    assert comparison.finish_changed and not comparison.cost_changed
    axis = delta_figures.finish_change(comparison).layout.yaxis
    assert list(axis.tickvals) == [0, 1, 2, 3, 4, 5]
    sliver = report(
        cost=(12 * M - 4000, 12 * M),
        categories={"gpu_compute": 8 * M, "storage": 1 * M - 4000, "people": 3 * M},
    )
    comparison = compare_to_baseline(("A", baseline_report()), [("B", sliver)], currency="CNY")
    assert comparison.cost_changed and not comparison.finish_changed
    axis = delta_figures.cost_change(comparison).layout.yaxis
    assert axis.tickvals[0] == 0 and axis.range[0] >= -0.1 * M


def test_the_charts_speak_chinese():
    comparison = compare_to_baseline(
        ("A", baseline_report()), [("B", usd_report())], currency="CNY"
    )
    with translation.override("zh-hans"):
        cost = delta_figures.cost_change(comparison)
        finish = delta_figures.finish_change(comparison)
    assert cost.layout.yaxis.title.text == "成本变化（CNY）"
    assert cost.layout.xaxis.title.text == "方案"
    assert [t.name for t in cost.data][:3] == ["GPU 算力", "存储", "人力"]
    assert cost.data[-1].name == "预算余量 500万 CNY（超出图表范围）"
    assert finish.layout.yaxis.title.text == "完成时间变化（天）"
    assert finish.data[2].name == "距截止日期余量 20 天"


def test_the_finish_chart_draws_both_changes_against_the_slack():
    later = report(finish=(135, 160))
    comparison = compare_to_baseline(
        ("A", baseline_report()), [("B", usd_report()), ("C", later)], currency="CNY"
    )
    fig = delta_figures.finish_change(comparison)
    assert [list(t.y) for t in fig.data[:2]] == [[-10, 15], [-10, 10]]
    assert fig.layout.yaxis.title.text == "Change in finish (days)"
    assert fig.layout.shapes[0].y0 == pytest.approx(20)
    assert fig.data[2].name == "Slack to the deadline 20 days"
    assert fig.data[0].customdata[1][1] == "+15 days"


# ---- the page -----------------------------------------------------------------------------


@pytest.fixture
def program(owner, organization):
    return program_create_from_blueprint(user=owner, organization=organization, key="cpt-7b-domain")


def stored_run(owner, scenario, result: dict | None, status: str = RunStatus.SUCCEEDED):
    now = timezone.now()
    return PlanRun.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=owner,
        status=status,
        inputs={},
        input_hash="e" * 64,
        core_version="test",
        trials=100,
        result=result,
        progress=100,
        started_at=now,
        finished_at=now,
    )


def compare_page(client, program, *scenarios) -> str:
    url = reverse("runs:compare", args=[program.pk])
    if scenarios:
        url += "?" + "&".join(f"scenario={s.pk}" for s in scenarios)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str) -> str:
    start = html.index('data-testid="baseline-changes"')
    return html[start : html.index("</section>", start)]


def text(html: str) -> str:
    """The page's text: tags dropped, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def cells(html: str, label: str) -> list[str]:
    """The text of the table row ``label``'s cells (tags dropped)."""
    row = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", html, re.S)
    assert row, label
    found = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return [text(c) for c in found]


@pytest.mark.django_db
def test_the_page_shows_each_change_against_the_baseline_converted(owner, owner_client, program):
    assert program.currency == "CNY"
    base = program.scenarios.get()
    other = scenario_clone(user=owner, scenario=base, name="B: <b>cheaper</b>")
    stored_run(owner, base, baseline_report())
    stored_run(owner, other, usd_report())
    html = section(compare_page(owner_client, program, base, other))
    assert 'data-testid="delta-table"' in html and "<b>cheaper" not in html
    assert "B: &lt;b&gt;cheaper&lt;/b&gt;" in html
    assert cells(html, "Cost P50") == [
        "¥10M",
        "▲ +¥500K (+5%)",
    ]
    assert 'class="delta delta-up"' in html and 'class="delta delta-down"' in html
    assert cells(html, "Finish P50")[1] == "▼ \u221210 days 2027-04-21"
    assert cells(html, "P(miss deadline)") == ["20%", "▼ \u221215 points"]
    assert "▲ new: GPU delivery late" in text(html)
    assert "▼ gone: Checkpoint I/O stalls" in text(html)
    assert "Budget overrun: likelihood 10% → 12%; expected cost ¥200K → ¥240K" in text(html)
    assert "Headroom to the budget cap: ¥5M" in html
    assert "Slack to the deadline: 20 days" in html
    assert "baseline-reference" not in html  # the baseline was chosen
    charts = re.findall(r'data-testid="chart-(cost|finish)-change"', html)
    assert charts == ["cost", "finish"]
    cost = json.loads(unescape(re.search(r'data-figure="([^"]*)"', html).group(1)))
    total = next(t for t in cost["data"] if t.get("name") == "Total")
    assert total["y"] == pytest.approx([500_000])
    # The side-by-side table converts too: the USD run's cost P50 in CNY.
    page = compare_page(owner_client, program, base, other)
    assert "¥10.5M / ¥12.6M" in page


@pytest.mark.django_db
def test_the_page_in_chinese_names_the_changes_in_chinese(owner, owner_client, program):
    base = program.scenarios.get()
    other = scenario_clone(user=owner, scenario=base, name="B")
    stored_run(owner, base, baseline_report())
    stored_run(owner, other, usd_report())
    owner_client.cookies["django_language"] = "zh-hans"
    html = section(compare_page(owner_client, program, base, other))
    assert "与基线相比的变化" in html
    assert "+¥50万 (+5%)" in html and "\u221210 天" in html and "\u221215 个百分点" in html


@pytest.mark.django_db
def test_without_a_baseline_the_page_says_so_and_shows_no_change(owner, owner_client, program):
    base = program.scenarios.get()
    other = scenario_clone(user=owner, scenario=base, name="B")
    stored_run(owner, base, baseline_report())
    stored_run(owner, other, usd_report())
    program.scenarios.update(is_baseline=False)
    page = compare_page(owner_client, program, base, other)
    html = section(page)
    assert 'data-testid="baseline-missing"' in html and "no baseline scenario" in html
    assert "delta-table" not in html and "chart-cost-change" not in html
    assert 'data-testid="chart"' in page  # the side-by-side chart is still there


@pytest.mark.django_db
def test_a_baseline_without_a_successful_run_shows_no_change(owner, owner_client, program):
    base = program.scenarios.get()
    other = scenario_clone(user=owner, scenario=base, name="B")
    stored_run(owner, base, None, status=RunStatus.FAILED)
    stored_run(owner, other, usd_report())
    html = section(compare_page(owner_client, program, base, other))
    assert 'data-testid="baseline-not-run"' in html
    assert f"The baseline “{base.name}” has no successful run yet" in unescape(html)
    assert reverse("runs:scenario_dashboard", args=[base.pk]) in html
    assert "delta-table" not in html and "+¥" not in html


@pytest.mark.django_db
def test_a_baseline_not_chosen_is_the_reference_column(owner, owner_client, program):
    base = program.scenarios.get()
    b = scenario_clone(user=owner, scenario=base, name="B")
    c = scenario_clone(user=owner, scenario=base, name="C")
    stored_run(owner, base, baseline_report())
    stored_run(owner, b, usd_report())
    stored_run(owner, c, report(cost=(9 * M, 11 * M)))
    html = section(compare_page(owner_client, program, b, c))
    assert 'data-testid="baseline-reference"' in html
    assert cells(html, "Cost P50") == ["¥10M", "▲ +¥500K (+5%)", "▼ \u2212¥1M (\u221210%)"]
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert head.index(base.name) < head.index(">B <") < head.index(">C <")


@pytest.mark.django_db
def test_a_scenario_like_the_baseline_has_no_change_and_no_chart(owner, owner_client, program):
    base = program.scenarios.get()
    same = scenario_clone(user=owner, scenario=base, name="B")
    stored_run(owner, base, baseline_report())
    stored_run(owner, same, baseline_report())
    html = section(compare_page(owner_client, program, base, same))
    assert cells(html, "Cost P50") == ["¥10M", "no change"]
    assert cells(html, "Risks") == ["4 risks in its register", "no change"]
    assert 'data-testid="no-cost-change"' in html and 'data-testid="no-finish-change"' in html
    assert "chart-cost-change" not in html and "chart-finish-change" not in html


@pytest.mark.django_db
def test_the_baseline_alone_has_nothing_to_compare(owner, owner_client, program):
    base = program.scenarios.get()
    other = scenario_clone(user=owner, scenario=base, name="B")  # never run
    stored_run(owner, base, baseline_report())
    html = section(compare_page(owner_client, program, base, other))
    assert 'data-testid="baseline-alone"' in html and "delta-table" not in html


@pytest.mark.django_db
def test_an_outsider_gets_404_on_the_compare_page(owner, outsider_client, program):
    base = program.scenarios.get()
    stored_run(owner, base, baseline_report())
    response = outsider_client.get(reverse("runs:compare", args=[program.pk]))
    assert response.status_code == 404 and b"Change vs baseline" not in response.content
