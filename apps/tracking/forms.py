"""The Tracking page's forms. They only carry text: the rules are the service's
(``apps.tracking.validation``), which names the field at fault; ``add_service_errors`` puts its
messages next to the fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.runs.figure_style import category_label
from apps.tracking.csv_format import MAX_BYTES
from apps.tracking.models import NOTE_MAX_LENGTH
from llmplanner.simulation.program import CATEGORIES

NUMBER = forms.NumberInput(attrs={"step": "any", "min": "0"})


def _number(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=NUMBER, help_text=help_text)


CURRENCY_CHOICES = [("", _("the program's")), ("CNY", "CNY"), ("USD", "USD")]


class ApproveForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": NOTE_MAX_LENGTH}),
    )


class ActualReportForm(forms.Form):
    """One report as a person types it; ``report()`` gives the API's shape."""

    date = forms.CharField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=[])
    tokens_trained = _number(_("Tokens trained (cumulative)"))
    elapsed_days = _number(_("Days since the stage started"), _("0: not started yet."))
    gpu_hours = _number(_("GPU-hours (cumulative)"))
    interruptions = _number(_("Interruptions (cumulative)"))
    loss_spikes = _number(_("Loss spikes (cumulative)"))
    observed_mfu = _number(_("Observed MFU (optional)"), _("A fraction: 0.42 for 42 percent."))
    progress = _number(
        _("Share done (other stages)"),
        _(
            "For a stage other than the main run: 0.4 when 40% of its work is done, 1 when it "
            "is finished. SFT and DPO may give their tokens trained instead."
        ),
    )
    currency = forms.ChoiceField(label=_("Amounts in"), choices=CURRENCY_CHOICES, required=False)
    usd_to_cny = _number(
        _("USD → CNY rate"), _("Needed when the amounts are in the other currency.")
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": NOTE_MAX_LENGTH}),
    )

    def __init__(
        self, *args: Any, stages: Sequence[tuple[str, str]] = (("main", ""),), **kwargs: Any
    ) -> None:
        """``stages``: (key, name) of the stages the approved plan lets a report speak of."""
        super().__init__(*args, **kwargs)
        stage = self.fields["stage"]
        assert isinstance(stage, forms.ChoiceField)
        stage.choices = [(key, name or key) for key, name in stages]
        stage.initial = stages[0][0] if stages else ""
        for category in CATEGORIES:
            self.fields[f"spend_{category}"] = _number(category_label(category))

    def spend_fields(self) -> list[forms.BoundField]:
        return [self[f"spend_{category}"] for category in CATEGORIES]

    def report(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            name: data.get(name, "")
            for name in self.fields
            if not name.startswith("spend_") and data.get(name, "") != ""
        }
        values["spend"] = {
            category: data[f"spend_{category}"]
            for category in CATEGORIES
            if data.get(f"spend_{category}")
        }
        return values

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            field = name.replace("spend.", "spend_", 1)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class CsvUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    currency = forms.ChoiceField(label=_("Amounts in"), choices=CURRENCY_CHOICES, required=False)
    usd_to_cny = _number(
        _("USD → CNY rate"), _("Needed when the amounts are in the other currency.")
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(n)d kB; split it.") % {"n": MAX_BYTES // 1000}
            )
        return upload
