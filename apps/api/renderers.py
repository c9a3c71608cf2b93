"""CSV and XLSX of the budget tables — a scenario's and the portfolio's (``?format=csv|xlsx`` or
the ``Accept`` header)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from rest_framework.renderers import BaseRenderer

# p50/p90: the category's percentile of that month alone (they do not add up); the names of v1,
# kept so finance imports do not break. cumulative_p50/p90 (appended): the program's spend to the
# month's end, all categories — the same on every row of a month, so never sum that column (the
# last month's is the total cost's percentile). An empty cumulative_p90: a run stored before the
# core gave it.
HEADER = [
    "month",
    "category",
    "p50",
    "p90",
    "currency",
    "cumulative_p50",
    "cumulative_p90",
]
AMOUNT_COLUMNS = (2, 3, 5, 6)


def _amount(value: dict[str, str] | None) -> str:
    return value["amount"] if value else ""


def _rows(data: Any) -> list[list[Any]]:
    if isinstance(data, dict) and "rows" in data:
        return [
            [
                r["month"],
                r["category"],
                _amount(r["p50"]),
                _amount(r["p90"]),
                r["p50"]["currency"],
                _amount(r.get("cumulative_p50")),
                _amount(r.get("cumulative_p90")),
            ]
            for r in data["rows"]
        ]
    return []


class BudgetCSVRenderer(BaseRenderer):
    """A budget table's rows; a subclass names other columns (``header``, ``rows``)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
    header = HEADER

    def rows(self, data: Any) -> list[list[Any]]:
        return _rows(data)

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        if isinstance(data, dict) and "error" in data:
            writer.writerow(["error", "message"])
            writer.writerow([data["error"]["code"], data["error"]["message"]])
        else:
            writer.writerow(self.header)
            writer.writerows(self.rows(data))
        return out.getvalue().encode("utf-8")


class BudgetXLSXRenderer(BaseRenderer):
    """The same rows as a sheet, amounts as numbers; a subclass names other columns (``header``,
    ``rows``, ``amount_columns``: 0-based, ``widths``: by column letter)."""

    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"
    header = HEADER
    amount_columns: tuple[int, ...] = AMOUNT_COLUMNS
    widths = {"B": 14, "C": 18, "D": 18, "E": 18, "F": 18}

    def rows(self, data: Any) -> list[list[Any]]:
        return _rows(data)

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "budget"
        if isinstance(data, dict) and "error" in data:
            sheet.append(["error", "message"])
            sheet.append([data["error"]["code"], data["error"]["message"]])
        else:
            sheet.append(self.header)
            for row in self.rows(data):
                sheet.append(
                    [
                        (Decimal(v) if v else None) if i in self.amount_columns else v
                        for i, v in enumerate(row)
                    ]
                )
            for column in self.amount_columns:
                for cells in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
                    for cell in cells:
                        cell.number_format = "#,##0.00"
            for letter, width in self.widths.items():
                sheet.column_dimensions[letter].width = width
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


# The portfolio's budget (``/api/v1/portfolio/budget/``): the same columns, after the program
# (its id and name), its scenario and the run they come from. cumulative_p50/p90 are the
# program's own spend to the month's end — repeated on each category row, never to be summed.
PORTFOLIO_HEADER = [
    "month",
    "program",
    "program_name",
    "scenario",
    "run",
    "category",
    "p50",
    "p90",
    "currency",
    "cumulative_p50",
    "cumulative_p90",
]


def _portfolio_rows(data: Any) -> list[list[Any]]:
    if isinstance(data, dict) and "rows" in data:
        return [
            [
                r["month"],
                r["program"],
                r["program_name"],
                r["scenario"],
                r["run"],
                r["category"],
                _amount(r["p50"]),
                _amount(r["p90"]),
                r["p50"]["currency"],
                _amount(r.get("cumulative_p50")),
                _amount(r.get("cumulative_p90")),
            ]
            for r in data["rows"]
        ]
    return []


class PortfolioBudgetCSVRenderer(BudgetCSVRenderer):
    header = PORTFOLIO_HEADER

    def rows(self, data: Any) -> list[list[Any]]:
        return _portfolio_rows(data)


class PortfolioBudgetXLSXRenderer(BudgetXLSXRenderer):
    header = PORTFOLIO_HEADER
    amount_columns = (6, 7, 9, 10)
    widths = {"C": 36, "F": 14, "G": 18, "H": 18, "J": 18, "K": 18}

    def rows(self, data: Any) -> list[list[Any]]:
        return _portfolio_rows(data)


class PDFRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; the download view answers with the file
    itself, so this renders only what reaches it as bytes (errors are turned into JSON)."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return data if isinstance(data, bytes) else b""
