from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    Program,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.reports.models import Export
from apps.runs.models import PlanRun, RunStatus


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is an error, not silently "no filter"."""

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("use true or false")


@extend_schema_field({"type": "boolean"})
class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


def _id(field: str) -> IdFilter:
    return IdFilter(
        field_name=f"{field}_id", min_value=1, max_value=2**63 - 1, help_text=f"{field} id"
    )


class StrictFilterSet(django_filters.FilterSet):
    """A choice or boolean filter given with an empty value ("?mode=") is an error, not silently
    no filter. A text filter accepts "" (every name contains the empty string)."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if type(filter_) is django_filters.CharFilter:
                continue
            values = (
                self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]
            )
            if name in self.data and any(v == "" for v in values):
                self.form.add_error(name, "must not be empty")
                valid = False
        return valid


class ProgramFilter(StrictFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")
    archived = StrictBooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Program
        fields = ["name", "currency", "archived"]


# Foreign keys filter by id as plain numbers: an id that matches nothing (or another
# organization's) gives an empty page, not a 400 that would reveal which ids exist.
class ScenarioFilter(StrictFilterSet):
    program = _id("program")
    is_baseline = StrictBooleanFilter()
    archived = StrictBooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Scenario
        fields = ["program", "strategy", "is_baseline", "archived"]


class RunFilter(StrictFilterSet):
    scenario = _id("scenario")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = PlanRun
        fields = ["scenario", "status"]


class BudgetLineFilter(StrictFilterSet):
    scenario = _id("scenario")

    class Meta:
        model = GPUBudgetLine
        fields = ["scenario", "purpose", "mode"]


class TeamLineFilter(StrictFilterSet):
    scenario = _id("scenario")

    class Meta:
        model = TeamLine
        fields = ["scenario"]


class DatasetFilter(StrictFilterSet):
    scenario = _id("scenario")

    class Meta:
        model = Dataset
        fields = ["scenario", "stage", "kind", "licence"]


class ActivityFilter(StrictFilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = ScenarioActivity
        fields = ["since"]


class ExportFilter(StrictFilterSet):
    run = _id("run")
    status = django_filters.ChoiceFilter(choices=Export.Status.choices)

    class Meta:
        model = Export
        fields = ["run", "status"]
