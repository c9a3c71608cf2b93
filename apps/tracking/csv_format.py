"""The CSV of actuals a person uploads on the Tracking page: its columns, the template to
download, and the rows of an upload in the API's shape.

One row per dated report, in the program's currency unless the upload form names another one
(and the rate). Columns (any order; the header row is required, a missing optional column is
empty)::

    date,tokens_trained,elapsed_days,gpu_hours,interruptions,loss_spikes,observed_mfu,
    stage,progress,spend_gpu_compute,spend_storage,spend_people,spend_data,
    spend_inference,spend_contingency,note

``stage`` empty is the main run; a row of another stage (``sft``, ``data``, ``eval`` …) needs
only its date and elapsed days, and says its ``progress`` (0–1) or, for SFT, its tokens.

Rows are numbered as a spreadsheet shows them: the header is row 1, so errors name the row a
person sees. Blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from apps.common.errors import ApplicationError
from llmplanner.simulation.program import CATEGORIES

SPEND_COLUMNS = tuple(f"spend_{c}" for c in CATEGORIES)
HEADER = (
    "date",
    "tokens_trained",
    "elapsed_days",
    "gpu_hours",
    "interruptions",
    "loss_spikes",
    "observed_mfu",
    "stage",
    "progress",
    *SPEND_COLUMNS,
    "note",
)
REQUIRED_COLUMNS = HEADER[:6]
MAX_BYTES = 1_000_000
MAX_ROWS = 2000
EXAMPLE_ROWS = (
    ("2027-02-01", "21000000000", "7", "43008", "1", "0", "0.41", "main", "")
    + ("1200000.00", "3000.00", "410000.00", "0", "0", "0", "first week"),
    ("2027-02-08", "45000000000", "14", "86016", "3", "1", "0.43", "main", "")
    + ("2400000.00", "6000.00", "820000.00", "0", "0", "0", ""),
)


@dataclass(frozen=True)
class CsvRow:
    number: int  # as a spreadsheet numbers it: the header is row 1
    values: dict[str, Any]  # the API's shape: spend as a mapping


def template_csv() -> str:
    """The header and two example rows (cumulative figures: each row includes the ones before)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(EXAMPLE_ROWS)
    return out.getvalue()


def csv_column(name: str) -> str:
    """The CSV column a report field is read from (``spend.people`` → ``spend_people``)."""
    return name.replace("spend.", "spend_", 1)


def csv_rows(content: bytes) -> list[CsvRow]:
    """The reports of an uploaded file, or ``ApplicationError`` saying what is wrong with the
    file as a whole (encoding, size, header); the rows' values are checked by the service."""
    if len(content) > MAX_BYTES:
        raise ApplicationError(
            _("The file is larger than %(n)d kB; split it.") % {"n": MAX_BYTES // 1000}
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError(
            _("The file is not UTF-8 text; save it as “CSV UTF-8” and upload it again.")
        ) from None
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ApplicationError(
            _("The file is not a readable CSV: %(error)s") % {"error": exc}
        ) from None
    if not table or not any(cell.strip() for cell in table[0]):
        raise ApplicationError(
            _("The file is empty: it needs the header row and one report a row.")
        )
    header = [cell.strip() for cell in table[0]]
    unknown = [name for name in header if name not in HEADER]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise ApplicationError(
            _(
                "The header row must name the columns %(columns)s (unknown: %(unknown)s; "
                "missing: %(missing)s)."
            )
            % {
                "columns": ",".join(HEADER),
                "unknown": ", ".join(unknown) or "—",
                "missing": ", ".join(missing) or "—",
            }
        )
    rows = []
    for index, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise ApplicationError(
                _("Row %(row)d has more cells than the header row.") % {"row": index}
            )
        cells = cells + [""] * (len(header) - len(cells))
        by_column = dict(zip(header, cells, strict=True))
        values: dict[str, Any] = {
            name: by_column[name]
            for name in HEADER
            if name in by_column and name not in SPEND_COLUMNS
        }
        values["spend"] = {
            column.removeprefix("spend_"): by_column[column].strip()
            for column in SPEND_COLUMNS
            if by_column.get(column, "").strip()
        }
        rows.append(CsvRow(number=index, values=values))
        if len(rows) > MAX_ROWS:
            raise ApplicationError(
                _("The file has more than %(n)d reports; split it.") % {"n": MAX_ROWS}
            )
    if not rows:
        raise ApplicationError(_("The file has a header but no reports under it."))
    return rows
