"""Every chart of a plan is readable, correct and bilingual (issue 18, "Charts").

The generic tests run every builder — the dashboard's eight, the compare chart and the sweep
chart — over real reports of several templates (dated and undated, CNY and USD, with and
without a main run), each figure as plotly.js draws it on a desktop and with its narrow-screen
labels applied (``layout.meta.narrow``, what ``static/js/figures.js`` does below ``below`` px):
every axis titled with its unit, round ticks, no label longer than the room it has at that
width, user text escaped, and in Chinese translated titles and 万/亿 ticks. The specific tests
check each complaint of the issue on the chart it was about.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from apps.runs import delta_figures, plan_figures
from apps.runs.compare_deltas import compare_to_baseline
from apps.runs.figure_style import (
    CATEGORY_COLOURS,
    FULL_PX,
    HALF_PX,
    NARROW_PX,
    category_label,
    layout,
    plot_text,
    text_units,
    tick_text,
    value_axis,
    wrap_label,
)
from apps.runs.risk_figures import numbers_text
from apps.tracking import tracking_figures
from llmplanner.simulation.forecast import Actuals, forecast
from llmplanner.simulation.report import run_plan
from llmplanner.simulation.sweep import run_sweep, sweep_variants
from tests.runs.dated_plan import dated_plan, undated

EXAMPLES = Path(__file__).resolve().parents[2] / "llmplanner" / "simulation" / "examples"
LINK = '<a href="x">Click</a>'
TRIALS = 100

# The room a label has, in character units (a CJK character counts two) at 7 px each — the
# contract of the figures with the screen, stated here on its own: an x tick label shares the
# plot's width (the figure's less 70 px per y axis and a 20 px margin) with its neighbours; a
# y tick label takes at most 40 % of the figure; a legend entry the figure's width less its
# symbol; a label on a line (cap, deadline) half the figure; an axis title the figure's width
# (x) or a plot's least height of 200 px (y). A turned tick label (``tickangle``) is at most
# 18 characters.
PX_PER_CHAR = 7.0
ROTATED_MAX = 18
Y_TITLE_MAX = 200 / PX_PER_CHAR
MAX_LINES = 5
LANGUAGE_NEUTRAL_TITLES = {"MFU (%)"}


def _report(name: str) -> dict:
    return run_plan(json.loads((EXAMPLES / f"plan-{name}.json").read_text()), trials=TRIALS, seed=1)


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    return {
        "gpt3": _report("gpt3-175b"),  # CNY, dated, a cap far above the cost
        "cpt13b": _report("cpt-13b-dated"),  # USD
        "rag": _report("rag"),  # no main run: no layout charts
        "dated": run_plan(dated_plan(), trials=TRIALS, seed=1),  # USD, a cap within reach
        "undated": run_plan(undated(dated_plan()), trials=TRIALS, seed=1),  # days, M1, M2…
    }


@pytest.fixture(scope="module")
def sweep_points() -> list[dict]:
    plan = json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())
    variants = sweep_variants({"gpu_count": [512, 1024, 2048], "precision": ["bf16"]})
    return [p.as_json() for p in run_sweep(plan, variants, trials=30)]


def every_figure(reports: dict[str, dict], sweep_points: list[dict]) -> dict[str, Any]:
    """Every builder's figure, by a name saying which report it drew."""
    figures = {}
    for key, report in reports.items():
        for name, fig in plan_figures.dashboard_figures(report).items():
            figures[f"{key}:{name}"] = fig
    gpt3 = reports["gpt3"]
    figures["compare"] = plan_figures.compare_headlines(
        [("A: 175B on 1,024 A800, two full runs ★", gpt3), ("B: a cheaper variant", gpt3)]
    )
    figures["compare:mixed"] = plan_figures.compare_headlines(
        [("A", gpt3), ("B", reports["cpt13b"]), ("C", reports["undated"])]
    )
    figures["sweep"] = plan_figures.sweep_chart(sweep_points, "CNY", gpt3["plan"])
    figures["sweep:no-plan"] = plan_figures.sweep_chart(sweep_points, "CNY")
    figures.update(change_figures(reports, ["B: a cheaper variant", "C: 13B in USD", "D"]))
    figures.update(tracking_figure_set(reports["dated"]))
    return figures


def tracking_figure_set(report: dict) -> dict[str, Any]:
    """The tracking page's charts of the dated plan, two reports into its main run."""
    first = Actuals(dt.date(2027, 3, 8), 1.5e10, 5.0, interruptions=1, spend={"people": 90_000.0})
    last = Actuals(dt.date(2027, 3, 12), 2.5e10, 9.0, interruptions=2, spend={"people": 110_000.0})
    ahead = forecast(dated_plan(), last, trials=TRIALS, seed=1)
    earlier = forecast(dated_plan(), first, trials=TRIALS, seed=1)
    reported = [
        {"date": a.date.isoformat(), "tokens_trained": a.tokens_trained, "spend_total": total}
        for a, total in ((first, 400_000.0), (last, 520_000.0))
    ]
    history = [
        {k: f[k] for k in ("as_of", "finish_date_p50", "finish_date_p90")} for f in (earlier, ahead)
    ]
    return {
        "burnup": tracking_figures.burnup(ahead, reported, report),
        "spend": tracking_figures.spend(report, reported, ahead),
        "forecast_history": tracking_figures.forecast_history(history, report),
    }


def change_figures(reports: dict[str, dict], names: list[str]) -> dict[str, Any]:
    """The change-vs-baseline charts: against a CNY baseline whose cap is far above (its
    headroom named, not drawn) and against a USD one within reach of its cap (drawn)."""
    far = compare_to_baseline(
        ("A ★", reports["gpt3"]),
        list(zip(names, [reports["dated"], reports["cpt13b"], reports["undated"]], strict=True)),
        currency="CNY",
    )
    near = compare_to_baseline(
        ("A ★", reports["dated"]),
        list(zip(names[:2], [reports["undated"], reports["cpt13b"]], strict=True)),
        currency="USD",
    )
    return {
        "cost_change": delta_figures.cost_change(far),
        "cost_change:near": delta_figures.cost_change(near),
        "finish_change": delta_figures.finish_change(far),
        "finish_change:near": delta_figures.finish_change(near),
    }


def _set(target: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value


def as_drawn(fig) -> list[tuple[str, int, dict]]:
    """The figure's JSON as figures.js draws it: (variant, the least width it is drawn at,
    spec) for the desktop labels and, when the figure has them, the narrow-screen ones."""
    spec = json.loads(fig.to_json())
    narrow = (spec["layout"].get("meta") or {}).get("narrow")
    if not narrow:
        return [("any", NARROW_PX, spec)]
    phone = copy.deepcopy(spec)
    for path, value in (narrow.get("layout") or {}).items():
        _set(phone["layout"], path, value)
    for trace, changes in zip(phone["data"], narrow.get("data") or [], strict=False):
        for path, value in (changes or {}).items():
            _set(trace, path, value)
    return [("wide", narrow["below"], spec), ("narrow", NARROW_PX, phone)]


def axes_of(spec: dict) -> dict[str, dict]:
    return {k: v for k, v in spec["layout"].items() if k.startswith(("xaxis", "yaxis"))}


def is_category(axis: dict) -> bool:
    if axis.get("type") in ("linear", "log", "date"):
        return False
    values = axis.get("tickvals") or axis.get("categoryarray") or []
    return axis.get("type") == "category" or any(isinstance(v, str) for v in values)


def lines(text: str) -> list[str]:
    """A displayed text's lines, as plain text."""
    return [re.sub(r"&lt;|&gt;|&amp;", "x", line) for line in str(text).split("<br>")]


@pytest.fixture(scope="module")
def figures(reports, sweep_points) -> dict[str, Any]:
    return every_figure(reports, sweep_points)


def test_there_is_a_figure_of_every_builder(figures):
    names = {
        name.split(":")[1]
        if ":" in name and name.split(":")[0] in ("gpt3", "cpt13b", "rag", "dated", "undated")
        else name.split(":")[0]
        for name in figures
    }
    assert names == {
        "cost_breakdown", "monthly_spend", "gantt", "finish_distribution", "memory_breakdown",
        "layouts_compared", "scaling", "risk_heatmap", "compare", "sweep", "cost_change",
        "finish_change", "burnup", "spend", "forecast_history",
    }  # fmt: skip
    assert len(figures) >= 30


def test_every_visible_axis_has_a_title_with_its_unit(figures):
    checked = 0
    for name, fig in figures.items():
        for variant, _width, spec in as_drawn(fig):
            for key, axis in axes_of(spec).items():
                if axis.get("visible") is False:
                    continue
                title = (axis.get("title") or {}).get("text") or ""
                assert title.strip(), (name, variant, key)
                if not is_category(axis):
                    assert re.search(r"\S \((?:[^()]+)\)$", title), (name, key, title)
                checked += 1
    assert checked > 60


def _is_round(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))


def test_every_value_axis_ticks_at_round_values(figures):
    checked = 0
    for name, fig in figures.items():
        for key, axis in axes_of(json.loads(fig.to_json())).items():
            values = axis.get("tickvals")
            if is_category(axis) or axis.get("type") == "date" or not values:
                continue
            if axis.get("type") == "log":  # GPU counts: powers of two
                assert all(math.log2(v).is_integer() for v in values), (name, values)
            else:
                steps = {round(b - a, 9) for a, b in zip(values, values[1:], strict=False)}
                assert len(steps) == 1 and _is_round(steps.pop()), (name, key, values)
                texts = axis["ticktext"]
                if any(t.endswith("%") for t in texts):  # whole percents
                    assert all(re.fullmatch(r"-?\d+%", t) for t in texts), (name, texts)
            checked += 1
    assert checked > 40


def test_no_label_is_longer_than_the_room_it_has(figures):
    checked = 0
    for name, fig in figures.items():
        for variant, width, spec in as_drawn(fig):
            y_axes = sum(1 for k in axes_of(spec) if k.startswith("y"))
            plot = width - 70 * y_axes - 20
            for key, axis in axes_of(spec).items():
                texts = axis.get("ticktext") or []
                title = (axis.get("title") or {}).get("text") or ""
                if key.startswith("x"):
                    assert text_units(title) <= width / PX_PER_CHAR, (name, variant, title)
                    if is_category(axis) and texts:
                        if axis.get("tickangle") is not None:
                            room = ROTATED_MAX
                        else:
                            room = max(6, plot / len(texts) / PX_PER_CHAR)
                    else:
                        room = max(6, plot / max(len(texts), 1) / PX_PER_CHAR)
                else:
                    assert text_units(title) <= Y_TITLE_MAX, (name, variant, title)
                    room = 0.4 * width / PX_PER_CHAR
                for text in texts:
                    assert len(lines(text)) <= MAX_LINES, (name, variant, key, text)
                    for line in lines(text):
                        assert text_units(line) <= room, (name, variant, key, line, room)
                        checked += 1
            for trace in spec["data"]:
                if trace.get("showlegend") is False or not trace.get("name"):
                    continue
                for line in lines(trace["name"]):
                    assert text_units(line) <= (width - 40) / PX_PER_CHAR, (name, variant, line)
            for note in spec["layout"].get("annotations") or []:
                for line in lines(note["text"]):
                    assert text_units(line) <= width / 2 / PX_PER_CHAR, (name, variant, line)
    assert checked > 300


def _hostile(report: dict) -> dict:
    report = copy.deepcopy(report)
    for stage in report["stages"]:
        stage["name"] = f"{LINK} {stage['name']}"
    for gate in report["milestones"]:
        gate["name"] = f"{LINK} gate"
    for risk in report["risks"]:
        risk["title"] = f"{LINK} {risk['title']}"
    return report


def _strings(node: Any, key: str = ""):
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)


def test_user_text_is_escaped_in_every_figure_and_its_narrow_labels(reports, sweep_points):
    hostile = {key: _hostile(report) for key, report in reports.items()}
    figures = every_figure(hostile, sweep_points)
    figures["compare"] = plan_figures.compare_headlines(
        [(LINK, reports["gpt3"]), (f"{LINK} program B", reports["dated"])]
    )
    points = copy.deepcopy(sweep_points)
    points[0]["variant"]["gpu_type"] = LINK
    figures["sweep"] = plan_figures.sweep_chart(points, "CNY", reports["gpt3"]["plan"])
    figures.update(change_figures(reports, [LINK, f"{LINK} program B", "<b>C</b>"]))
    seen = 0
    for name, fig in figures.items():
        for key, text in _strings(json.loads(fig.to_json())):
            if key == "hovertemplate":
                assert "Click" not in text, (name, text)
                continue
            assert "<a " not in text and "</a>" not in text, (name, key, text)
            assert "&amp;lt;" not in text, ("escaped twice", name, key, text)
            seen += "&lt;a href=" in text
    assert seen > 50  # the user's text is there, escaped — in wide and narrow labels alike


def test_the_chinese_charts_have_translated_titles_and_wan_yi_ticks(reports, sweep_points):
    english = every_figure(reports, sweep_points)
    with translation.override("zh-hans"):
        chinese = every_figure(reports, sweep_points)
    large = 0
    for name, fig in chinese.items():
        en_axes, zh_axes = (
            axes_of(json.loads(english[name].to_json())),
            axes_of(json.loads(fig.to_json())),
        )
        for key, axis in zh_axes.items():
            title = axis["title"]["text"]
            if en_axes[key]["title"]["text"] not in LANGUAGE_NEUTRAL_TITLES:
                assert title != en_axes[key]["title"]["text"], (name, key, title)
            for value, text in zip(
                axis.get("tickvals") or [], axis.get("ticktext") or [], strict=True
            ):
                if (
                    isinstance(value, (int, float))
                    and value >= 10_000
                    and axis.get("type") != "log"
                ):
                    assert re.fullmatch(r"[\d.]+(万|亿|万亿)", text), (name, key, value, text)
                    english_text = en_axes[key]["ticktext"][axis["tickvals"].index(value)]
                    assert re.fullmatch(r"[\d.]+[kMBT]", english_text), (name, english_text)
                    large += 1
    assert large > 30


# ---- the complaints, one by one ---------------------------------------------------------------


def test_the_risk_map_plots_numbers_and_names_risks_only_in_hover_and_legend(reports):
    report = reports["gpt3"]
    fig = plan_figures.risk_heatmap(report)
    risks = report["risks"]
    assert len(fig.data) == len(risks)
    shown = []
    for i, (trace, risk) in enumerate(zip(fig.data, risks, strict=True)):
        label = trace.text[0]
        assert re.fullmatch(r"(\d+(–\d+)?(, \d+(–\d+)?)*)?", label), label  # numbers, or none
        for part in filter(None, label.split(", ")):
            first, _dash, last = part.partition("–")
            shown += list(range(int(first), int(last or first) + 1))
        assert trace.mode == "markers+text"
        assert trace.customdata[0][0] == f"{i + 1}. {plot_text(risk['title'])}"
        assert "customdata[0]" in trace.hovertemplate
        assert trace.name.startswith(f"{i + 1}  ")
        assert trace.name.replace("<br>", " ").endswith(plot_text(risk["title"]))
    assert sorted(shown) == list(range(1, len(risks) + 1))  # every number once
    assert fig.layout.legend.orientation == "v" and fig.layout.showlegend
    narrow = fig.layout.meta["narrow"]["data"]
    assert [n["name"].split("  ")[0] for n in narrow] == [str(i + 1) for i in range(len(risks))]


def test_risks_on_top_of_each_other_share_one_label_beside_them(reports):
    report = copy.deepcopy(reports["gpt3"])
    report["risks"][1] |= {"likelihood": 0.5, "impact_days": 10.0}
    report["risks"][4] |= {"likelihood": 0.51, "impact_days": 10.2}
    fig = plan_figures.risk_heatmap(report)
    assert fig.data[1].text[0] == "2, 5" and fig.data[4].text[0] == ""
    assert fig.data[1].textposition == "top center"
    assert numbers_text([11, 7, 8, 9, 10, 2]) == "2, 7–11"
    assert numbers_text([3, 4]) == "3, 4"


def test_the_top_layouts_are_shortened_and_wrapped_beside_horizontal_bars(reports):
    report = reports["gpt3"]
    fig = plan_figures.layouts_compared(report)
    main = report["main_run"]
    layouts = [main["layout"]] + [a["layout"] for a in main["alternatives"]]
    bars = fig.data[0]
    assert bars.orientation == "h" and list(bars.y) == layouts
    assert list(fig.layout.yaxis.tickvals) == layouts[::-1]  # the chosen one on top
    ticks = list(fig.layout.yaxis.ticktext)
    assert ticks[-1].startswith("✓ ") and all("recompute=none" not in t for t in ticks)
    narrow = fig.layout.meta["narrow"]["layout"]["yaxis.ticktext"]
    assert all("<br>" in t for t in narrow)
    assert bars.customdata[0][0] == main["layout"] + " ✓"  # whole in hover
    # MFU is written on each bar: no second axis to tick unevenly, no legend to run into.
    assert list(fig.data[1].text) == [
        f"MFU {r['mfu'] * 100:.0f}%" for r in [main, *main["alternatives"]]
    ]
    assert "yaxis2" not in json.loads(fig.to_json())["layout"]
    assert not any(t.showlegend is not False for t in fig.data)


def test_second_axes_tick_at_round_values_and_whole_percents(reports):
    report = reports["gpt3"]
    monthly = plan_figures.monthly_spend(report).layout.yaxis2
    assert list(monthly.ticktext) == ["0", "10M", "20M", "30M"]
    finish = plan_figures.finish_distribution(report).layout.yaxis2
    assert list(finish.ticktext) == ["0%", "20%", "40%", "60%", "80%", "100%"]
    fig = plan_figures.scaling(report)
    mfu = fig.layout.yaxis2
    assert all(re.fullmatch(r"\d+%", t) for t in mfu.ticktext)
    assert mfu.range[1] >= max(fig.data[1].y) and min(fig.data[1].y) >= mfu.range[0]


def test_the_scaling_chart_ticks_round_gpu_counts_and_marks_the_plans_count(reports):
    report = reports["gpt3"]
    fig = plan_figures.scaling(report)
    axis = fig.layout.xaxis
    assert axis.type == "log"
    assert list(axis.tickvals) == [256, 512, 1024, 2048, 4096]
    assert list(axis.ticktext) == ["256", "512", "1,024", "2,048", "4,096"]
    chosen = report["plan"]["gpu_count"]
    plan = next(t for t in fig.data if t.name == f"Plan: {chosen:,} GPUs")
    point = next(p for p in report["scaling"] if p["gpu_count"] == chosen)
    assert list(plan.x) == [chosen] and list(plan.y) == [point["tokens_per_s"]]
    line = fig.layout.shapes[0]
    assert line.x0 == line.x1 == chosen and line.yref == "paper"


def test_a_plan_off_the_powers_of_two_still_ticks_round_counts(reports):
    report = copy.deepcopy(reports["gpt3"])
    report["scaling"] = [
        dict(p, gpu_count=c) for p, c in zip(report["scaling"], [24, 48, 96, 192, 384], strict=True)
    ]
    report["plan"]["gpu_count"] = 96
    fig = plan_figures.scaling(report)
    assert list(fig.layout.xaxis.tickvals) == [32, 64, 128, 256]
    assert any(t.name == "Plan: 96 GPUs" for t in fig.data)


def test_the_sweep_chart_has_no_hidden_mfu_axis_and_every_axis_has_its_unit(sweep_points):
    fig = plan_figures.sweep_chart(sweep_points, "CNY")
    spec = json.loads(fig.to_json())["layout"]
    assert "yaxis3" not in spec
    assert all(t.yaxis in (None, "y", "y2") for t in fig.data)
    assert spec["yaxis"]["title"]["text"] == "Cost P50 / P90 (CNY)"
    assert spec["yaxis2"]["title"]["text"] == "Finish (days from start)"
    assert spec["xaxis"]["title"]["text"] == "Variant: GPUs · precision"
    mfu = [p["mfu"] for p in sweep_points if p["ok"]]
    assert [row[2] for row in fig.data[0].customdata] == [f" · MFU {m * 100:.0f}%" for m in mfu]


def test_the_sweep_chart_draws_the_plans_cap_and_deadline_on_dates(reports, sweep_points):
    plan = reports["dated"]["plan"]
    fig = plan_figures.sweep_chart(sweep_points, "USD", plan | {"budget_cap": 5e7})
    assert fig.layout.yaxis2.type == "date"
    deadline = dt.date(2027, 3, 1) + dt.timedelta(days=int(plan["deadline_days"]))
    assert any(s.yref == "y2" and s.y0 == deadline.isoformat() for s in fig.layout.shapes)
    assert any(s.yref == "y" and s.y0 == 5e7 for s in fig.layout.shapes)


def test_the_compare_chart_has_its_currency_cap_and_deadline(reports):
    report = reports["dated"]  # cap 1.3M USD over ~1.2M: within reach
    fig = plan_figures.compare_headlines([("A", report), ("B", report)])
    assert fig.layout.yaxis.title.text == "Cost (USD)"
    cap = report["plan"]["budget_cap"]
    assert any(s.yref == "y" and s.y0 == cap for s in fig.layout.shapes)
    assert any(a.text == "Budget cap 1.3M USD" for a in fig.layout.annotations)
    assert fig.layout.yaxis2.type == "date"  # the plan has a start date
    deadline = plan_figures.deadline_date(report).isoformat()
    assert any(s.yref == "y2" and s.y0 == deadline for s in fig.layout.shapes)
    assert fig.data[2].y[0] == report["totals"]["finish_date_p50"]


def test_the_compare_chart_marks_each_scenarios_own_limits_when_they_differ(reports):
    fig = plan_figures.compare_headlines([("A", reports["gpt3"]), ("B", reports["cpt13b"])])
    caps = next(t for t in fig.data if t.name == "Budget cap")
    assert list(caps.y) == [reports["gpt3"]["plan"]["budget_cap"], 1_500_000]


def test_cost_by_category_draws_a_cap_in_reach_and_names_one_far_above(reports):
    dated = plan_figures.cost_breakdown(reports["dated"])
    cap = reports["dated"]["plan"]["budget_cap"]
    line = dated.layout.shapes[0]
    assert line.xref == "x" and line.x0 == line.x1 == cap
    assert dated.layout.xaxis.range[1] >= cap
    far = plan_figures.cost_breakdown(reports["gpt3"])
    assert not far.layout.shapes
    assert any(t.name == "Cap 150M CNY (off the scale)" for t in far.data)
    assert far.layout.xaxis.range[1] < reports["gpt3"]["plan"]["budget_cap"]


def test_every_time_chart_draws_the_deadline_on_dates_or_days(reports):
    dated, plain = reports["gpt3"], reports["undated"]
    deadline = plan_figures.deadline_date(dated).isoformat()
    for build in (plan_figures.gantt, plan_figures.finish_distribution):
        fig = build(dated)
        assert fig.layout.xaxis.type == "date"
        assert fig.layout.shapes[0].x0 == deadline
        assert any(a.text == f"Deadline {deadline}" for a in fig.layout.annotations)
        days = build(plain)
        assert days.layout.xaxis.type != "date"
        assert days.layout.shapes[0].x0 == plain["plan"]["deadline_days"]
        assert "days from start" in days.layout.xaxis.title.text


def test_the_monthly_chart_marks_the_deadline_inside_its_month(reports):
    report = reports["gpt3"]  # deadline 2028-01-04: a few days into January 2028
    fig = plan_figures.monthly_spend(report)
    labels = report["monthly"]["labels"]
    line = next(s for s in fig.layout.shapes if s.yref == "paper")
    first = dt.date.fromisoformat(labels[0] + "-01")
    months = (2028 - first.year) * 12 + 1 - first.month
    assert line.x0 == pytest.approx(months - 0.5 + 3 / 31)
    assert fig.layout.xaxis.range[1] >= line.x0


def test_large_numbers_follow_the_language():
    assert tick_text(150_000_000, 50_000_000) == "150M"
    assert tick_text(2_500_000, 500_000) == "2.5M"
    with translation.override("zh-hans"):
        assert tick_text(150_000_000, 50_000_000) == "1.5亿"
        assert tick_text(50_000_000, 50_000_000) == "5000万"
        assert tick_text(2_500_000, 500_000) == "250万"
        axis = value_axis("x", [0, 23_000_000])
        assert axis["ticktext"] == ["0", "500万", "1000万", "1500万", "2000万", "2500万"]


def test_labels_wrap_at_spaces_and_chinese_anywhere():
    assert wrap_label("TP4 PP8 VP6 CP2 DP16 MB3 ZeRO-1", 12) == "TP4 PP8 VP6\nCP2 DP16 MB3\nZeRO-1"
    assert wrap_label("a very long name that goes on", 10, 2) == "a very\nlong name…"
    assert wrap_label("集群按期交付且性能达标", 8) == "集群按期\n交付且性\n能达标"


def test_the_shared_style_keeps_its_public_functions():
    import plotly.graph_objects as go

    fig = layout(go.Figure(go.Bar(x=[LINK], y=[1], name=category_label("gpu_compute"))), 280)
    assert fig.layout.height == 280 and fig.data[0].x[0] == plot_text(LINK)
    assert CATEGORY_COLOURS["gpu_compute"] and fig.data[0].name == "GPU compute"
    assert HALF_PX < FULL_PX
