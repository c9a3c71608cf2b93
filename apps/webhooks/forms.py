from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from apps.webhooks.models import SUBSCRIBABLE
from apps.webhooks.services import webhook_url_refusal


class WebhookForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Organization"))  # type: ignore[arg-type]
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label=gettext_lazy("URL"),
        help_text=gettext_lazy("e.g. https://erp.example.com/hooks/llmplanner"),
    )
    events = forms.MultipleChoiceField(
        choices=[(e.value, e.label) for e in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Events"),
        initial=[e.value for e in SUBSCRIBABLE],
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if refusal := webhook_url_refusal(url):
            raise forms.ValidationError(refusal)
        return url
