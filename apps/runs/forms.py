from django import forms

from apps.accounts.models import Organization
from apps.runs.services import DEMO_JOB_MAX_N


class DemoJobForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    n = forms.IntegerField(min_value=1, max_value=DEMO_JOB_MAX_N, initial=1000, label="n")

    def __init__(self, *args: object, organizations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
