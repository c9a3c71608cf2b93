"""The one error type the core raises for bad input."""

from __future__ import annotations


class ValidationError(ValueError):
    """Bad input to the simulation core.

    ``field`` names the offending input (dotted for nested values, e.g. ``model.heads``), so that
    the web layer can put the message next to the right form field and the CLI can exit 2 with it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def require_positive(
    field: str, value: float, *, integer: bool = False, maximum: float | None = None
) -> None:
    """Raise ``ValidationError`` unless ``value`` is a finite number > 0 (and ≤ ``maximum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(field, f"must be a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(field, f"must be a finite number, got {value!r}")
    if integer and int(value) != value:
        raise ValidationError(field, f"must be a whole number, got {value!r}")
    if value <= 0:
        raise ValidationError(field, f"must be greater than zero, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValidationError(field, f"is implausibly large ({value!r} > {maximum:g})")
