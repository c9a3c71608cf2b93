"""The rules of one report, without a database: types and ranges, currencies, the window and the
order of cumulative figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.tracking.validation import Point, check_order, check_window, clean_report

BASE = {
    "date": "2027-02-08",
    "tokens_trained": "45000000000",
    "elapsed_days": "14",
    "gpu_hours": 86016,
    "interruptions": 3,
    "loss_spikes": "1",
}


def clean(program_currency: str = "CNY", **changes):
    return clean_report({**BASE, **changes}, program_currency=program_currency)


def test_a_report_reads_numbers_from_json_and_from_text():
    report, errors = clean(observed_mfu="0.43", spend={"people": "820000.5"})
    assert errors == {} and report is not None
    assert report.tokens_trained == 45e9 and report.interruptions == 3 and report.loss_spikes == 1
    assert report.observed_mfu == 0.43 and report.stage == "main"
    assert report.spend == {"people": Decimal("820000.50")} and report.spend_sent == {}


def test_cny_amounts_for_a_usd_program_are_divided_by_the_rate():
    report, errors = clean("USD", currency="CNY", usd_to_cny="7.2", spend={"data": "1000.00"})
    assert errors == {}
    assert report.spend == {"data": Decimal("138.89")} and report.spend_currency == "USD"
    assert report.spend_sent == {"data": Decimal("1000.00")} and report.usd_to_cny == Decimal("7.2")


def test_a_rate_is_ignored_when_the_amounts_are_in_the_program_s_currency():
    report, errors = clean(currency="CNY", usd_to_cny="7.2", spend={"data": "1000"})
    assert errors == {} and report.usd_to_cny is None and report.spend == {"data": Decimal("1000")}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tokens_trained", "1e400"),
        ("tokens_trained", 10**400),
        ("tokens_trained", "١٢"),  # Arabic-Indic digits int() would take
        ("tokens_trained", "1_000"),
        ("tokens_trained", True),
        ("elapsed_days", float("inf")),
        ("gpu_hours", "-0.5"),
        ("interruptions", "2.5"),
        ("loss_spikes", []),
        ("date", "2027-02-30"),
        ("date", "20270208"),
        ("observed_mfu", 0),
        ("observed_mfu", "NaN"),
        ("currency", "EUR"),
        ("note", "x" * 2001),
        ("note", "\ud800"),
        ("spend", ["gpu_compute"]),
    ],
)
def test_a_bad_value_is_named(field, value):
    report, errors = clean(**{field: value})
    assert report is None and list(errors) == [field], errors


@pytest.mark.parametrize("amount", ["1e5", "1,000", "12.5.1", "-3", 12.5, "9" * 17, None])
def test_a_bad_amount_is_named_by_its_category(amount):
    report, errors = clean(spend={"storage": amount})
    assert report is None and list(errors) == ["spend.storage"], errors


def test_every_wrong_field_is_named_at_once():
    report, errors = clean_report({"date": "soon", "stage": "rlhf"}, program_currency="CNY")
    assert report is None
    assert set(errors) == {
        "date",
        "tokens_trained",
        "elapsed_days",
        "gpu_hours",
        "interruptions",
        "loss_spikes",
        "stage",
    }


def test_the_window_runs_from_the_start_to_today():
    start, today = dt.date(2027, 1, 4), dt.date(2027, 3, 1)
    assert check_window(start, start=start, plan_start=True, today=today) == {}
    assert check_window(today, start=start, plan_start=True, today=today) == {}
    early = check_window(dt.date(2027, 1, 3), start=start, plan_start=True, today=today)
    assert "plan's start (2027-01-04)" in early["date"][0]
    late = check_window(dt.date(2027, 3, 2), start=start, plan_start=False, today=today)
    assert "future" in late["date"][0]


def test_cumulative_figures_compare_with_earlier_same_day_and_later_reports():
    report, _ = clean()
    figures = {"tokens_trained": 45e9, "elapsed_days": 14.0, "gpu_hours": 86016.0}
    same_day_more = Point(report.date, {**figures, "interruptions": 4})
    later_less = Point(report.date + dt.timedelta(days=1), {"loss_spikes": 0})
    earlier_spend = Point(report.date - dt.timedelta(days=1), {"spend.people": Decimal("5")})
    errors = check_order(report, [same_day_more, later_less, earlier_spend])
    assert set(errors) == {"interruptions", "loss_spikes"}  # no spend reported: not compared
    assert check_order(report, [Point(report.date, figures)]) == {}  # equal is no step back
