from django import forms
from django.utils.translation import gettext_lazy as _

from apps.reports.models import Export


class ExportForm(forms.Form):
    paper = forms.ChoiceField(label=_("Paper"), choices=Export.Paper.choices, initial="a4")
    language = forms.ChoiceField(label=_("Language"), choices=Export.Language.choices, initial="en")
