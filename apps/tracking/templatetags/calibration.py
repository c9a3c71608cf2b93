"""``{% run_calibration run as calibration %}``: where a run's efficiency came from
(``apps.tracking.calibration.run_calibration``), with its sentence in the active language."""

from __future__ import annotations

from typing import Any

from django import template

from apps.tracking.calibration import calibration_sentence, run_calibration

register = template.Library()


@register.simple_tag(name="run_calibration")
def run_calibration_tag(run: Any) -> dict[str, Any]:
    data = run_calibration(run)
    return {**data, "sentence": calibration_sentence(data)}
