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
    assert rows[0] == ["month", "category", "p50", "p90", "currency"]
    assert len(rows) - 1 == len(budget(reader, scenario).json()["rows"])


def test_xlsx_by_accept_header(reader, run, scenario):
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = reader.get(
        reverse("api:scenario-budget", args=[scenario.pk]), headers={"Accept": xlsx}
    )
    assert response.status_code == 200 and response["Content-Type"] == xlsx
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    assert header == ("month", "category", "p50", "p90", "currency")
    assert isinstance(first[2], (int, float, Decimal))


def test_no_run_yet_is_404_with_what_to_do(reader, scenario):
    response = budget(reader, scenario)
    assert response.status_code == 404
    assert "POST /api/v1/scenarios/" in response.json()["error"]["message"]
