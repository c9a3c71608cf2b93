from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

GPU_COUNT_MAX = 1_000_000


class SweepForm(forms.Form):
    """A "what if": GPU counts, GPU types and precisions to try (at least one axis)."""

    gpu_counts = forms.CharField(
        label=_("GPU counts"),
        required=False,
        help_text=_("Comma-separated, e.g. 256, 512, 1024, 2048, 4096"),
    )
    gpu_types = forms.MultipleChoiceField(label=_("GPU types"), required=False, choices=())
    precisions = forms.MultipleChoiceField(
        label=_("Precisions"),
        required=False,
        choices=[("bf16", "BF16"), ("fp16", "FP16"), ("fp8", "FP8")],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from llmplanner.simulation.hardware import CATALOG

        self.fields["gpu_types"].choices = [(g.key, g.name) for g in CATALOG]  # type: ignore[attr-defined]

    def clean_gpu_counts(self) -> list[int]:
        text = self.cleaned_data["gpu_counts"].strip()
        if not text:
            return []
        counts = []
        for part in text.replace("，", ",").split(","):
            part = part.strip()
            if not part.isdigit() or not 1 <= int(part) <= GPU_COUNT_MAX:
                raise forms.ValidationError(
                    _("“%(value)s” is not a GPU count (a whole number from 1 to 1,000,000).")
                    % {"value": part}
                )
            counts.append(int(part))
        return sorted(set(counts))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("gpu_counts") or data.get("gpu_types") or data.get("precisions")):
            raise forms.ValidationError(_("Choose at least one thing to vary."))
        return data

    def axes(self) -> dict[str, list[Any]]:
        axes: dict[str, list[Any]] = {}
        if self.cleaned_data.get("gpu_counts"):
            axes["gpu_count"] = self.cleaned_data["gpu_counts"]
        if self.cleaned_data.get("gpu_types"):
            axes["gpu_type"] = list(self.cleaned_data["gpu_types"])
        if self.cleaned_data.get("precisions"):
            axes["precision"] = list(self.cleaned_data["precisions"])
        return axes


class ShareLinkForm(forms.Form):
    days = forms.IntegerField(
        label=_("valid for (days)"),
        min_value=1,
        max_value=90,
        initial=14,
        help_text=_("The link opens the dashboard without signing in until then."),
    )
    label = forms.CharField(
        label=_("for whom"),
        max_length=100,
        required=False,
        help_text=_("e.g. the board, the finance partner — to recognise the link later."),
    )
