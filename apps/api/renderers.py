"""CSV and XLSX of the budget table (``?format=csv|xlsx`` or the ``Accept`` header)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from rest_framework.renderers import BaseRenderer

HEADER = ["month", "category", "p50", "p90", "currency"]


def _rows(data: Any) -> list[list[Any]]:
    if isinstance(data, dict) and "rows" in data:
        return [
            [
                r["month"],
                r["category"],
                r["p50"]["amount"],
                r["p90"]["amount"],
                r["p50"]["currency"],
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
            for month, category, p50, p90, currency in _rows(data):
                sheet.append([month, category, Decimal(p50), Decimal(p90), currency])
            for row in sheet.iter_rows(min_row=2, min_col=3, max_col=4):
                for cell in row:
                    cell.number_format = "#,##0.00"
            sheet.column_dimensions["B"].width = 14
            sheet.column_dimensions["C"].width = 18
            sheet.column_dimensions["D"].width = 18
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
