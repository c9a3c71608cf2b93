"""The portfolio's answers as the schema documents them (``apps.api.portfolio_views`` builds the
dicts; these serializers describe them, with unique names for the OpenAPI components)."""

from __future__ import annotations

from rest_framework import serializers

from apps.api.serializers import CUMULATIVE_HELP, MoneySerializer

NO_CAP = "Null without a budget cap."


class PortfolioRiskSerializer(serializers.Serializer):  # type: ignore[type-arg]
    title = serializers.CharField(help_text="The risk as the run's register names it.")
    likelihood = serializers.FloatField(help_text="0 to 1.")


class PortfolioAlertSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=["p_miss_deadline", "p_over_budget"])
    value = serializers.FloatField(help_text="0 to 1.")
    threshold = serializers.FloatField(help_text="The program's alert threshold, 0 to 1.")
    as_of = serializers.DateField(help_text="The date of the report the forecast is as of.")


class PortfolioProgramSerializer(serializers.Serializer):  # type: ignore[type-arg]
    program = serializers.IntegerField()
    name = serializers.CharField()
    organization = serializers.CharField(help_text="The organization's slug.")
    scenario = serializers.IntegerField(
        allow_null=True, help_text="The baseline scenario, else the first; null without one."
    )
    scenario_name = serializers.CharField(allow_null=True)
    strategy = serializers.CharField(allow_null=True, help_text="from_scratch, cpt, sft, rag, icl")
    status = serializers.CharField(
        help_text="The scenario's latest run: no_run, running (queued or running), done, failed."
    )
    run = serializers.IntegerField(
        allow_null=True, help_text="The latest successful run: the figures' source."
    )
    latest_run = serializers.IntegerField(allow_null=True, help_text="The run `status` is of.")
    run_finished_at = serializers.DateTimeField(allow_null=True)
    budget_cap = MoneySerializer(allow_null=True, help_text=NO_CAP)
    deadline = serializers.DateField(allow_null=True)
    cost_p50 = MoneySerializer(allow_null=True, help_text="Total cost, P50 over the trials.")
    cost_p90 = MoneySerializer(allow_null=True, help_text="Total cost, P90 over the trials.")
    finish_date_p50 = serializers.DateField(
        allow_null=True, help_text="Null for a plan without a start date: see finish_days_p50."
    )
    finish_date_p90 = serializers.DateField(allow_null=True)
    finish_days_p50 = serializers.FloatField(allow_null=True, help_text="Days from the start.")
    finish_days_p90 = serializers.FloatField(allow_null=True, help_text="Days from the start.")
    p_over_budget = serializers.FloatField(allow_null=True, help_text="0 to 1. " + NO_CAP)
    p_miss_deadline = serializers.FloatField(
        allow_null=True, help_text="0 to 1. Null without a deadline."
    )
    top_risk = PortfolioRiskSerializer(allow_null=True)
    alerts = PortfolioAlertSerializer(
        many=True,
        help_text="Probabilities the latest forecast from the actuals puts above the program's "
        "alert threshold (empty without an approved baseline or a forecast).",
    )


class PortfolioTotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    programs = serializers.IntegerField()
    simulated = serializers.IntegerField(help_text="Programs with a successful run.")
    cost_p50_sum = MoneySerializer(
        help_text="The programs' cost P50s added up (not a percentile of the portfolio)."
    )


class PortfolioSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.CharField()
    programs = PortfolioProgramSerializer(many=True)
    totals = PortfolioTotalsSerializer()


class PortfolioBudgetRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    month = serializers.CharField(
        help_text="YYYY-MM when the program's plan has a start date, else M1, M2, …"
    )
    program = serializers.IntegerField()
    program_name = serializers.CharField()
    scenario = serializers.IntegerField()
    run = serializers.IntegerField()
    category = serializers.CharField()
    p50 = MoneySerializer(help_text="Per-month percentile: this month's spend on this category.")
    p90 = MoneySerializer(
        help_text="Per-month percentile: this month's spend on this category. Monthly P90s do "
        "not add up to a P90."
    )
    cumulative_p50 = MoneySerializer(help_text=CUMULATIVE_HELP)
    cumulative_p90 = MoneySerializer(
        allow_null=True,
        help_text=CUMULATIVE_HELP + " Null for a run stored before the simulation gave it.",
    )


class PortfolioBudgetProgramSerializer(serializers.Serializer):  # type: ignore[type-arg]
    program = serializers.IntegerField()
    name = serializers.CharField()
    scenario = serializers.IntegerField()
    run = serializers.IntegerField()
    run_finished_at = serializers.DateTimeField(allow_null=True)
    core_version = serializers.CharField(allow_null=True)
    plan_currency = serializers.CharField(help_text="The currency the run was simulated in.")
    usd_to_cny = serializers.CharField(help_text="The run's rate, used to convert its amounts.")
    calendar = serializers.BooleanField(help_text="Its months are calendar months (YYYY-MM).")
    program_p50 = MoneySerializer(help_text="The program's total cost P50.")
    program_p90 = MoneySerializer(help_text="The program's total cost P90.")


class PortfolioNotSimulatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    program = serializers.IntegerField()
    name = serializers.CharField()


class PortfolioBudgetTotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    rows_p50_sum = MoneySerializer(help_text="The rows' p50 added up.")
    rows_p90_sum = MoneySerializer(help_text="The rows' p90 added up (not a P90).")


class PortfolioBudgetSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.CharField()
    programs = PortfolioBudgetProgramSerializer(many=True)
    not_simulated = PortfolioNotSimulatedSerializer(many=True)
    rows = PortfolioBudgetRowSerializer(many=True)
    totals = PortfolioBudgetTotalsSerializer()
