"""CSV and XLSX of the budget table (``?format=csv|xlsx`` or the ``Accept`` header)."""

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
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        if isinstance(data, dict) and "error" in data:
            writer.writerow(["error", "message"])
            writer.writerow([data["error"]["code"], data["error"]["message"]])
        else:
            writer.writerow(HEADER)
            writer.writerows(_rows(data))
        return out.getvalue().encode("utf-8")


class BudgetXLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

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
            sheet.append(HEADER)
            for row in _rows(data):
                sheet.append(
                    [
                        (Decimal(v) if v else None) if i in AMOUNT_COLUMNS else v
                        for i, v in enumerate(row)
                    ]
                )
            for cells in sheet.iter_rows(min_row=2, min_col=3, max_col=6):
                for cell in cells:
                    cell.number_format = "#,##0.00"
            sheet.column_dimensions["B"].width = 14
            for column in "CDEF":
                sheet.column_dimensions[column].width = 18
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


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
