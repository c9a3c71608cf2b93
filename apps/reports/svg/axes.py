"""Axes of a static chart: value → coordinate mapping, autorange, ticks and tick labels."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any


def as_list(value: Any) -> list[Any]:
    """A plotly array (list, tuple, numpy array) or a scalar as a list; None as []."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


def as_number(value: Any) -> float | None:
    """A finite float, or None for strings, None, NaN and infinities."""
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


EPOCH = dt.datetime(1970, 1, 1)
DAY_MS = 86_400_000.0


def date_ms(value: Any) -> float | None:
    """A date as plotly's date axes hold it: milliseconds since 1970-01-01 (naive, UTC-free).
    Accepts ISO dates and date-times ("2027-03-01", "2027-03-01 12:30"), "2027-03", date
    objects, and numbers (already milliseconds); None for anything else."""
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = dt.datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            try:
                moment = dt.datetime.strptime(text, "%Y-%m")
            except ValueError:
                return None
    else:
        return as_number(value)
    return (moment - EPOCH).total_seconds() * 1000.0


def text_width(text: str, size: float) -> float:
    """Approximate width in px of a label (its longest line): CJK and other wide characters
    are one em, the rest about 0.56 em (Noto Sans's Latin advance) — enough to place labels
    without measuring fonts."""
    if "\n" in text:
        return max(text_width(line, size) for line in text.split("\n"))
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in ("W", "F"))
    return size * (wide + 0.56 * (len(text) - wide))


@dataclass
class Axis:
    """One axis. Coordinates are category indexes, log10 of the value, milliseconds since 1970
    (date), or the value itself."""

    name: str  # "x", "y", "y2", …
    spec: dict[str, Any]
    kind: str = "linear"  # linear | log | category | date
    categories: list[str] = field(default_factory=list)
    lo: float = 0.0
    hi: float = 1.0
    ticks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        title = self.spec.get("title") or {}
        return str(title.get("text") or "") if isinstance(title, dict) else str(title)

    @property
    def visible(self) -> bool:
        return self.spec.get("visible", True) is not False

    @property
    def on_right(self) -> bool:
        return self.spec.get("side") == "right"

    def number(self, value: Any) -> float | None:
        """A data value as a number in the axis's units (milliseconds on a date axis), for
        arithmetic with lengths: a bar's base plus its length, a point plus its error bar."""
        return date_ms(value) if self.kind == "date" else as_number(value)

    def position(self, value: Any) -> float | None:
        """A data value as a coordinate on this axis; None when it cannot be placed."""
        if self.kind == "category":
            key = str(value)
            return float(self.categories.index(key)) if key in self.categories else None
        number = self.number(value)
        if number is None:
            return None
        if self.kind == "log":
            return math.log10(number) if number > 0 else None
        return number

    def unit(self, coordinate: float) -> float:
        """0 at the start of the range, 1 at its end."""
        return (coordinate - self.lo) / ((self.hi - self.lo) or 1.0)

    def autorange(self, coordinates: list[float], include_zero: bool, pad: float) -> None:
        """The range: ``range`` when given, else the data's extent (with zero when asked) widened
        by ``pad`` (a fraction of the span) on each side that is not pinned at zero."""
        explicit = self.spec.get("range")
        if self.kind == "category":
            self.lo, self.hi = -0.5, len(self.categories) - 0.5
            if explicit and None not in explicit and as_number(explicit[0]) is not None:
                self.lo, self.hi = float(explicit[0]), float(explicit[1])
            return
        if explicit and None not in explicit:
            lo, hi = self.number(explicit[0]), self.number(explicit[1])
            if lo is not None and hi is not None:
                self.lo, self.hi = lo, hi
                return
        if self.spec.get("rangemode") == "tozero" and self.kind == "linear":
            include_zero = True
        points = list(coordinates) + ([0.0] if include_zero else [])
        lo, hi = (min(points), max(points)) if points else (0.0, 1.0)
        if hi == lo:
            lo, hi = (lo - abs(lo) * 0.5 - 1, hi + abs(hi) * 0.5 + 1) if lo else (0.0, 1.0)
        span = hi - lo
        if not (include_zero and lo == 0.0):
            lo -= pad * span
        if not (include_zero and hi == 0.0):
            hi += pad * span
        self.lo, self.hi = lo, hi

    def place(self, value: Any, annotation: bool = False) -> float | None:
        """Where a shape's or an annotation's coordinate lands, as plotly.js places them: a
        number on a category axis is a category index (the deadline inside a month), and an
        annotation on a log axis is given in log10 units (a shape in data units)."""
        if self.kind == "category" and as_number(value) is not None:
            return as_number(value)
        if self.kind == "log" and annotation:
            return as_number(value)
        return self.position(value)

    def explicit_ticks(self) -> list[tuple[float, str]] | None:
        """``tickvals`` with their ``ticktext`` (the figure chose them: round values, labels in
        万/亿, wrapped names) inside the range; None when the figure leaves ticks to plotly."""
        values = as_list(self.spec.get("tickvals"))
        if not values or self.spec.get("tickmode") not in (None, "array"):
            return None
        texts = as_list(self.spec.get("ticktext"))
        lo, hi = min(self.lo, self.hi), max(self.lo, self.hi)
        slack = (hi - lo) * 1e-6
        ticks = []
        for i, value in enumerate(values):
            coordinate = self.position(value)
            if coordinate is None or not lo - slack <= coordinate <= hi + slack:
                continue
            label = str(texts[i]) if i < len(texts) else str(value)
            ticks.append((coordinate, label))
        return ticks

    def set_ticks(self, target: float) -> None:
        """About ``target`` ticks with labels (every category on a category axis), or the
        figure's own ``tickvals``/``ticktext``."""
        fmt = str(self.spec.get("tickformat") or "")
        explicit = self.explicit_ticks()
        if explicit is not None:
            self.ticks = explicit
        elif self.kind == "category":
            self.ticks = [(float(i), c) for i, c in enumerate(self.categories)]
        elif self.kind == "log":
            self.ticks = log_ticks(self.lo, self.hi, fmt)
        elif self.kind == "date":
            self.ticks = date_ticks(self.lo, self.hi, max(2, round(target)))
        else:
            self.ticks = linear_ticks(self.lo, self.hi, max(2, round(target)), fmt)


def nice_step(span: float, target: int) -> float:
    """1, 2, 2.5 or 5 × 10ⁿ: the round step giving about ``target`` intervals over ``span``."""
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def format_tick(value: float, step: float, tickformat: str = "") -> str:
    """A tick label the way plotly writes it by default: 2.5M, 500k, 1.2B; ``.0%`` → 40%."""
    if tickformat.endswith("%"):
        digits = int(tickformat.strip(".%,") or 0)
        return f"{value * 100:.{digits}f}%"
    if value == 0:
        return "0"
    magnitude = max(abs(value), abs(step))
    scale, suffix = 1.0, ""
    for s, name in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= s:
            scale, suffix = s, name
            break
    scaled_step = abs(step) / scale
    digits = 0
    while digits < 6 and abs(scaled_step * 10**digits - round(scaled_step * 10**digits)) > 1e-6:
        digits += 1
    text = f"{value / scale:,.{digits}f}"
    if "." in text:  # plotly writes 10M next to 2.5M, not 10.0M
        text = text.rstrip("0").rstrip(".")
    return text + suffix


def linear_ticks(lo: float, hi: float, target: int, tickformat: str) -> list[tuple[float, str]]:
    step = nice_step(hi - lo, target)
    ticks = []
    index = math.ceil(lo / step - 1e-9)
    while index * step <= hi + step * 1e-9:
        value = round(index * step, 12)
        ticks.append((value, format_tick(value, step, tickformat)))
        index += 1
    return ticks


def date_ticks(lo: float, hi: float, target: int) -> list[tuple[float, str]]:
    """About ``target`` ticks between two dates (milliseconds): whole days (1, 2, 7, 14),
    first days of months (1, 2, 3, 6) or of years, labelled in ISO form (2027-03-15, 2027-03,
    2027) so they read the same in every language."""
    first = EPOCH + dt.timedelta(milliseconds=lo)
    last = EPOCH + dt.timedelta(milliseconds=hi)
    raw_days = (hi - lo) / DAY_MS / max(target, 1)
    moments: list[dt.datetime] = []
    fmt = "%Y-%m-%d"
    day_step = next((d for d in (1, 2, 7, 14) if raw_days <= d), None)
    month_step = next((m for m in (1, 2, 3, 6) if raw_days <= 30.5 * m), None)
    if day_step is not None:
        day = dt.datetime.combine(first.date(), dt.time())
        if day < first:
            day += dt.timedelta(days=1)
        while day.toordinal() % day_step:
            day += dt.timedelta(days=1)
        while day <= last:
            moments.append(day)
            day += dt.timedelta(days=day_step)
    elif month_step is not None:
        fmt = "%Y-%m"
        index = first.year * 12 + first.month - 1
        if dt.datetime(first.year, first.month, 1) < first:
            index += 1
        index += -index % month_step
        while (moment := dt.datetime(index // 12, index % 12 + 1, 1)) <= last:
            moments.append(moment)
            index += month_step
    else:
        fmt = "%Y"
        step = max(1, round(nice_step(raw_days / 365.25, 1)))
        year = first.year + (1 if dt.datetime(first.year, 1, 1) < first else 0)
        year += -year % step
        while year <= last.year:
            moments.append(dt.datetime(year, 1, 1))
            year += step
    return [((m - EPOCH).total_seconds() * 1000.0, m.strftime(fmt)) for m in moments]


def log_ticks(lo: float, hi: float, tickformat: str) -> list[tuple[float, str]]:
    """Powers of ten; 1-2-5 when the range is short; every digit when it is shorter still."""
    ticks: list[tuple[float, float]] = []
    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [
            (math.log10(m * 10.0**k), m * 10.0**k)
            for k in range(math.floor(lo) - 1, math.ceil(hi) + 1)
            for m in mantissas
            if lo <= math.log10(m * 10.0**k) <= hi
        ]
        if len(ticks) >= 3:
            break
    return [(pos, format_tick(v, v, tickformat)) for pos, v in ticks]


def wrap_label(text: str, width: float, size: float) -> list[str] | None:
    """``text`` broken at spaces into lines no wider than ``width``; None if a word is wider."""
    lines: list[str] = []
    for word in text.split():
        if text_width(word, size) > width:
            return None
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def shorten(text: str, width: float, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``width``."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"
