"""The budget table: months × categories at P50/P90, currencies, filters, CSV and XLSX."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from llmplanner.simulation.program import CATEGORIES

pytestmark = pytest.mark.django_db


def budget(client, scenario, **params):
    return client.get(reverse("api:scenario-budget", args=[scenario.pk]), params)


def test_it_gives_every_month_and_category_as_decimal_strings(reader, run, scenario):
    data = budget(reader, scenario).json()
    report = run.result
    months = report["monthly"]["labels"]
    assert months
    assert data["run"] == run.pk and data["currency"] == data["plan_currency"] == "CNY"
    assert [(r["month"], r["category"]) for r in data["rows"]] == [
        (m, c) for m in months for c in CATEGORIES
    ]
    for row, (i, c) in zip(
        data["rows"],
        [(i, c) for i in range(len(months)) for c in range(len(CATEGORIES))],
        strict=True,
    ):
        assert row["p50"]["currency"] == "CNY" and isinstance(row["p50"]["amount"], str)
        assert Decimal(row["p50"]["amount"]) == Decimal(
            str(report["monthly"]["p50"][i][c])
        ).quantize(Decimal("0.01"))
        assert Decimal(row["p50"]["amount"]) <= Decimal(row["p90"]["amount"])
    rows_sum = sum(Decimal(r["p50"]["amount"]) for r in data["rows"])
    assert abs(rows_sum - Decimal(data["totals"]["rows_p50_sum"]["amount"])) < Decimal("1")
    assert Decimal(data["totals"]["program_p50"]["amount"]) == Decimal(
        str(report["totals"]["cost"]["p50"])
    ).quantize(Decimal("0.01"))


def test_it_converts_at_the_runs_exchange_rate(reader, run, scenario):
    cny = budget(reader, scenario).json()
    usd = budget(reader, scenario, currency="USD").json()
    rate = Decimal(cny["usd_to_cny"])
    assert usd["currency"] == "USD" and usd["rows"][0]["p50"]["currency"] == "USD"
    a = Decimal(cny["totals"]["program_p90"]["amount"])
    b = Decimal(usd["totals"]["program_p90"]["amount"])
    assert abs(a / rate - b) < Decimal("0.01")


def test_it_filters_by_month_range_and_category(reader, run, scenario):
    months = run.result["monthly"]["labels"]
    data = budget(
        reader, scenario, month_from=months[1], month_to=months[2], category="gpu_compute,people"
    ).json()
    assert [(r["month"], r["category"]) for r in data["rows"]] == [
        (months[1], "gpu_compute"),
        (months[1], "people"),
        (months[2], "gpu_compute"),
        (months[2], "people"),
    ]
    assert set(data["totals"]["by_category"]) == {"gpu_compute", "people"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"category": "snacks"}, "category"),
        ({"currency": "EUR"}, "currency"),
        ({"month_from": "January"}, "month_from"),
    ],
)
def test_bad_filters_are_400_naming_the_field(reader, run, scenario, params, field):
    response = budget(reader, scenario, **params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_csv_for_a_spreadsheet(reader, run, scenario):
    response = budget(reader, scenario, format="csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "month",
        "category",
        "p50",
        "p90",
        "currency",
        "cumulative_p50",
        "cumulative_p90",
    ]
    assert len(rows) - 1 == len(budget(reader, scenario).json()["rows"])


def cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def running_sum(values):
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def test_csv_has_the_reports_cumulative_percentiles_ending_at_the_total(reader, run, scenario):
    report = run.result
    monthly, cost = report["monthly"], report["totals"]["cost"]
    # A report where summing monthly P90s would be wrong: the two differ.
    assert cents(running_sum(monthly["total_p90"])[-1]) != cents(monthly["cumulative_p90"][-1])
    response = budget(reader, scenario, format="csv")
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [r[0] for r in rows[:: len(CATEGORIES)]] == monthly["labels"]
    for row in rows:
        i = monthly["labels"].index(row[0])
        assert Decimal(row[5]) == cents(monthly["cumulative_p50"][i]), row
        assert Decimal(row[6]) == cents(monthly["cumulative_p90"][i]), row
        c = CATEGORIES.index(row[1])
        assert Decimal(row[2]) == cents(monthly["p50"][i][c])
        assert Decimal(row[3]) == cents(monthly["p90"][i][c])
    assert Decimal(rows[-1][5]) == cents(cost["p50"])
    assert Decimal(rows[-1][6]) == cents(cost["p90"])


def test_json_months_give_each_months_totals_per_month_and_cumulative(reader, run, scenario):
    report = run.result
    monthly = report["monthly"]
    data = budget(reader, scenario, category="people").json()
    assert [m["month"] for m in data["months"]] == monthly["labels"]
    for i, month in enumerate(data["months"]):
        assert Decimal(month["month_p90"]["amount"]) == cents(monthly["total_p90"][i])
        assert Decimal(month["cumulative_p90"]["amount"]) == cents(monthly["cumulative_p90"][i])
    # The cumulative columns are the whole program's, whatever the category filter.
    last = data["rows"][-1]
    assert last["category"] == "people"
    assert Decimal(last["cumulative_p90"]["amount"]) == cents(report["totals"]["cost"]["p90"])
    assert Decimal(data["totals"]["program_p90"]["amount"]) == Decimal(
        last["cumulative_p90"]["amount"]
    )


def test_a_run_stored_before_cumulative_percentiles_has_no_cumulative_p90(reader, run, scenario):
    monthly = run.result["monthly"]
    expected = running_sum(monthly["total_p50"])
    del monthly["cumulative_p50"], monthly["cumulative_p90"]
    run.save(update_fields=["result"])
    data = budget(reader, scenario).json()
    assert data["months"] and all(m["cumulative_p90"] is None for m in data["months"])
    assert [Decimal(m["cumulative_p50"]["amount"]) for m in data["months"]] == [
        cents(v) for v in expected
    ]
    header, *rows = list(
        csv.reader(io.StringIO(budget(reader, scenario, format="csv").content.decode()))
    )
    assert rows and {r[6] for r in rows} == {""}


def test_xlsx_by_accept_header(reader, run, scenario):
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = reader.get(
        reverse("api:scenario-budget", args=[scenario.pk]), headers={"Accept": xlsx}
    )
    assert response.status_code == 200 and response["Content-Type"] == xlsx
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    assert header == (
        "month",
        "category",
        "p50",
        "p90",
        "currency",
        "cumulative_p50",
        "cumulative_p90",
    )
    assert all(isinstance(v, (int, float, Decimal)) for v in (*first[2:4], *first[5:7]))
    months = run.result["monthly"]
    assert first[0] == months["labels"][0]
    assert Decimal(str(first[6])) == cents(months["cumulative_p90"][0])


def test_no_run_yet_is_404_with_what_to_do(reader, scenario):
    response = budget(reader, scenario)
    assert response.status_code == 404
    assert "POST /api/v1/scenarios/" in response.json()["error"]["message"]


def test_an_unknown_format_is_named_in_the_404_not_a_bare_not_found(reader, run, scenario):
    # Issue 18: `?format=pdf` answered 404 "Not found." — the reader could not tell why.
    response = budget(reader, scenario, format="pdf")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_format"
    assert "'pdf'" in error["message"] and "csv" in error["message"]
    assert "xlsx" in error["message"] and list(error["fields"]) == ["format"]
    # A real 404 (another scenario id) is still the plain one; a known format still answers.
    missing = reader.get(reverse("api:scenario-budget", args=[10**9]))
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Not found."
    assert budget(reader, scenario, format="csv").status_code == 200
