"""What-if axes and variants in people's words, in the active language: the what-if page and
the History line of a scenario saved from a variant say "128 × H100 SXM 80GB · FP8", not
``gpu_count=128 gpu_type=h100-80gb``."""

from __future__ import annotations

from typing import Any


def axis_value(axis: str, value: Any) -> str:
    from apps.programs.models import Precision
    from llmplanner.simulation.errors import ValidationError
    from llmplanner.simulation.hardware import gpu_by_name

    if axis == "gpu_type":
        try:
            return gpu_by_name(str(value)).name
        except ValidationError:
            return str(value)
    if axis == "precision":
        return str(Precision(value).label) if value in Precision.values else str(value).upper()
    if axis == "strategy":
        from apps.programs.models import Strategy

        return str(Strategy(value).label) if value in Strategy.values else str(value)
    if axis == "gpu_count" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


def variant_label(variant: dict[str, Any]) -> str:
    """A variant as a plan would be named: "128 × H100 SXM 80GB · BF16", not
    ``gpu_count=128 gpu_type=h100-80gb``."""
    count, gpu = variant.get("gpu_count"), variant.get("gpu_type")
    parts = []
    if count is not None or gpu is not None:
        parts.append(
            " × ".join(
                axis_value(axis, variant[axis])
                for axis in ("gpu_count", "gpu_type")
                if axis in variant
            )
        )
    parts += [
        axis_value(axis, value)
        for axis, value in sorted(variant.items())
        if axis not in ("gpu_count", "gpu_type")
    ]
    return " · ".join(parts)
