"""Template filters of the planning pages: counts and amounts in the active language's way
(``2T`` / ``2万亿``; ``¥1,234,567`` / ``¥123.5万``), and findings next to their field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import get_language

from apps.programs.findings import ShownFinding
from apps.programs.quantities import format_count, group_digits

register = template.Library()

SYMBOLS = {"CNY": "¥", "USD": "$"}


def _language() -> str:
    return get_language() or "en"


@register.filter
def count(value: Any) -> str:
    """A compact count: 300B / 3000亿."""
    if value in (None, ""):
        return "—"
    return format_count(float(value), _language())


@register.filter
def grouped(value: Any, decimals: int = 0) -> str:
    """A number with thousands grouped: 1,234,567."""
    if value in (None, ""):
        return "—"
    return group_digits(Decimal(str(value)), _language(), int(decimals))


@register.filter
def money(value: Any, currency: str = "CNY") -> str:
    """An amount with its currency symbol, whole units: ¥1,234,567 / $12,345."""
    if value in (None, ""):
        return "—"
    amount = Decimal(str(value))
    decimals = 2 if abs(amount) < 100 and amount != amount.to_integral_value() else 0
    return f"{SYMBOLS.get(currency, '')}{group_digits(amount, _language(), decimals)}"


@register.filter
def money_compact(value: Any, currency: str = "CNY") -> str:
    """A large amount, compact: ¥12.3M in English, ¥1230万 in Chinese."""
    if value in (None, ""):
        return "—"
    amount = float(value)
    if abs(amount) < 10_000:
        return money(value, currency)
    return f"{SYMBOLS.get(currency, '')}{format_count(amount, _language())}"


@register.filter
def findings_for(findings: dict[str, list[ShownFinding]] | None, path: str) -> list[ShownFinding]:
    """The findings about one field path (``training.tokens``, ``gpus.12.months``)."""
    if not findings or not path:
        return []
    return findings.get(str(path), [])


@register.filter
def findings_all(findings: dict[str, list[ShownFinding]] | None) -> list[ShownFinding]:
    """Every finding of the scenario, worst first."""
    return (findings or {}).get("", [])


@register.filter
def findings_under(
    findings: dict[str, list[ShownFinding]] | None, prefix: str
) -> list[ShownFinding]:
    """Findings about a path or anything below it (``data`` → ``data.cpt``, ``data.7.licence``)."""
    if not findings:
        return []
    prefix = str(prefix)
    return [
        f
        for path, items in findings.items()
        if path == prefix or path.startswith(prefix + ".")
        for f in items
    ]


@register.simple_tag
def plan_path(form: Any, name: str) -> str:
    """The plan path a form field's findings are filed under."""
    return getattr(form, "plan_paths", {}).get(name, "")


@register.filter
def findings_head(findings: dict[str, list[ShownFinding]] | None, kind: str) -> list[ShownFinding]:
    """Findings about a whole list (``team``, ``data.cpt``), not about one of its lines."""
    if not findings:
        return []
    kind = str(kind)
    out = []
    for path, items in findings.items():
        parts = path.split(".")
        if parts[0] == kind and (len(parts) == 1 or not parts[1].isdigit()):
            out.extend(items)
    return out


@register.simple_tag
def line_findings(
    findings: dict[str, list[ShownFinding]] | None, kind: str, line_id: int
) -> list[ShownFinding]:
    """Findings about one line (``data.12.licence``, ``gpus.3.months``)."""
    return findings_under(findings, f"{kind}.{line_id}")
