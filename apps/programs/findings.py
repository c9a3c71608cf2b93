"""Findings of ``apps.programs.rules`` as translated sentences, grouped by the field they are about.

``rules`` is Django-free; this module turns its English rule texts (marked for translation there)
into the active language and formats numbers the language's way (``300B`` / ``3000亿``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from apps.programs.quantities import format_count
from apps.programs.rules import RULES, Finding

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class ShownFinding:
    """A finding ready for a template: ``text`` names the rule, ``source`` where it comes from."""

    rule: str
    severity: str
    path: str
    text: str
    source: str

    def __str__(self) -> str:
        return f"{self.text} ({self.source})"


STAGE_NAMES = {
    "pretrain": gettext_noop("pretraining"),
    "cpt": gettext_noop("continued-pretraining"),
    "sft": gettext_noop("SFT"),
    "rlhf": gettext_noop("preference"),
    "rag": gettext_noop("RAG"),
}


def _params(params: dict[str, Any]) -> dict[str, str]:
    language = get_language() or "en"
    out = {}
    for key, value in params.items():
        if key == "share":
            out[key] = f"{value:.0%}"
        elif key in ("tokens", "available"):
            out[key] = format_count(value, language)
        elif key == "epochs":
            out[key] = f"{value:.1f}"
        elif key == "stage":
            out[key] = _(STAGE_NAMES.get(value, value))
        elif key in ("end", "deadline"):
            out[key] = date_format(value)
        else:
            out[key] = str(value)
    return out


def show(finding: Finding) -> ShownFinding:
    rule = RULES[finding.rule]
    params = _params(finding.params)
    return ShownFinding(
        rule=finding.rule,
        severity=rule.severity,
        path=finding.path,
        text=_(rule.text).format(**params),
        source=_(rule.source).format(**params),
    )


def message(finding: Finding) -> str:
    """One sentence for a form error: the rule's text, then its source in parentheses."""
    return str(show(finding))


def by_path(findings: list[Finding]) -> dict[str, list[ShownFinding]]:
    """Shown findings keyed by path, each list worst first; key ``""`` holds them all."""
    grouped: dict[str, list[ShownFinding]] = defaultdict(list)
    for finding in sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity]):
        shown = show(finding)
        grouped[finding.path].append(shown)
        grouped[""].append(shown)
    return dict(grouped)
