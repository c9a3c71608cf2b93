"""Forms of the planning workspace. ModelForms, so the models' validators and ``clean`` (which
apply ``apps.programs.rules``) run here exactly as they do on import; the views hand the cleaned
data to a service, which validates again and saves (forms never save themselves)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from apps.programs import rules
from apps.programs.blueprints import blueprint_list
from apps.programs.findings import message
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    Program,
    Purpose,
    Scenario,
    Strategy,
    TeamLine,
)
from apps.programs.quantities import format_count, parse_count, parse_count_list
from apps.programs.selectors import gpu_type_list, model_preset_list, role_template_list

# The biggest count the database stores (a signed 64-bit integer), and the biggest model a ladder
# step may name (the custom size's own bound, 100,000B parameters).
MAX_COUNT = 2**63 - 1
MAX_LADDER_PARAMS = 100_000 * 10**9
# A count with more than 30 digits, or an exponent of 100 or more, is far past MAX_COUNT. Refusing
# it from the text avoids what parse_count would otherwise do: "1e999999999" overflows the
# Decimal context (decimal.Overflow) and "1e999999" builds a million-digit int that Python then
# refuses to turn back into text (the 4,300-digit limit of CVE-2020-10735) — both were 500s.
_TOO_LONG = re.compile(r"\d{31,}|e\+?0*[1-9]\d{2,}", re.IGNORECASE)


def _count(text: str) -> int:
    """``parse_count`` for untrusted text: ``ValueError`` for anything not a count up to
    ``MAX_COUNT``."""
    if len(text) > 100 or _TOO_LONG.search(text):
        raise ValueError(text)
    try:
        count = parse_count(text)
    except ArithmeticError as exc:
        raise ValueError(text) from exc
    if count > MAX_COUNT:
        raise ValueError(text)
    return count


class CountField(forms.CharField):
    """A whole count written as people write it: 300B, 2T, 1.5e12, 3000亿, 2,000,000."""

    default_error_messages = {
        "invalid": _("Write a whole number, e.g. 300B, 2T, 1.5e12 or 3000亿."),
    }

    def __init__(self, *, min_value: int = 0, **kwargs: Any) -> None:
        self.min_value = min_value
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        # Compact only when it reads back exactly (4,194,304 stays; 2,000,000,000,000 → 2T).
        if isinstance(value, int) and value >= 10_000:
            compact = format_count(value, "en")
            return compact if parse_count(compact) == value else f"{value:,}"
        return value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            count = _count(value)
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if count < self.min_value:
            raise forms.ValidationError(
                _("Must be at least %(min)s.") % {"min": self.min_value}, code="min_value"
            )
        return count


class LadderField(forms.CharField):
    """Scaling-ladder steps (``1B, 8B, 64B``); empty: the core's default; ``none``: no ladder."""

    def prepare_value(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value or ""
        if value == []:
            return "none"
        return ", ".join(
            format_count(v, "en") if parse_count(format_count(v, "en")) == v else f"{v:,}"
            for v in value
        )

    def to_python(self, value: Any) -> list[int] | None:  # type: ignore[override]
        value = (super().to_python(value) or "").strip()
        if not value:
            return None
        if value.lower() in ("none", "0", "-", "无"):
            return []
        try:
            if len(value) > 500 or _TOO_LONG.search(value):
                raise ValueError(value)
            steps = parse_count_list(value)
        except (ValueError, ArithmeticError) as exc:
            raise forms.ValidationError(
                _("Write model sizes separated by commas, e.g. 1B, 8B, 64B (or none).")
            ) from exc
        if any(step <= 0 for step in steps):
            raise forms.ValidationError(_("Each step must be a size above zero."))
        if any(step > MAX_LADDER_PARAMS for step in steps):
            raise forms.ValidationError(_("Each step must be at most 100,000B parameters."))
        return sorted(steps)


class VersionMixin(forms.Form):
    """The scenario version the form was loaded at (optimistic lock)."""

    # The column is a PositiveIntegerField: past its range a lookup cannot match anyway.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


# --- programs ------------------------------------------------------------------------------


class ProgramForm(forms.ModelForm):
    # When the form was loaded (the program's updated_at): an optimistic lock like a version.
    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left empty (or not sent by an older page): the program's value, 20% for a new one.
        self.fields["alert_threshold"].required = False
        if self.instance.pk and "loaded_at" not in self.initial:
            self.initial["loaded_at"] = self.instance.updated_at.isoformat()
        if self.instance.pk:
            # A switch converts every amount (services.program_update); say so, with the rate.
            self.fields["currency"].help_text = _(
                "Changing the currency converts every amount of this program and of all its "
                "scenarios (budget cap, prices, monthly costs, data and labelling costs) at the "
                "exchange rate below, now 1 USD = %(rate)s CNY; the History tab lists each "
                "amount, before and after. Change the budget cap in a separate save."
            ) % {"rate": format(self.instance.usd_to_cny.normalize(), "f")}

    def clean_alert_threshold(self) -> int:
        value = self.cleaned_data.get("alert_threshold")
        if value is None:
            return self.instance.alert_threshold if self.instance.pk else 20
        return int(value)

    class Meta:
        model = Program
        fields = [
            "name",
            "goal",
            "deadline",
            "budget_cap",
            "currency",
            "usd_to_cny",
            "alert_threshold",
        ]
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 2}),
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class ProgramCreateForm(ProgramForm):
    organization = forms.ModelChoiceField(queryset=None, label=_("organization"), empty_label=None)
    strategy = forms.ChoiceField(
        choices=Strategy.choices,
        label=_("first scenario's strategy"),
        help_text=_("You can add scenarios of other strategies later."),
    )

    class Meta(ProgramForm.Meta):
        fields = ["organization", *ProgramForm.Meta.fields]

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
        if organizations.count() == 1:
            self.fields["organization"].widget = forms.HiddenInput()
            self.fields["organization"].initial = organizations.first()


class BlueprintForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("organization"), empty_label=None)
    blueprint = forms.ChoiceField(label=_("template"), widget=forms.RadioSelect)
    name = forms.CharField(
        label=_("program name"),
        max_length=200,
        required=False,
        strip=True,
        help_text=_("Leave it empty to use the template's name; you can rename it later."),
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
        if organizations.count() == 1:
            self.fields["organization"].widget = forms.HiddenInput()
            self.fields["organization"].initial = organizations.first()
        self.fields["blueprint"].choices = [  # type: ignore[attr-defined]
            (b.key, b.name) for b in blueprint_list()
        ]


class ScenarioCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("name"))
    strategy = forms.ChoiceField(choices=Strategy.choices, label=_("strategy"))


class RenameForm(VersionMixin):
    name = forms.CharField(max_length=200, label=_("name"))


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("JSON or YAML file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.yaml,.yml"}),
    )
    text = forms.CharField(
        label=_("…or paste it here"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload:
            if upload.size > 1_000_000:
                raise forms.ValidationError(_("The file is larger than 1 MB."))
            try:
                data["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
        if not (data.get("text") or "").strip():
            raise forms.ValidationError(_("Choose a file or paste a scenario document."))
        return data


# --- scenario tabs -------------------------------------------------------------------------


class ScenarioFormBase(VersionMixin, forms.ModelForm):
    """A tab of the scenario: ``plan_paths`` maps form fields to the plan's field paths, so that
    the rules' findings are shown next to their field."""

    plan_paths: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "version" not in self.initial:
            self.initial["version"] = self.instance.version
        for field in self.fields.values():
            if isinstance(field.widget, forms.DateInput):
                field.widget.input_type = "date"
                field.widget.format = "%Y-%m-%d"


class StrategyForm(ScenarioFormBase):
    ladder = LadderField(
        required=False,
        label=_("scaling-ladder steps"),
        help_text=_(
            "Model sizes trained before the full run, e.g. 1B, 8B, 64B. Empty: about 8× apart "
            "below the target (Yi Tay 2024); none: a single run."
        ),
    )
    rag_corpus_tokens = CountField(min_value=1, label=_("knowledge-base tokens"))

    plan_paths = {
        "strategy": "strategy",
        "ladder": "ladder",
        "full_runs": "full_runs",
        "sft_samples": "sft.samples",
    }

    class Meta:
        model = Scenario
        fields = [
            "strategy",
            "description",
            "start_date",
            "with_sft",
            "rlhf_method",
            "with_rag",
            "with_serving",
            "ladder",
            "full_runs",
            "contingency_pct",
            "sft_samples",
            "sft_tokens_per_sample",
            "sft_epochs",
            "sft_runs",
            "sft_cost_per_sample",
            "rlhf_preference_pairs",
            "serving_requests_per_day",
            "serving_tokens_per_request",
            "serving_months",
            "serving_price_per_million_tokens",
            "rag_corpus_tokens",
            "rag_embedding_price_per_million_tokens",
            "rag_vector_db_monthly",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "full_runs": _("GPT-3 was reportedly trained several times (OneMoreAI 2023)."),
            "sft_samples": _("Hundreds to ~100k samples (vertical-LLM survey 2023)."),
            # xgettext:no-python-format
            "with_sft": _("Instruction tuning gives ~80% of the alignment gain (OneMoreAI 2023)."),
        }


class TargetModelForm(ScenarioFormBase):
    training_tokens = CountField(
        min_value=0,
        label=_("token budget"),
        help_text=_("e.g. 2T, 300B. From scratch starts at ~2T tokens (Huang Wenhao 2023)."),
    )
    global_batch_tokens = CountField(min_value=1, label=_("global batch (tokens)"))

    plan_paths = {
        "model_preset": "model",
        "training_tokens": "training.tokens",
        "precision": "training.precision",
    }

    class Meta:
        model = Scenario
        fields = [
            "model_preset",
            "custom_params_b",
            "custom_layers",
            "custom_hidden",
            "custom_heads",
            "custom_ffn_hidden",
            "custom_kv_heads",
            "custom_vocab",
            "training_tokens",
            "precision",
            "seq_len",
            "global_batch_tokens",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model_preset"]
        field.queryset = model_preset_list()  # type: ignore[attr-defined]
        field.empty_label = _("— custom architecture —")  # type: ignore[attr-defined]
        language = get_language() or "en"
        field.label_from_instance = lambda p: (  # type: ignore[attr-defined]
            f"{p.name} · {format_count(p.params, language)}"
            + (
                f" ({format_count(p.active_params, language)} active)"
                if p.active_params != p.params
                else ""
            )
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Training GPUs must have tensor cores for the precision (V100 has no BF16).
        precision = data.get("precision")
        if precision and self.instance.pk:
            for line in self.instance.budget_lines.select_related("gpu_type"):
                if line.purpose in (Purpose.TRAINING, Purpose.EXPERIMENTS, Purpose.SFT):
                    finding = rules.check_precision(
                        precision, line.gpu_type.name, line.gpu_type.precisions
                    )
                    if finding:
                        self.add_error("precision", message(finding))
                        break
        return data


# --- lines ---------------------------------------------------------------------------------


class LineFormBase(VersionMixin, forms.ModelForm):
    """A line of a scenario; ``scenario`` gives the context some checks need."""

    def __init__(self, *args: Any, scenario: Scenario, **kwargs: Any) -> None:
        self.scenario = scenario
        super().__init__(*args, **kwargs)
        if "version" not in self.initial:
            self.initial["version"] = scenario.version
        for field in self.fields.values():
            if isinstance(field.widget, forms.DateInput):
                field.widget.input_type = "date"
                field.widget.format = "%Y-%m-%d"


class GPUBudgetLineForm(LineFormBase):
    class Meta:
        model = GPUBudgetLine
        fields = [
            "purpose",
            "gpu_type",
            "gpu_count",
            "mode",
            "price_per_gpu_hour",
            "provider",
            "start_date",
            "months",
            "delivery_risk",
            "reliability_class",
            "checkpoint_storage_gbps",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.scenario.program.currency
        gpu = self.fields["gpu_type"]
        gpu.queryset = gpu_type_list()  # type: ignore[attr-defined]
        gpu.label_from_instance = lambda g: (  # type: ignore[attr-defined]
            f"{g.name} · {g.price(currency)} {currency}/h"
        )
        self.fields["gpu_count"].min_value = 0  # zero is named by its rule, not a bare minimum
        self.fields["price_per_gpu_hour"].help_text = _(
            "Empty: the catalog price of the GPU type (%(currency)s per GPU-hour)."
        ) % {"currency": currency}
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("start_date", self.scenario.start_date)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, program_start = data.get("start_date"), self.scenario.start_date
        # A date outside the plan's window is named as such by the model's validator.
        in_window = start is not None and rules.check_date_window(start) is None
        if in_window and program_start and start < program_start:
            self.add_error(
                "start_date",
                _(
                    "Starts before the scenario (%(date)s): the plan pays GPUs from the "
                    "scenario's start on. Move this line or the scenario's start date."
                )
                % {"date": date_format(program_start, "SHORT_DATE_FORMAT")},
            )
        gpu = data.get("gpu_type")
        if gpu and data.get("purpose") in (Purpose.TRAINING, Purpose.EXPERIMENTS, Purpose.SFT):
            finding = rules.check_precision(self.scenario.precision, gpu.name, gpu.precisions)
            if finding:
                self.add_error("gpu_type", message(finding))
        return data


class TeamLineForm(LineFormBase):
    class Meta:
        model = TeamLine
        fields = [
            "role",
            "headcount",
            "monthly_cost",
            "allocation_pct",
            "start_date",
            "end_date",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        program = self.scenario.program
        role = self.fields["role"]
        role.queryset = role_template_list()  # type: ignore[attr-defined]
        role.label_from_instance = lambda r: (  # type: ignore[attr-defined]
            f"{_(r.name)} · {r.monthly_cost(program.currency, program.usd_to_cny):,.0f} "
            f"{program.currency}"
        )
        self.fields["monthly_cost"].help_text = _(
            "Empty: the role's salary (vertical-LLM survey 2023; %(currency)s per month)."
        ) % {"currency": program.currency}
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("start_date", self.scenario.start_date)
            self.initial.setdefault("end_date", program.deadline)


class DatasetForm(LineFormBase):
    tokens = CountField(min_value=1, label=_("tokens"))

    class Meta:
        model = Dataset
        fields = [
            "name",
            "tokens",
            "stage",
            "kind",
            "language",
            "source",
            "licence",
            "quality",
            "cleaning",
            "cost",
            "ready_date",
        ]


LINE_FORMS: dict[str, type[LineFormBase]] = {
    "gpus": GPUBudgetLineForm,
    "team": TeamLineForm,
    "data": DatasetForm,
}
TAB_FORMS: dict[str, type[ScenarioFormBase]] = {
    "strategy": StrategyForm,
    "model": TargetModelForm,
}
