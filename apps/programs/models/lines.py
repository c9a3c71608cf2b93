"""A scenario's lines (GPU budget, team, data inventory) and its activity history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import BaseModel
from apps.programs import rules
from apps.programs.findings import message
from apps.programs.models.catalogs import GPUType, RoleTemplate
from apps.programs.models.scenarios import Scenario
from apps.programs.models.validators import validate_plan_date


class Purpose(models.TextChoices):
    TRAINING = "training", _("Main training")
    EXPERIMENTS = "experiments", _("Experiments / ladder")
    SFT = "sft", _("SFT and alignment")
    SERVING = "serving", _("Serving")
    OTHER = "other", _("Other")


class RentOrBuy(models.TextChoices):
    RENT = "rent", _("Rent")
    BUY = "buy", _("Buy")


class DeliveryRisk(models.TextChoices):
    # The core's provider classes (probability of delivering late, median delay).
    RELIABLE = "reliable", _("Low (10% late, ~2 weeks)")
    STANDARD = "standard", _("Medium (30% late, ~1 month)")
    RISKY = "risky", _("High (50% late, ~2 months)")


class ReliabilityClass(models.TextChoices):
    HYPERSCALER = "hyperscaler", _("Hyperscaler (automated recovery)")
    STANDARD = "standard", _("Standard research cluster")
    UNSTABLE = "unstable", _("Unstable (frequent failures)")


class GPUBudgetLine(BaseModel):
    """GPUs of one type from one provider, rented or bought, for a span of months."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="budget_lines")
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.TRAINING
    )
    provider = models.CharField(_("provider"), max_length=120, blank=True)
    gpu_type = models.ForeignKey(
        GPUType, on_delete=models.PROTECT, related_name="+", verbose_name=_("GPU type")
    )
    gpu_count = models.PositiveIntegerField(_("GPUs"), validators=[MaxValueValidator(1_000_000)])
    mode = models.CharField(
        _("rent or buy"), max_length=4, choices=RentOrBuy.choices, default=RentOrBuy.RENT
    )
    price_per_gpu_hour = models.DecimalField(
        _("price per GPU-hour"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Empty: the catalog price."),
    )
    start_date = models.DateField(
        _("start date"), null=True, blank=True, validators=[validate_plan_date]
    )
    months = models.DecimalField(_("months"), max_digits=5, decimal_places=1, default=Decimal(3))
    delivery_risk = models.CharField(
        _("delivery-delay risk"),
        max_length=10,
        choices=DeliveryRisk.choices,
        default=DeliveryRisk.STANDARD,
    )
    reliability_class = models.CharField(
        _("cluster reliability"),
        max_length=12,
        choices=ReliabilityClass.choices,
        default=ReliabilityClass.STANDARD,
    )
    checkpoint_storage_gbps = models.FloatField(
        _("checkpoint storage GB/s"),
        default=20.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(100_000)],
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.gpu_count} × {self.gpu_type} ({self.get_purpose_display()})"

    def clean(self) -> None:
        # clean() runs even when a field failed to convert: check only well-typed values.
        errors = {}
        if isinstance(self.gpu_count, int) and self.gpu_type_id is not None:
            finding = rules.check_gpu_count(self.gpu_count, self.gpu_type.gpus_per_server)
            if finding:
                errors["gpu_count"] = message(finding)
        if isinstance(self.months, Decimal):
            finding = rules.check_months(float(self.months))
            if finding:
                errors["months"] = message(finding)
        if errors:
            raise ValidationError(errors)

    def effective_price(self) -> Decimal:
        """Price per GPU-hour in the program's currency: the override, else the catalog's."""
        if self.price_per_gpu_hour is not None:
            return self.price_per_gpu_hour
        return self.gpu_type.price(self.scenario.program.currency)


class TeamLine(BaseModel):
    """People in one role: headcount, monthly cost per person, allocation, dates."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="team_lines")
    role = models.ForeignKey(
        RoleTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("role")
    )
    headcount = models.DecimalField(
        _("headcount"),
        max_digits=6,
        decimal_places=1,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal(10_000))],
    )
    monthly_cost = models.DecimalField(
        _("monthly cost per person"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Empty: the role template's salary."),
    )
    allocation_pct = models.PositiveSmallIntegerField(
        _("allocation %"), default=100, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    start_date = models.DateField(
        _("start"), null=True, blank=True, validators=[validate_plan_date]
    )
    end_date = models.DateField(_("end"), null=True, blank=True, validators=[validate_plan_date])

    class Meta:
        ordering = ["role__sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.headcount} × {self.role}"

    def clean(self) -> None:
        if not (isinstance(self.start_date, dt.date) and isinstance(self.end_date, dt.date)):
            return
        finding = rules.check_dates(self.start_date, self.end_date)
        if finding:
            raise ValidationError({"end_date": message(finding)})

    def effective_monthly_cost(self) -> Decimal:
        if self.monthly_cost is not None:
            return self.monthly_cost
        program = self.scenario.program
        return self.role.monthly_cost(program.currency, program.usd_to_cny)


class Dataset(BaseModel):
    """One line of the data inventory (the fields of the core's ``Dataset``)."""

    class Language(models.TextChoices):
        EN = "en", _("English")
        ZH = "zh", _("Chinese")
        MULTI = "multi", _("Multilingual")
        CODE = "code", _("Code")

    class Kind(models.TextChoices):
        GENERAL = "general", _("General")
        DOMAIN = "domain", _("Domain")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        BOOKS = "books", _("Books")
        PAPERS = "papers", _("Papers")
        CODE = "code", _("Code")
        QA = "qa", _("Q&A")
        INSTRUCTIONS = "instructions", _("Instructions")
        PREFERENCE = "preference", _("Preference pairs")
        OTHER = "other", _("Other")

    class Licence(models.TextChoices):
        CLEARED = "cleared", _("Cleared")
        UNKNOWN = "unknown", _("Unknown")
        RESTRICTED = "restricted", _("Restricted")

    class Quality(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    class Cleaning(models.TextChoices):
        RAW = "raw", _("Raw")
        CLEANED = "cleaned", _("Cleaned")
        DEDUPLICATED = "deduplicated", _("Deduplicated")

    class Stage(models.TextChoices):
        PRETRAIN = "pretrain", _("Pretraining")
        CPT = "cpt", _("Continued pretraining")
        SFT = "sft", _("SFT")
        RLHF = "rlhf", _("RLHF / DPO")
        RAG = "rag", _("RAG knowledge base")

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(_("dataset"), max_length=200)
    tokens = models.BigIntegerField(
        _("tokens"), validators=[MinValueValidator(1), MaxValueValidator(10**16)]
    )
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.EN
    )
    kind = models.CharField(
        _("general or domain"), max_length=10, choices=Kind.choices, default=Kind.GENERAL
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default="web")
    licence = models.CharField(
        _("licence"), max_length=10, choices=Licence.choices, default=Licence.UNKNOWN
    )
    quality = models.CharField(
        _("quality"), max_length=10, choices=Quality.choices, default=Quality.MEDIUM
    )
    cleaning = models.CharField(
        _("cleaning / dedup"), max_length=15, choices=Cleaning.choices, default=Cleaning.RAW
    )
    cost = models.DecimalField(
        _("acquisition or labelling cost"),
        max_digits=14,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    stage = models.CharField(
        _("feeds stage"), max_length=10, choices=Stage.choices, default=Stage.PRETRAIN
    )
    ready_date = models.DateField(
        _("ready on"),
        null=True,
        blank=True,
        help_text=_("Empty: available from the start. The stages that use it wait for it."),
        validators=[validate_plan_date],
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ScenarioActivity(BaseModel):
    """One change to a scenario: who, when, what (``changes``: ``[{field, old, new}]``)."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    changes = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "scenario activities"

    def __str__(self) -> str:
        return f"{self.action}: {self.summary}"
