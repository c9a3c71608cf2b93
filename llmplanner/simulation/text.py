"""The report's human text: English templates with named parameters, rendered to English here.

Every sentence the report shows a person (a stage's name and note, a gate and its criterion, a
risk's title, mitigation and source, a data check's message, rule and source, the layout's
explanation) is built as ``T(template, **params)``: a ``%``-style template with named
placeholders (``"%(tokens)s tokens from %(available)s available"``) and its parameters, numbers
already formatted as strings, so that a translation only reorders words. The report carries the
rendered English under the field's own key (``title``) and, beside it, the template and the
parameters (``title_template``, ``title_params``); the web translates the template and renders it
with the same parameters (``apps.runs.report_text``). A literal ``%`` in a template is ``%%``.

A parameter (JSON-ready) is one of:

- a string, shown as is: a formatted number, a name the user entered, a layout;
- ``{"template": ..., "params": {...}}``: nested text (a stage's name inside a risk's title),
  rendered and translated the same way;
- ``{"role": key}``: a team role of the plan format, shown by its name (``ROLE_NAMES``);
- ``{"purpose": key}``: a GPU pool's purpose, shown by its name (``PURPOSE_NAMES``);
- ``{"items": [...], "join": "list" | "or" | "semicolon"}``: parameters shown as one list.

Templates are string literals passed straight to ``T`` (a test reads every call in the core and
checks the web lists each one for translation). Sources are cited by author and year, as the web's
rules cite them: OneMoreAI 2023 (a podcast: pitfalls of training a 100B-class LLM), You Yang 2023
(Colossal-AI: memory and parallelism), Huang Wenhao 2023 (a pretraining lead's year in review),
Yi Tay 2024 ("Training great LLMs entirely from ground zero in the wilderness as a startup"), the
vertical-LLM survey 2023 (strategies, data mixes and salaries for domain models).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ROLE_NAMES = {
    "data_engineer": "data engineer",
    "legal": "legal reviewer",
    "algorithm_researcher": "algorithm researcher",
    "distributed_training_engineer": "distributed-training engineer",
    "run_watcher": "run watcher",
    "frontend": "frontend engineer",
    "backend": "backend engineer",
    "product_manager": "product manager",
}
PURPOSE_NAMES = {
    "main": "main training",
    "experiments": "experiments",
    "finetune": "fine-tuning",
    "serving": "serving",
    "other": "other work",
}
JOINS = ("list", "or", "semicolon")


@dataclass(frozen=True)
class Text:
    """A template and its JSON-ready parameters; ``str()`` is the English sentence."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.template, self.params)

    def as_param(self) -> dict[str, Any]:
        return {"template": self.template, "params": self.params}

    def fields(self, name: str) -> dict[str, Any]:
        """``{name: English, name_template: template, name_params: params}`` for a report row."""
        return {
            name: str(self),
            f"{name}_template": self.template,
            f"{name}_params": self.params,
        }


def _param(value: Any) -> Any:
    if isinstance(value, Text):
        return value.as_param()
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and (
        "template" in value or "role" in value or "purpose" in value or "items" in value
    ):
        return value
    raise TypeError(f"a text parameter is a formatted string or text, not {value!r}")


def T(template: str, /, **params: Any) -> Text:
    """Text from an English ``template`` and its parameters (strings, ``Text``, ``role()``…)."""
    return Text(template, {key: _param(value) for key, value in params.items()})


def role(key: str) -> dict[str, str]:
    return {"role": key}


def purpose(key: str) -> dict[str, str]:
    return {"purpose": key}


def items(values: Iterable[Any], join: str = "list") -> dict[str, Any]:
    if join not in JOINS:
        raise ValueError(f"join must be one of {JOINS}")
    return {"items": [_param(v) for v in values], "join": join}


def join_english(parts: list[str], join: str) -> str:
    if join == "semicolon":
        return "; ".join(parts)
    if join == "or" and len(parts) > 1:
        return ", ".join(parts[:-1]) + " or " + parts[-1]
    return ", ".join(parts)


def param_text(value: Any) -> str:
    """One parameter in English."""
    if isinstance(value, str):
        return value
    if "template" in value:
        return render(value["template"], value.get("params") or {})
    if "role" in value:
        return ROLE_NAMES.get(value["role"], str(value["role"]))
    if "purpose" in value:
        return PURPOSE_NAMES.get(value["purpose"], str(value["purpose"]))
    return join_english([param_text(v) for v in value["items"]], value.get("join", "list"))


def render(template: str, params: dict[str, Any]) -> str:
    """The English sentence of ``template`` with ``params``."""
    return template % {key: param_text(value) for key, value in params.items()}


# --- numbers as words read them -------------------------------------------------------------

_UNITS = (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3))


def quantity(value: float) -> str:
    """A large count in three significant digits and a unit: ``700B``, ``1.2T``, ``50M``, ``950``
    (never ``7e+11``)."""
    for unit, scale in _UNITS:
        if abs(value) >= scale * 0.9995:  # rounds to at least 1.00 of this unit
            number = value / scale
            if unit == "T" and abs(number) >= 999.5:
                return f"{number:,.0f}T"
            return f"{number:.3g}{unit}"
    return f"{value:.3g}"


def number(value: float) -> str:
    """A count as entered: ``3``, ``0.5``, ``7.5``."""
    return f"{value:g}"


def percent(value: float) -> str:
    """A fraction as a whole percentage: ``15%``."""
    return f"{value:.0%}"


def is_one(text: str) -> bool:
    """Whether a formatted number reads as exactly one (singular noun)."""
    return text in ("1", "1.0")
