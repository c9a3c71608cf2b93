"""Module-level serializers with unique names (nested ``OutputSerializer`` classes collide in the
OpenAPI schema). Output serializers read rows; input serializers only check types and ranges —
the services (``apps.programs.services``) own the rules, so the UI and the API apply the same ones.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.api.money import money
from apps.programs.models import (
    Dataset,
    DeliveryRisk,
    GPUBudgetLine,
    Program,
    Purpose,
    ReliabilityClass,
    RentOrBuy,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.reports.models import Export
from apps.runs.models import PlanRun


class MoneySerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = serializers.CharField(help_text="A decimal string, two places: never a float.")
    currency = serializers.ChoiceField(choices=["CNY", "USD"])


class ErrorBodySerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    error = ErrorBodySerializer()


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A program",
            response_only=True,
            value={
                "id": 1,
                "organization": "demo-lab",
                "name": "GPT-3-class 175B from scratch",
                "goal": "",
                "deadline": "2027-12-31",
                "budget_cap": {"amount": "200000000.00", "currency": "CNY"},
                "currency": "CNY",
                "usd_to_cny": "7.2000",
                "archived": False,
                "created_at": "2026-11-24T05:00:00Z",
                "updated_at": "2026-11-24T05:00:00Z",
            },
        )
    ]
)
class ProgramSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    budget_cap = serializers.SerializerMethodField()
    usd_to_cny = serializers.DecimalField(max_digits=8, decimal_places=4, coerce_to_string=True)
    archived = serializers.SerializerMethodField()
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Program
        fields = [
            "id",
            "organization",
            "name",
            "goal",
            "deadline",
            "budget_cap",
            "currency",
            "usd_to_cny",
            "alert_threshold",
            "archived",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_budget_cap(self, obj: Program) -> dict[str, str] | None:
        return money(obj.budget_cap, obj.currency) if obj.budget_cap is not None else None

    def get_archived(self, obj: Program) -> bool:
        return obj.archived_at is not None


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A scenario",
            response_only=True,
            value={
                "id": 1,
                "program": 1,
                "name": "A: 175B on 1,024 A800",
                "description": "",
                "version": 3,
                "etag": '"v3"',
                "is_baseline": True,
                "archived": False,
                "strategy": "from_scratch",
                "start_date": "2027-01-04",
                "model_preset": "gpt3-175b",
                "custom_params_b": None,
                "training_tokens": 300000000000,
                "precision": "bf16",
                "full_runs": 2,
                "contingency_pct": "10.0",
                "created_at": "2026-11-24T05:00:00Z",
                "updated_at": "2026-11-24T05:00:00Z",
            },
        )
    ]
)
class ScenarioSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    archived = serializers.SerializerMethodField()
    model_preset = serializers.SlugRelatedField(slug_field="key", read_only=True)
    etag = serializers.SerializerMethodField(
        help_text="Send it back as If-Match when you change a line."
    )

    class Meta:
        model = Scenario
        fields = [
            "id",
            "program",
            "name",
            "description",
            "version",
            "etag",
            "is_baseline",
            "archived",
            "strategy",
            "start_date",
            "model_preset",
            "custom_params_b",
            "training_tokens",
            "precision",
            "full_runs",
            "contingency_pct",
            "created_at",
            "updated_at",
        ]

    def get_archived(self, obj: Scenario) -> bool:
        return obj.archived_at is not None

    def get_etag(self, obj: Scenario) -> str:
        return scenario_etag(obj.version)


RUN_EXAMPLE = {
    "id": 7,
    "scenario": 1,
    "scenario_version": 3,
    "status": "succeeded",
    "progress": 100,
    "phase": "done",
    "trials": 2000,
    "seed": 0,
    "core_version": "0.1.0",
    "error": "",
    "reused_from": None,
    "queue_position": None,
    "created_at": "2026-11-24T05:00:00Z",
    "started_at": "2026-11-24T05:00:01Z",
    "finished_at": "2026-11-24T05:00:02Z",
}


@extend_schema_serializer(examples=[OpenApiExample("A run", response_only=True, value=RUN_EXAMPLE)])
class RunSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    queue_position = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=(
            "Its place in the organization's queue while it waits for a free worker slot "
            "(1 = next; `ORG_MAX_IN_FLIGHT` jobs per organization run at once); null once sent."
        ),
    )

    class Meta:
        model = PlanRun
        fields = [
            "id",
            "scenario",
            "scenario_version",
            "status",
            "progress",
            "phase",
            "trials",
            "seed",
            "core_version",
            "error",
            "reused_from",
            "queue_position",
            "created_at",
            "started_at",
            "finished_at",
        ]


PUBLISHED_CALIBRATION = {
    "source": "published",
    "throughput_factor": 1.0,
    "failure_factor": 1.0,
    "runs": 0,
}


class RunCalibrationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    source = serializers.ChoiceField(
        choices=["published", "organization"],
        help_text="`published`: the step-time model fitted to published benchmark runs; "
        "`organization`: the organization's own factors, fitted from its completed runs.",
    )
    throughput_factor = serializers.FloatField(
        help_text="Measured ÷ predicted training throughput applied to every training stage "
        "(1 for the published calibration)."
    )
    failure_factor = serializers.FloatField(
        help_text="Observed ÷ expected interruptions applied to the failure model (1 for the "
        "published calibration)."
    )
    runs = serializers.IntegerField(
        help_text="The organization's completed runs the factors were fitted on (0: published)."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A finished run",
            response_only=True,
            value={
                **RUN_EXAMPLE,
                "calibration": {
                    "source": "organization",
                    "throughput_factor": 0.85,
                    "failure_factor": 1.4,
                    "runs": 3,
                },
                "result": {
                    "plan": {"name": "…", "currency": "CNY"},
                    "totals": {
                        "cost": {"p10": 1.6e7, "p50": 1.8e7, "p90": 2.1e7},
                        "finish_days": {"p10": 106, "p50": 120, "p90": 156},
                    },
                },
            },
        )
    ]
)
class RunDetailSerializer(RunSerializer):
    result = serializers.JSONField(
        help_text="The core's report (totals, main run, stages, monthly, milestones, risks, "
        "data checks); null until the run succeeds."
    )
    calibration = serializers.SerializerMethodField(
        help_text="Where the run's efficiency came from (the report's `plan.calibration`); null "
        "until the run succeeds."
    )

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "calibration", "result"]

    @extend_schema_field(RunCalibrationSerializer(allow_null=True))
    def get_calibration(self, run: PlanRun) -> dict[str, Any] | None:
        if not run.result:
            return None
        # A report from before core 0.4.0 carries no section: it used the published calibration.
        section = (run.result.get("plan") or {}).get("calibration") or PUBLISHED_CALIBRATION
        return {key: section.get(key, PUBLISHED_CALIBRATION[key]) for key in PUBLISHED_CALIBRATION}


class RunCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    trials = serializers.IntegerField(min_value=1, max_value=20_000, default=2000)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A GPU budget line",
            response_only=True,
            value={
                "id": 3,
                "scenario": 1,
                "purpose": "training",
                "provider": "",
                "gpu_type": "a800-80gb",
                "gpu_count": 1024,
                "mode": "rent",
                "price_per_gpu_hour": {"amount": "5.20", "currency": "CNY"},
                "effective_price": {"amount": "5.20", "currency": "CNY"},
                "start_date": "2027-01-04",
                "months": "6.0",
                "delivery_risk": "standard",
                "reliability_class": "standard",
                "checkpoint_storage_gbps": 20.0,
                "updated_at": "2026-11-24T05:00:00Z",
            },
        )
    ]
)
class BudgetLineSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    gpu_type = serializers.SlugRelatedField(slug_field="key", read_only=True)
    price_per_gpu_hour = serializers.SerializerMethodField(
        help_text="The line's own price; null = the catalog's."
    )
    effective_price = serializers.SerializerMethodField(help_text="The price the plan uses.")
    months = serializers.DecimalField(max_digits=5, decimal_places=1, coerce_to_string=True)

    class Meta:
        model = GPUBudgetLine
        fields = [
            "id",
            "scenario",
            "purpose",
            "provider",
            "gpu_type",
            "gpu_count",
            "mode",
            "price_per_gpu_hour",
            "effective_price",
            "start_date",
            "months",
            "delivery_risk",
            "reliability_class",
            "checkpoint_storage_gbps",
            "updated_at",
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_price_per_gpu_hour(self, obj: GPUBudgetLine) -> dict[str, str] | None:
        currency = obj.scenario.program.currency
        return (
            money(obj.price_per_gpu_hour, currency) if obj.price_per_gpu_hour is not None else None
        )

    @extend_schema_field(MoneySerializer())
    def get_effective_price(self, obj: GPUBudgetLine) -> dict[str, str]:
        return money(obj.effective_price(), obj.scenario.program.currency)


class BudgetLineWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A budget line's fields; on create ``scenario`` too. Prices in the program's currency."""

    scenario = serializers.IntegerField(min_value=1, required=False)
    purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)
    provider = serializers.CharField(max_length=120, required=False, allow_blank=True)
    gpu_type = serializers.SlugField(
        max_length=40, required=False, help_text="A GPU key, e.g. h100-80gb."
    )
    gpu_count = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    mode = serializers.ChoiceField(choices=RentOrBuy.choices, required=False)
    price_per_gpu_hour = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    start_date = serializers.DateField(required=False, allow_null=True)
    months = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=Decimal("0.1"), required=False
    )
    delivery_risk = serializers.ChoiceField(choices=DeliveryRisk.choices, required=False)
    reliability_class = serializers.ChoiceField(choices=ReliabilityClass.choices, required=False)
    checkpoint_storage_gbps = serializers.FloatField(
        min_value=0.1, max_value=100_000, required=False
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A team line",
            response_only=True,
            value={
                "id": 4,
                "scenario": 1,
                "role": "algorithm_researcher",
                "headcount": "8.0",
                "monthly_cost": {"amount": "39607.00", "currency": "CNY"},
                "allocation_pct": 100,
                "start_date": None,
                "end_date": None,
            },
        )
    ]
)
class TeamLineSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    role = serializers.SlugRelatedField(slug_field="key", read_only=True)
    headcount = serializers.DecimalField(max_digits=6, decimal_places=1, coerce_to_string=True)
    monthly_cost = serializers.SerializerMethodField()

    class Meta:
        model = TeamLine
        fields = [
            "id",
            "scenario",
            "role",
            "headcount",
            "monthly_cost",
            "allocation_pct",
            "start_date",
            "end_date",
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_monthly_cost(self, obj: TeamLine) -> dict[str, str] | None:
        currency = obj.scenario.program.currency
        return money(obj.monthly_cost, currency) if obj.monthly_cost is not None else None


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A dataset",
            response_only=True,
            value={
                "id": 5,
                "scenario": 1,
                "name": "Common Crawl (filtered)",
                "tokens": 410000000000,
                "language": "en",
                "kind": "general",
                "source": "web",
                "licence": "cleared",
                "quality": "medium",
                "cleaning": "cleaned",
                "cost": {"amount": "0.00", "currency": "CNY"},
                "stage": "pretrain",
            },
        )
    ]
)
class DatasetSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    cost = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "id",
            "scenario",
            "name",
            "tokens",
            "language",
            "kind",
            "source",
            "licence",
            "quality",
            "cleaning",
            "cost",
            "stage",
            "ready_date",
        ]

    @extend_schema_field(MoneySerializer())
    def get_cost(self, obj: Dataset) -> dict[str, str]:
        return money(obj.cost or 0, obj.scenario.program.currency)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A change",
            response_only=True,
            value={
                "id": 12,
                "scenario": 1,
                "actor": "alice",
                "action": "line_changed",
                "summary": "1024 × A800 (training)",
                "changes": [{"field": "price_per_gpu_hour", "old": "5.71", "new": "5.20"}],
                "version": 4,
                "created_at": "2026-11-24T05:20:00Z",
            },
        )
    ]
)
class ActivitySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    changes = serializers.JSONField(
        help_text='[{"field": …, "old": …, "new": …}] — what changed, from what to what.'
    )

    class Meta:
        model = ScenarioActivity
        fields = [
            "id",
            "scenario",
            "actor",
            "action",
            "summary",
            "changes",
            "version",
            "created_at",
        ]


CUMULATIVE_HELP = (
    "Percentile of the spend from the program's start to this month's end, all categories "
    "(the last month's equals the program's total cost percentile)."
)


class BudgetRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    month = serializers.CharField(
        help_text="YYYY-MM when the scenario has a start date, else M1, M2, …"
    )
    category = serializers.CharField()
    p50 = MoneySerializer(
        help_text="Per-month percentile: this month's spend on this category, on its own."
    )
    p90 = MoneySerializer(
        help_text="Per-month percentile: this month's spend on this category, on its own. "
        "Monthly P90s do not add up to a P90."
    )
    cumulative_p50 = MoneySerializer(help_text=CUMULATIVE_HELP)
    cumulative_p90 = MoneySerializer(
        allow_null=True,
        help_text=CUMULATIVE_HELP + " Null for a run stored before the simulation gave it.",
    )


class BudgetMonthSerializer(serializers.Serializer):  # type: ignore[type-arg]
    month = serializers.CharField(
        help_text="YYYY-MM when the scenario has a start date, else M1, M2, …"
    )
    month_p50 = MoneySerializer(help_text="Per-month percentile of the month's total spend.")
    month_p90 = MoneySerializer(help_text="Per-month percentile of the month's total spend.")
    cumulative_p50 = MoneySerializer(help_text=CUMULATIVE_HELP)
    cumulative_p90 = MoneySerializer(
        allow_null=True,
        help_text=CUMULATIVE_HELP + " Null for a run stored before the simulation gave it.",
    )


class BudgetCategoryTotalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    p50 = MoneySerializer()
    p90 = MoneySerializer()


class BudgetTotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    rows_p50_sum = MoneySerializer()
    rows_p90_sum = MoneySerializer()
    program_p50 = MoneySerializer()
    program_p90 = MoneySerializer()
    by_category = serializers.DictField(child=BudgetCategoryTotalSerializer())


class BudgetSerializer(serializers.Serializer):  # type: ignore[type-arg]
    scenario = serializers.IntegerField()
    run = serializers.IntegerField()
    run_finished_at = serializers.DateTimeField(allow_null=True)
    core_version = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    plan_currency = serializers.CharField()
    usd_to_cny = serializers.CharField()
    rows = BudgetRowSerializer(many=True)
    months = BudgetMonthSerializer(
        many=True, help_text="One per month of the range: its totals, per month and cumulative."
    )
    totals = BudgetTotalsSerializer()
    baseline = serializers.IntegerField(
        required=False,
        help_text="With `baseline=approved`: the approved baseline the rows come from.",
    )


def scenario_etag(version: int) -> str:
    return f'"v{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The scenario version an ``If-Match`` header names, or None when absent or not ours."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses (a 500).
    if re.fullmatch(r"v[0-9]{1,18}", value):
        return int(value[1:])
    return -1


def plain(values: dict[str, Any]) -> dict[str, Any]:
    return dict(values)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An export being rendered",
            response_only=True,
            value={
                "id": 7,
                "run": 42,
                "kind": "plan",
                "status": "rendering",
                "paper": "a4",
                "language": "en",
                "page_count": None,
                "size_bytes": None,
                "render_seconds": None,
                "error": "",
                "reused_from": None,
                "download": None,
                "created_at": "2026-11-24T05:00:00Z",
                "started_at": "2026-11-24T05:00:01Z",
                "finished_at": None,
            },
        )
    ]
)
class ExportSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    download = serializers.SerializerMethodField(
        help_text="Where to GET the PDF once `status` is `ready`; null before."
    )
    queue_position = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=(
            "Its place in the organization's queue while it waits for a free worker slot "
            "(1 = next; `ORG_MAX_IN_FLIGHT` jobs per organization run at once); null once sent."
        ),
    )

    class Meta:
        model = Export
        fields = [
            "id",
            "run",
            "kind",
            "status",
            "paper",
            "language",
            "page_count",
            "size_bytes",
            "render_seconds",
            "error",
            "reused_from",
            "queue_position",
            "download",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = ["kind"]
        extra_kwargs = {
            "kind": {
                "help_text": "What the PDF is: `plan` (the run's plan, for approval) or `status` "
                "(a status report of a scenario in execution: its forecast against the approved "
                "baseline, whose run is `run`)."
            }
        }

    def get_download(self, export: Export) -> str | None:
        if export.status != Export.Status.READY:
            return None
        return reverse("api:export-download", args=[export.pk])


class ExportCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    paper = serializers.ChoiceField(choices=Export.Paper.choices, default=Export.Paper.A4)
    language = serializers.ChoiceField(choices=Export.Language.choices, default=Export.Language.EN)
