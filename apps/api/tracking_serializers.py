"""Serializers of tracking over the API: approving a run, the approved baselines, actuals.

The request serializers document the body; the rules are the services' (``apps.tracking``),
which the form and the CSV upload of the Tracking page share.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api.money import money
from apps.api.serializers import MoneySerializer
from apps.tracking.models import NOTE_MAX_LENGTH, ActualReport, ApprovedBaseline
from llmplanner.simulation.program import CATEGORIES

CATEGORY_LIST = ", ".join(CATEGORIES)


class ApproveRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    run = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="A succeeded run of this scenario."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, help_text="Why, by whom."
    )


class BaselineSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    current = serializers.SerializerMethodField(
        help_text="True for the baseline in force; false once a later approval superseded it."
    )
    approved_by = serializers.CharField(source="approved_by_name", read_only=True)
    superseded_by = serializers.SerializerMethodField(help_text="The baseline that replaced it.")
    superseded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField(help_text="The approved report's currency.")
    cost_p50 = serializers.SerializerMethodField()
    cost_p90 = serializers.SerializerMethodField()
    finish_date_p50 = serializers.SerializerMethodField()
    finish_date_p90 = serializers.SerializerMethodField()

    class Meta:
        model = ApprovedBaseline
        fields = [
            "id",
            "scenario",
            "run",
            "current",
            "approved_by",
            "approved_at",
            "note",
            "core_version",
            "pdf_sha256",
            "hash_of",
            "supersedes",
            "superseded_by",
            "superseded_at",
            "currency",
            "cost_p50",
            "cost_p90",
            "finish_date_p50",
            "finish_date_p90",
        ]
        extra_kwargs = {
            "pdf_sha256": {
                "help_text": "SHA-256 of the run's latest ready PDF export at approval "
                "(`hash_of`: pdf), else of the report as canonical JSON — keys sorted, no "
                "spaces, UTF-8 (`hash_of`: report)."
            }
        }

    def get_current(self, baseline: ApprovedBaseline) -> bool:
        return baseline.is_current

    def get_superseded_by(self, baseline: ApprovedBaseline) -> int | None:
        successor = baseline.superseded_by
        return successor.pk if successor is not None else None

    def get_currency(self, baseline: ApprovedBaseline) -> str:
        return str((baseline.report.get("plan") or {}).get("currency", "CNY"))

    def _cost(self, baseline: ApprovedBaseline, key: str) -> dict[str, str] | None:
        cost = ((baseline.report.get("totals") or {}).get("cost") or {}).get(key)
        return None if cost is None else money(cost, self.get_currency(baseline))

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_cost_p50(self, baseline: ApprovedBaseline) -> dict[str, str] | None:
        return self._cost(baseline, "p50")

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_cost_p90(self, baseline: ApprovedBaseline) -> dict[str, str] | None:
        return self._cost(baseline, "p90")

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_finish_date_p50(self, baseline: ApprovedBaseline) -> str | None:
        return (baseline.report.get("totals") or {}).get("finish_date_p50")

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_finish_date_p90(self, baseline: ApprovedBaseline) -> str | None:
        return (baseline.report.get("totals") or {}).get("finish_date_p90")


class ActualReportRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The body of ``POST /scenarios/{id}/actuals/`` (documentation: the service checks it)."""

    date = serializers.DateField(
        help_text="YYYY-MM-DD: not before the approved plan's start (or the approval day), "
        "not in the future."
    )
    tokens_trained = serializers.FloatField(
        min_value=0,
        required=False,
        help_text="Tokens of the stage so far (cumulative). Required for the main run.",
    )
    elapsed_days = serializers.FloatField(
        min_value=0, help_text="Days since the stage started (0: not started)."
    )
    gpu_hours = serializers.FloatField(
        min_value=0,
        required=False,
        help_text="GPU-hours so far (cumulative). Required for the main run.",
    )
    interruptions = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="Interruptions so far (cumulative). Required for the main run.",
    )
    loss_spikes = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="Loss spikes so far (cumulative). Required for the main run.",
    )
    observed_mfu = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="0 < MFU ≤ 1; the main run only.",
    )
    progress = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="Share of a stage's work done, 0–1 (1: finished). Not for the main run (its "
        "tokens say it); SFT and DPO may send tokens_trained instead.",
    )
    spend = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text=f"Money spent to date (cumulative) by category ({CATEGORY_LIST}) as decimal "
        "strings; a category left out is not reported.",
    )
    # A pattern, not a choice: another enum of the same name would collide in the schema.
    currency = serializers.RegexField(
        r"^(CNY|USD)$", required=False, help_text="CNY or USD; default: the program's."
    )
    usd_to_cny = serializers.CharField(
        required=False,
        help_text="Required when `currency` is not the program's: the amounts are converted "
        "at this rate and stored in the program's currency.",
    )
    stage = serializers.CharField(
        required=False,
        help_text='A stage key of the approved plan (its report\'s stages: "main", "data", '
        '"burn_in", "sft", "rlhf", "eval", "release", "ingest", …; not team, storage or '
        'serving). Default "main".',
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH)


class WithdrawRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    report = serializers.IntegerField(help_text="The id of the scenario's latest report.")
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, help_text="Why."
    )


class ActualReportSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    spend = serializers.SerializerMethodField(
        help_text="Cumulative spend by category, in the program's currency when posted."
    )
    as_sent = serializers.SerializerMethodField(
        help_text="The amounts as sent and the rate they were converted at; null when they "
        "came in the program's currency."
    )
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = ActualReport
        fields = [
            "id",
            "scenario",
            "baseline",
            "date",
            "stage",
            "tokens_trained",
            "elapsed_days",
            "gpu_hours",
            "interruptions",
            "loss_spikes",
            "observed_mfu",
            "progress",
            "spend",
            "as_sent",
            "note",
            "source",
            "created_by",
            "created_at",
            "withdrawn_at",
            "withdrawn_by_name",
            "withdrawal_note",
        ]

    @extend_schema_field(serializers.DictField(child=MoneySerializer()))
    def get_spend(self, report: ActualReport) -> dict[str, Any]:
        return {k: money(v, report.spend_currency) for k, v in report.spend.items()}

    @extend_schema_field(
        serializers.JSONField(
            allow_null=True,
            help_text='e.g. {"currency": "USD", "usd_to_cny": "7.1000", "spend": '
            '{"gpu_compute": "150000.00"}}',
        )
    )
    def get_as_sent(self, report: ActualReport) -> dict[str, Any] | None:
        if report.usd_to_cny is None:
            return None
        return {
            "currency": report.currency,
            "usd_to_cny": str(report.usd_to_cny),
            "spend": dict(report.spend_sent),
        }

    def get_created_by(self, report: ActualReport) -> str | None:
        return report.created_by.get_username() if report.created_by else None


class ForecastBaselineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    finish_date_p50 = serializers.DateField(allow_null=True)
    finish_date_p90 = serializers.DateField(allow_null=True)
    finish_days_p50 = serializers.FloatField()
    cost_p50 = serializers.DecimalField(max_digits=20, decimal_places=2)
    cost_p90 = serializers.DecimalField(max_digits=20, decimal_places=2)
    main_start_date_p50 = serializers.DateField(allow_null=True)
    main_finish_date_p50 = serializers.DateField(allow_null=True)
    tokens = serializers.FloatField(
        allow_null=True, help_text="The main run's tokens (all its full runs); null: no main run."
    )
    p_miss_deadline = serializers.FloatField(allow_null=True)
    p_over_budget = serializers.FloatField(allow_null=True)


class ForecastObservedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    throughput_tokens_per_day = serializers.FloatField(allow_null=True)
    effective_training_time = serializers.FloatField(allow_null=True)
    interruptions_per_day = serializers.FloatField(allow_null=True)
    loss_spikes_per_day = serializers.FloatField(allow_null=True)
    observed_mfu = serializers.FloatField(allow_null=True)


class ForecastVarianceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    finish_days = serializers.FloatField(help_text="Forecast finish P50 − approved, days.")
    cost = serializers.DecimalField(
        max_digits=20, decimal_places=2, help_text="Forecast cost P50 − approved cost P50."
    )
    by_category = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=2),
        help_text=f"Per category ({CATEGORY_LIST}), forecast P50 − approved P50.",
    )


class ForecastMainRunSerializer(serializers.Serializer):  # type: ignore[type-arg]
    tokens_trained = serializers.FloatField()
    remaining_tokens = serializers.FloatField()
    finish_date_p50 = serializers.DateField()
    finish_date_p90 = serializers.DateField()


class ForecastStageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    key = serializers.CharField()
    name = serializers.CharField(help_text="In English.")
    status = serializers.ChoiceField(
        choices=["planned", "not_started", "running", "likely_done", "done"],
        help_text="planned: not reported; likely_done: reported running, but its forecast end "
        "(P90) is past on the forecast's day.",
    )
    progress = serializers.FloatField(allow_null=True)
    reported_on = serializers.DateField(allow_null=True)
    planned_finish_date_p50 = serializers.DateField()
    finish_date_p50 = serializers.DateField()
    finish_date_p90 = serializers.DateField()
    finish_days_variance = serializers.FloatField(help_text="Forecast finish P50 − planned, days.")


class ForecastPosteriorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    throughput_multiplier = serializers.FloatField(
        help_text="Posterior mean of measured ÷ planned raw training rate."
    )
    data_weight = serializers.FloatField(
        help_text="Share of the posterior the reports carry against the model's prior (0–1)."
    )
    failures_per_day = serializers.FloatField()


class ForecastSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=["succeeded"])
    baseline_id = serializers.IntegerField()
    last_actual = serializers.IntegerField(allow_null=True)
    as_of = serializers.DateField()
    currency = serializers.CharField()
    baseline = ForecastBaselineSerializer()
    finish_date_p50 = serializers.DateField()
    finish_date_p90 = serializers.DateField()
    cost_p50 = serializers.DecimalField(max_digits=20, decimal_places=2)
    cost_p90 = serializers.DecimalField(max_digits=20, decimal_places=2)
    p_miss_deadline = serializers.FloatField(allow_null=True)
    p_over_budget = serializers.FloatField(allow_null=True)
    observed = ForecastObservedSerializer()
    variance = ForecastVarianceSerializer()
    estimate_at_completion = serializers.DecimalField(max_digits=20, decimal_places=2)
    estimate_at_completion_p90 = serializers.DecimalField(max_digits=20, decimal_places=2)
    cost_to_complete = serializers.DecimalField(max_digits=20, decimal_places=2)
    spent_to_date = serializers.DecimalField(max_digits=20, decimal_places=2)
    spent_from_plan = serializers.ListField(
        child=serializers.CharField(),
        help_text="Categories the last report left out, taken as the plan spent them.",
    )
    main_run = ForecastMainRunSerializer(allow_null=True, help_text="null: no main run.")
    posterior = ForecastPosteriorSerializer(allow_null=True)
    stages = ForecastStageSerializer(many=True)
    drivers = serializers.ListField(
        child=serializers.CharField(), help_text="What moved the forecast, in English."
    )
    alerts = serializers.ListField(child=serializers.DictField())


class ForecastPendingSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=["queued", "running"])
    baseline_id = serializers.IntegerField()
    last_actual = serializers.IntegerField(allow_null=True)
