"""A plan in execution: the approved baselines of a scenario and the actuals reported against
them.

An ``ApprovedBaseline`` freezes what was approved — the run's inputs and report, the core
version, who approved it, when, why, and a SHA-256 of the document they approved — and never
changes afterwards: saving an existing row, ``update()`` or ``delete()`` through its manager
and ``delete()`` on a row raise ``BaselineImmutable``. The admin shows it read-only.

**Supersession never touches the old row.** A new approval points at the one it replaces
(``supersedes``); the current baseline of a scenario is the one no other supersedes. Two
constraints keep each scenario's history one chain: a baseline is superseded at most once
(``supersedes`` is one-to-one) and a scenario has one first baseline (one row with
``supersedes`` empty), so of two approvals racing for the same predecessor exactly one is saved.
``superseded_by``/``superseded_at`` read the successor.

The only change the database may still make to a baseline is Django's ``SET_NULL`` of
``approved_by`` when the approver's account is deleted (``approved_by_name`` keeps the name).
Deleting a whole scenario, program or organization takes its baselines with it (the run is held
with ``RESTRICT``: a run under a baseline cannot be deleted on its own, but it goes with its
scenario).

An ``ActualReport`` is one dated report of the main training run's cumulative progress and of
the money spent to date (``apps.tracking.validation`` states the rules it passed).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Organization
from apps.common.models import BaseModel
from apps.runs.models import RunStatus

NOTE_MAX_LENGTH = 2000


class BaselineImmutable(Exception):
    """An attempt to change or delete an approved baseline."""

    def __init__(self, what: str = "changed") -> None:
        super().__init__(
            f"An approved baseline cannot be {what}; approve another run to supersede it."
        )


class BaselineQuerySet(models.QuerySet["ApprovedBaseline"]):
    """Rows that refuse ``update()`` and ``delete()`` (a cascade from the scenario deletes
    through the collector's own queries, not these)."""

    def update(self, **kwargs: Any) -> int:
        if set(kwargs) == {"approved_by"} and kwargs["approved_by"] is None:
            # Django's SET_NULL when the approver's account is deleted: the name stays.
            return super().update(**kwargs)
        raise BaselineImmutable()

    def delete(self) -> tuple[int, dict[str, int]]:
        raise BaselineImmutable("deleted")


class HashOf(models.TextChoices):
    PDF = "pdf", _("the PDF export")
    REPORT = "report", _("the report (canonical JSON)")


class ApprovedBaseline(BaseModel):
    """A succeeded run of a scenario, approved as the plan to execute (immutable)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="approved_baselines"
    )
    scenario = models.ForeignKey(
        "programs.Scenario", on_delete=models.CASCADE, related_name="approved_baselines"
    )
    run = models.ForeignKey("runs.PlanRun", on_delete=models.RESTRICT, related_name="approvals")
    supersedes = models.OneToOneField(
        "self", on_delete=models.RESTRICT, null=True, blank=True, related_name="successor"
    )
    inputs = models.JSONField(help_text="The run's inputs (a copy).")
    report = models.JSONField(help_text="The run's report (a copy).")
    core_version = models.CharField(max_length=20)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_by_name = models.CharField(max_length=150)
    approved_at = models.DateTimeField()
    note = models.TextField(blank=True, validators=[MaxLengthValidator(NOTE_MAX_LENGTH)])
    pdf_sha256 = models.CharField(
        max_length=64,
        help_text="SHA-256 of the run's latest PDF export when one was ready at approval, else "
        "of the report's canonical JSON (hash_of says which).",
    )
    hash_of = models.CharField(max_length=6, choices=HashOf.choices)

    objects = BaselineQuerySet.as_manager()

    class Meta:
        ordering = ["-approved_at", "-id"]
        # Related lookups and cascades use the guarded manager too.
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(
                fields=["scenario"],
                condition=Q(supersedes__isnull=True),
                name="tracking_one_first_baseline_per_scenario",
            )
        ]

    def __str__(self) -> str:
        return f"Baseline {self.pk} of scenario {self.scenario_id} (run {self.run_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update"):
            raise BaselineImmutable()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise BaselineImmutable("deleted")

    @property
    def superseded_by(self) -> ApprovedBaseline | None:
        try:
            return self.successor  # type: ignore[no-any-return]
        except ApprovedBaseline.DoesNotExist:
            return None

    @property
    def superseded_at(self) -> Any:
        successor = self.superseded_by
        return successor.approved_at if successor is not None else None

    @property
    def is_current(self) -> bool:
        return self.superseded_by is None


class ActualReport(BaseModel):
    """What one stage (the main training run unless ``stage`` says another) achieved and what
    the program spent, cumulative to ``date``. ``progress`` is the share of a stage's work done
    (the main run's tokens say it; SFT and DPO may give tokens instead).

    ``spend`` maps categories (``llmplanner.simulation.program.CATEGORIES``) to decimal strings
    in ``spend_currency`` (the program's currency when it was posted); a category left out was
    not reported. When the report came in another ``currency``, ``spend_sent`` keeps the amounts
    as sent and ``usd_to_cny`` the rate they were converted at.
    """

    class Source(models.TextChoices):
        API = "api", "API"
        FORM = "form", _("form")
        CSV = "csv", "CSV"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="actual_reports"
    )
    scenario = models.ForeignKey(
        "programs.Scenario", on_delete=models.CASCADE, related_name="actual_reports"
    )
    baseline = models.ForeignKey(
        ApprovedBaseline, on_delete=models.RESTRICT, related_name="actual_reports"
    )
    date = models.DateField()
    stage = models.CharField(max_length=20, default="main")
    tokens_trained = models.FloatField(help_text="Tokens of the stage so far (cumulative).")
    elapsed_days = models.FloatField(help_text="Days since the stage started.")
    gpu_hours = models.FloatField(help_text="GPU-hours of the stage so far (cumulative).")
    interruptions = models.PositiveIntegerField(help_text="Interruptions so far (cumulative).")
    loss_spikes = models.PositiveIntegerField(help_text="Loss spikes so far (cumulative).")
    observed_mfu = models.FloatField(null=True, blank=True)
    progress = models.FloatField(
        null=True, blank=True, help_text="Share of the stage's work done (0–1)."
    )
    spend = models.JSONField(default=dict)
    spend_currency = models.CharField(max_length=3)
    currency = models.CharField(max_length=3, help_text="The currency the amounts were sent in.")
    spend_sent = models.JSONField(default=dict)
    usd_to_cny = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    note = models.TextField(blank=True, validators=[MaxLengthValidator(NOTE_MAX_LENGTH)])
    source = models.CharField(max_length=4, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Whoever sent the key (``token:<id>`` or ``user:<id>``, as for runs), the key, and a SHA-256
    # of the request it came with. NULL, not "": reports without a key never collide.
    idempotency_scope = models.CharField(max_length=40, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    request_hash = models.CharField(max_length=64, blank=True)
    # A report taken back (a typo, a wrong stage): kept for the record, read by nothing else.
    # Only a scenario's latest report can be withdrawn (``services.actual_report_withdraw``).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by_name = models.CharField(max_length=150, blank=True, default="")
    withdrawal_note = models.TextField(
        blank=True, default="", validators=[MaxLengthValidator(NOTE_MAX_LENGTH)]
    )

    class Meta:
        ordering = ["date", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_scope", "idempotency_key"],
                name="tracking_actual_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(tokens_trained__gte=0, elapsed_days__gte=0, gpu_hours__gte=0),
                name="tracking_actual_cumulative_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(observed_mfu__isnull=True) | Q(observed_mfu__gt=0, observed_mfu__lte=1),
                name="tracking_actual_mfu_range",
            ),
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | Q(progress__gte=0, progress__lte=1),
                name="tracking_actual_progress_range",
            ),
        ]
        indexes = [
            models.Index(fields=["scenario", "date"]),
            models.Index(fields=["baseline", "stage", "date"]),
        ]

    def __str__(self) -> str:
        return f"Actuals of scenario {self.scenario_id} on {self.date}"


class Forecast(BaseModel):
    """The re-forecast of a baseline as of its last actual report (``apps.tracking.forecasting``),
    computed on a worker and kept: one per (baseline, last report) — a new report or a new
    approval makes a new one, so the page and the API read a stored answer and the history of
    forecasts is the history of reports. ``last_actual`` empty: before any report.

    Status machine as a plan run's (queued → running → succeeded | failed); a worker claims the
    row with a conditional UPDATE.
    """

    Status = RunStatus

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="forecasts"
    )
    scenario = models.ForeignKey(
        "programs.Scenario", on_delete=models.CASCADE, related_name="forecasts"
    )
    baseline = models.ForeignKey(
        ApprovedBaseline, on_delete=models.CASCADE, related_name="forecasts"
    )
    last_actual = models.ForeignKey(
        ActualReport, on_delete=models.CASCADE, null=True, blank=True, related_name="forecasts"
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    result = models.JSONField(null=True, blank=True, help_text="The core's forecast.")
    answer = models.JSONField(null=True, blank=True, help_text="The API's answer (decimals).")
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "last_actual"], name="tracking_forecast_per_report"
            ),
            models.UniqueConstraint(
                fields=["baseline"],
                condition=Q(last_actual__isnull=True),
                name="tracking_forecast_per_baseline_before_reports",
            ),
        ]

    def __str__(self) -> str:
        return f"Forecast {self.pk} of baseline {self.baseline_id} ({self.status})"


class AlertKind(models.TextChoices):
    MISS_DEADLINE = "p_miss_deadline", _("P(miss deadline)")
    OVER_BUDGET = "p_over_budget", _("P(over budget)")


class Alert(BaseModel):
    """A forecast that moved a probability above its program's ``alert_threshold``: shown on
    the portfolio and the run's pages while the scenario's latest forecast stays above it, and
    posted to the organization's webhooks (``forecast.alert``) once, when it crosses."""

    Kind = AlertKind

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    scenario = models.ForeignKey(
        "programs.Scenario", on_delete=models.CASCADE, related_name="alerts"
    )
    forecast = models.ForeignKey(Forecast, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    value = models.FloatField()
    previous = models.FloatField(null=True, blank=True)
    threshold = models.FloatField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["forecast", "kind"], name="tracking_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value:.0%} > {self.threshold:.0%} ({self.scenario_id})"


class OrganizationCalibration(BaseModel):
    """The organization's own efficiency factors, fitted from its completed main runs' actuals
    (``llmplanner.simulation.own_calibration``), and whether its new plans use them (the owner
    opts in). ``fitted`` holds the fit: factors, 90% intervals, runs and days."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="own_calibration"
    )
    enabled = models.BooleanField(default=False)
    fitted = models.JSONField(default=dict)
    fitted_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Calibration of {self.organization_id} ({'on' if self.enabled else 'off'})"
